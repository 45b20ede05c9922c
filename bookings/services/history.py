"""The append-only history of a booking: one BookingEvent per change, written in the change's transaction."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from accounts.models import User
from bookings.models import Booking, BookingAssignment, BookingEvent


def booking_snapshot(
    booking: Booking, *, assignments: Iterable[BookingAssignment] | None = None
) -> dict[str, Any]:
    """What an event records as `before` and `after`: status, times and who is taken (the booking's
    active assignments, or `assignments` when the caller has just written them)."""
    if assignments is None:
        assignments = booking.assignments.all() if booking.pk else []
    assignments = [a for a in assignments if a.is_active]
    return {
        "status": booking.status,
        "starts_at": booking.starts_at.isoformat() if booking.starts_at else None,
        "ends_at": booking.ends_at.isoformat() if booking.ends_at else None,
        "officers": sorted(a.officer_id for a in assignments if a.officer_id),
        "resources": sorted(a.resource_id for a in assignments if a.resource_id),
    }


def booking_event_record(booking: Booking, action: str, **fields: Any) -> BookingEvent:
    """Writes the event `booking_event_new` describes (same arguments)."""
    event = booking_event_new(booking, action, **fields)
    event.save(force_insert=True)
    return event


def booking_event_new(
    booking: Booking,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> BookingEvent:
    """The event, not yet written (for a caller that writes it together with other rows)."""
    return BookingEvent(
        tenant_id=booking.tenant_id,
        booking=booking,
        actor=actor,
        action=action,
        before=before or {},
        after=after or {},
        reason=reason[:500],
        created_at=now,
    )
