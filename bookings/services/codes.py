"""One-time codes that let a customer find their booking without the link."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.contacts import normalise_email, normalise_phone
from bookings.errors import CodeNotSent
from bookings.models import Booking
from bookings.tokens import code_ttl, one_time_code_new, one_time_code_store
from notifications.dispatch import message_deliver
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus
from notifications.services import message_discard, message_queue

from .messages import booking_recipient, booking_topic


def access_code_send(*, reference: str, contact: str, now: datetime | None = None) -> bool:
    """Sends a one-time code to the email or mobile this booking was made with, if `contact` is one of them.

    Only the booking's own contact details count, never its customer's record as it is now, so details
    someone else typed into a later booking can never receive a code for this one. Returns whether a code
    was sent; callers must not tell the person, so a reference cannot be probed.

    The code goes through the outbox like every message (queued, then delivered at once in this request
    once the queuing has committed; one attempt, void after the code's lifetime) and is stored only once
    sent. When the provider fails, raises CodeNotSent, stores no code (any earlier code still works) and
    leaves no message behind: nothing was sent, and the unsent code is not kept anywhere.
    """
    now = now or timezone.now()
    booking = (
        Booking.objects.filter(reference=reference, customer__isnull=False)
        .select_related("appointment_type__tenant")
        .first()
    )
    if booking is None:
        return False
    by_email = bool(booking.contact_email) and normalise_email(contact) == booking.contact_email
    by_phone = bool(booking.contact_phone) and normalise_phone(contact) == booking.contact_phone
    if not (by_email or by_phone):
        return False
    code = one_time_code_new()
    with transaction.atomic():
        message = message_queue(
            tenant_id=booking.tenant_id,
            kind=MessageKind.CODE,
            channel=MessageChannel.EMAIL if by_email else MessageChannel.SMS,
            to=booking.contact_email if by_email else booking.contact_phone,
            dedupe_key=f"code:{booking.public_id}:{secrets.token_hex(16)}",
            topic=booking_topic(booking),
            recipient=booking_recipient(booking),
            language=booking.contact_language,
            context={
                "code": code,
                "minutes_valid": str(int(code_ttl().total_seconds() // 60)),
                "reference": booking.reference,
                "council": booking.appointment_type.tenant.name,
            },
            expires_at=now + code_ttl(),
            max_attempts=1,
            now=now,
            send_now=False,  # sent below, in this request, so its outcome decides what the page says
        )
    if _delivered(message.pk, now) != "sent":
        # Failed (or never taken): the row goes, with the code it holds, and the customer may try again.
        message_discard(message_id=message.pk)
        raise CodeNotSent(_("We could not send the code. Nothing has changed: try again in a few minutes."))
    # Stored only once sent, so a failed send leaves everything as it was.
    one_time_code_store(tenant_id=booking.tenant_id, reference=reference, code=code, now=now)
    return True


_SENT = (MessageStatus.SENT, MessageStatus.DELIVERED)


def _delivered(message_id: int, now: datetime) -> str:
    """Sends the code now. Should the outbox sweep have taken the row first ("skipped"), waits for it to
    finish (the row's lock) and answers from what it did."""
    outcome = message_deliver(message_id, now=now)
    if outcome != "skipped":
        return outcome
    with transaction.atomic():
        status = Message.objects.select_for_update().filter(pk=message_id).values_list("status", flat=True)
        return "sent" if status.first() in _SENT else outcome
