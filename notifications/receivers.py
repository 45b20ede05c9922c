"""What providers report about the emails we sent, as anymail hands it over (any ESP, one shape)."""

from __future__ import annotations

from typing import Any

from anymail.signals import AnymailTrackingEvent, EventType, tracking
from django.dispatch import receiver

from .models import UNREACHED, MessageChannel, MessageStatus
from .services import message_status_report

# The ESP's events, as our statuses. Bounced and rejected mean the address does not take our mail;
# failed (the ESP could not send it) and complained (the customer marked it as spam) that email does not
# reach them either: each falls back to the customer's other channel. Opens, clicks and deferrals change
# nothing.
EVENT_STATUSES = {
    EventType.SENT: MessageStatus.SENT,
    EventType.DELIVERED: MessageStatus.DELIVERED,
    EventType.BOUNCED: MessageStatus.BOUNCED,
    EventType.REJECTED: MessageStatus.BOUNCED,
    EventType.FAILED: MessageStatus.FAILED,
    EventType.COMPLAINED: MessageStatus.FAILED,
}


@receiver(tracking, dispatch_uid="notifications.email_tracking")
def email_tracking_report(sender: Any, event: AnymailTrackingEvent, esp_name: str, **kwargs: Any) -> None:
    status = EVENT_STATUSES.get(event.event_type)
    if status is None or not event.message_id:
        return
    error = event.description or event.mta_response or event.reject_reason or ""
    message_status_report(
        channel=MessageChannel.EMAIL,
        provider_id=str(event.message_id),
        status=status,
        error=f"{esp_name}: {event.event_type}: {error}" if status in UNREACHED else "",
        at=event.timestamp,
    )
