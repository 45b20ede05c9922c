"""Telling customers about changes to their bookings, through the notifications outbox."""

from __future__ import annotations

from datetime import datetime

from bookings.models import Booking, BookingEvent
from notifications.models import Message, MessageChannel
from notifications.services import message_queue


def booking_topic(booking: Booking) -> str:
    return f"booking:{booking.reference}"


def customer_tell(*, booking: Booking, kind: str, event: BookingEvent, now: datetime) -> list[Message]:
    """Queues `kind` on each channel chosen when the booking was made, to the contact details it was made
    with (never the customer's record as it is now: someone else may have booked with their details, and
    staff changes to a record apply to new bookings), keyed by the event that caused it, so the message
    exists exactly when the change does."""
    if booking.customer_id is None:
        return []
    channels = []
    if booking.contact_by_email and booking.contact_email:
        channels.append((MessageChannel.EMAIL, booking.contact_email))
    if booking.contact_by_sms and booking.contact_phone:
        channels.append((MessageChannel.SMS, booking.contact_phone))
    return [
        message_queue(
            tenant_id=booking.tenant_id,
            kind=kind,
            channel=channel,
            to=address,
            dedupe_key=f"booking-event:{event.pk}:{kind}:{channel}",
            topic=booking_topic(booking),
            recipient=f"customer:{booking.customer_id}",
            now=now,
        )
        for channel, address in channels
    ]
