"""Telling customers about changes to their bookings, through the notifications outbox."""

from __future__ import annotations

from datetime import datetime

from bookings.models import Booking, BookingEvent
from notifications.models import Message, MessageChannel
from notifications.services import message_queue


def booking_topic(booking: Booking) -> str:
    return f"booking:{booking.reference}"


def customer_tell(*, booking: Booking, kind: str, event: BookingEvent, now: datetime) -> list[Message]:
    """Queues `kind` for the booking's customer on each channel they chose (and can be reached on), keyed
    by the event that caused it, so the message exists exactly when the change does."""
    customer = booking.customer
    if customer is None:
        return []
    channels = []
    if customer.contact_by_email and customer.email:
        channels.append((MessageChannel.EMAIL, customer.email))
    if customer.contact_by_sms and customer.phone:
        channels.append((MessageChannel.SMS, customer.phone))
    return [
        message_queue(
            tenant_id=booking.tenant_id,
            kind=kind,
            channel=channel,
            to=address,
            dedupe_key=f"booking-event:{event.pk}:{kind}:{channel}",
            topic=booking_topic(booking),
            recipient=f"customer:{customer.pk}",
            now=now,
        )
        for channel, address in channels
    ]
