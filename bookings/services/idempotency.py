"""Idempotency keys: a request repeated with the key of a change already made returns that change."""

from __future__ import annotations

from django.utils.translation import gettext as _

from bookings.errors import BookingError
from bookings.models import Booking, BookingEvent

KEY_MAX_LENGTH = 100


def replayed(key: str) -> Booking | None:
    """The booking an earlier call with this key changed, or None for a new key (or no key)."""
    if not key:
        return None
    if len(key) > KEY_MAX_LENGTH:
        raise BookingError(_("The idempotency key is too long (100 characters at most)."))
    event = BookingEvent.objects.filter(idempotency_key=key).select_related("booking").first()
    return event.booking if event else None
