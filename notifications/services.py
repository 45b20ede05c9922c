"""Writes for notifications: recording what is to be sent, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django.utils import timezone

from .models import Message, MessageChannel

if TYPE_CHECKING:
    from bookings.models import Booking


def messages_record(*, booking: Booking, kind: str, now: datetime | None = None) -> list[Message]:
    """Queues `kind` for the booking's customer on each channel they chose (and can be reached on)."""
    customer = booking.customer
    if customer is None:
        return []
    channels = []
    if customer.contact_by_email and customer.email:
        channels.append((MessageChannel.EMAIL, customer.email))
    if customer.contact_by_sms and customer.phone:
        channels.append((MessageChannel.SMS, customer.phone))
    return Message.objects.bulk_create(
        [
            Message(
                tenant_id=booking.tenant_id,
                booking=booking,
                customer=customer,
                kind=kind,
                channel=channel,
                to=address,
                created_at=now or timezone.now(),
            )
            for channel, address in channels
        ]
    )
