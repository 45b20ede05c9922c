"""Booking errors: each says what went wrong in words fit for the person who asked."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from scheduling.errors import SchedulingError

if TYPE_CHECKING:
    from bookings.availability import AvailableSlot


class BookingError(SchedulingError):
    """A booking request the service refuses; nothing was changed."""


class ContactRefused(BookingError):
    """A customer's contact details are missing or another customer's; `field` names the one at fault
    ("email" or "phone") so a form can show the words beside it."""

    def __init__(self, message: str, field: str) -> None:
        super().__init__(message)
        self.field = field


class SlotUnavailable(BookingError):
    """The time cannot be booked (taken meanwhile, or never free); carries the nearest alternatives."""

    def __init__(self, message: str, alternatives: list[AvailableSlot] | None = None) -> None:
        super().__init__(message)
        self.alternatives = alternatives or []


class InvalidTransition(BookingError):
    """The booking's status does not allow this change (cancelling a completed appointment...)."""


class IdempotencyConflict(BookingError):
    """An idempotency key already used for another operation or another request (HTTP 409)."""


class TooManyHolds(BookingError):
    """One client holds as many times as it may at once; `retry_at` is when the first of them lapses."""

    def __init__(self, message: str, retry_at: datetime) -> None:
        super().__init__(message)
        self.retry_at = retry_at


class CodeNotSent(BookingError):
    """The mail or SMS provider failed while sending a one-time code; nothing was changed."""


class SurveyAnswered(BookingError):
    """The survey of this booking was answered already; the first answer stands."""
