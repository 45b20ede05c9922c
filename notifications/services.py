"""Writes for notifications: queuing what is to be sent (inside the caller's transaction), withdrawing
what is no longer true, recording what providers report, and text-message opt-outs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_scopes import scopes_disabled

from .models import Message, MessageStatus, SmsOptOut


def message_queue(
    *,
    tenant_id: int,
    kind: str,
    channel: str,
    to: str,
    dedupe_key: str,
    topic: str = "",
    recipient: str = "",
    language: str = "en-gb",
    context: dict[str, str] | None = None,
    invite: dict[str, Any] | None = None,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
    max_attempts: int | None = None,
    fallback_channel: str = "",
    fallback_to: str = "",
    now: datetime | None = None,
    send_now: bool = True,
) -> Message:
    """Queues one message in the caller's transaction, so it exists exactly when its cause does.

    Queuing the same `dedupe_key` again returns the message already queued: a retried change never
    sends twice. A message due now is handed to a worker once the transaction commits (`send_now`); the
    outbox sweep sends it anyway if that hand-over is lost, and sends later ones when they fall due.
    """
    now = now or timezone.now()
    fields: dict[str, Any] = {
        "kind": kind,
        "channel": channel,
        "to": to,
        "topic": topic,
        "recipient": recipient,
        "language": language,
        "context": context or {},
        "invite": invite,
        "created_at": now,
        "status_at": now,
        "due_at": due_at or now,
        "expires_at": expires_at,
        "fallback_channel": fallback_channel if fallback_to else "",
        "fallback_to": fallback_to if fallback_channel else "",
    }
    if max_attempts is not None:
        fields["max_attempts"] = max_attempts
    message, created = Message.objects.get_or_create(
        tenant_id=tenant_id, dedupe_key=dedupe_key, defaults=fields
    )
    if created and send_now and message.due_at <= now:
        from .tasks import message_send  # the task module imports this one

        transaction.on_commit(lambda: message_send.delay(message.pk))
    return message


def messages_withdraw(
    *, tenant_id: int, topic: str, kinds: list[str] | None = None, now: datetime | None = None
) -> int:
    """Cancels the messages about `topic` not sent yet (of `kinds`, or all): a reminder for a booking
    that moved or was cancelled. Returns how many were withdrawn."""
    now = now or timezone.now()
    pending = Message.objects.filter(tenant_id=tenant_id, topic=topic, status=MessageStatus.PENDING)
    if kinds is not None:
        pending = pending.filter(kind__in=kinds)
    return pending.update(status=MessageStatus.CANCELLED, status_at=now)


def message_discard(*, message_id: int) -> bool:
    """Deletes a message that was never sent (a one-time code whose send failed), so what it held is not
    kept; a sent message is history and stays. Returns whether it was deleted."""
    deleted, _by_model = (
        Message.objects.filter(pk=message_id)
        .exclude(status__in=(MessageStatus.SENT, MessageStatus.DELIVERED))
        .delete()
    )
    return bool(deleted)


# What providers report, by our status. Later states never move back: a "sent" report that arrives after
# "delivered" changes nothing.
_ORDER = {
    MessageStatus.PENDING: 0,
    MessageStatus.SENT: 1,
    MessageStatus.DELIVERED: 2,
    MessageStatus.BOUNCED: 3,
    MessageStatus.FAILED: 3,
}


@scopes_disabled()
def message_status_report(
    *, channel: str, provider_id: str, status: str, error: str = "", at: datetime | None = None
) -> Message | None:
    """Records a provider's report (webhook) about the message it knows as `provider_id`.

    A message reported bounced or failed falls back to the customer's other channel once. Unknown ids
    (another system's, or a forged report that passed no signature check) change nothing.
    """
    at = at or timezone.now()
    if not provider_id:
        return None
    with transaction.atomic():
        message = Message.objects.select_for_update().filter(channel=channel, provider_id=provider_id).first()
        if message is None or _ORDER.get(status, 0) <= _ORDER.get(message.status, 0):
            return message
        message.status = status
        message.status_at = at
        if error:
            message.last_error = error[:500]
        message.save(update_fields=["status", "status_at", "last_error"])
        if status in (MessageStatus.BOUNCED, MessageStatus.FAILED):
            message_fall_back(message, now=at)
    return message


def message_fall_back(message: Message, *, now: datetime) -> Message | None:
    """Queues the same message on the customer's other channel, once, when this one failed for good."""
    if not (message.fallback_channel and message.fallback_to) or message.fallback_of_id is not None:
        return None
    fallback = message_queue(
        tenant_id=message.tenant_id,
        kind=message.kind,
        channel=message.fallback_channel,
        to=message.fallback_to,
        dedupe_key=f"{message.dedupe_key}:fallback"[:200],
        topic=message.topic,
        recipient=message.recipient,
        language=message.language,
        context=message.context,
        invite=message.invite,
        expires_at=message.expires_at,
        max_attempts=message.max_attempts,
        now=now,
    )
    if fallback.fallback_of_id is None:
        fallback.fallback_of = message
        fallback.save(update_fields=["fallback_of"])
    return fallback


# Twilio's standard opt-out and opt-in keywords (the first word of an inbound text, any case).
STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "OPTOUT", "REVOKE"})
START_WORDS = frozenset({"START", "YES", "UNSTOP", "OPTIN"})


def sms_inbound(*, tenant_id: int, number: str, text: str, now: datetime | None = None) -> str:
    """Handles a text a customer sent us: STOP opts the number out of texts, START back in.

    Returns "stopped", "started" or "" (any other text changes nothing)."""
    now = now or timezone.now()
    words = text.strip().split()
    word = words[0].upper() if words else ""
    if word in STOP_WORDS:
        SmsOptOut.objects.get_or_create(tenant_id=tenant_id, number=number, defaults={"created_at": now})
        return "stopped"
    if word in START_WORDS:
        SmsOptOut.objects.filter(tenant_id=tenant_id, number=number).delete()
        return "started"
    return ""


def sms_opted_out(*, tenant_id: int, number: str) -> bool:
    return SmsOptOut.objects.filter(tenant_id=tenant_id, number=number).exists()
