"""Searches over availability: the earliest slot, the nearest alternatives, and what an urgent booking
could displace. Reads only; the writes that act on them are booking services."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone

from bookings.models import Booking
from scheduling.models import AppointmentType, Priority

from .allocation import Allocation, NoAllocation, allocate
from .slots import AvailableSlot, available_slots

# Small enough that the usual case (a slot within a few weeks) is one cheap call.
SEARCH_CHUNK = timedelta(days=28)


def earliest_slot(
    appointment_type: AppointmentType,
    *,
    priority: int | None = None,
    now: datetime | None = None,
    until: datetime | None = None,
    officer_ids: Collection[int] | None = None,
) -> AvailableSlot | None:
    """The first bookable slot from now up to `until` (default: the booking horizon).

    At most two calls of `available_slots`, each a fixed number of queries: the first SEARCH_CHUNK, then,
    only if that is empty, everything after it up to `until`. So an empty diary costs the same whatever
    the horizon, instead of one call per chunk (a year's horizon used to be fourteen).
    Urgent requests are not held to the type's minimum notice.
    """
    now = now or timezone.now()
    urgent = priority is not None and priority >= Priority.URGENT
    until = until or now + timedelta(days=appointment_type.horizon_days)
    first_end = min(now + SEARCH_CHUNK, until)
    for start, end in ((now, first_end), (first_end, until)):
        if start >= end:
            break
        slots = available_slots(
            appointment_type, start, end, now=now, apply_notice=not urgent, officer_ids=officer_ids
        )
        if slots:
            return slots[0]
    return None


def nearest_alternatives(
    appointment_type: AppointmentType,
    around: datetime,
    *,
    now: datetime | None = None,
    ignore_booking_ids: Collection[int] = (),
    limit: int = 5,
) -> list[AvailableSlot]:
    """Up to `limit` bookable slots nearest to `around` (after a lost race or a lapsed hold), by time."""
    now = now or timezone.now()
    start = max(now, around - timedelta(days=3))
    end = max(around, now) + timedelta(days=14)
    slots = available_slots(appointment_type, start, end, now=now, ignore_booking_ids=ignore_booking_ids)
    closest = sorted(slots, key=lambda slot: abs((slot.start - around).total_seconds()))[:limit]
    return sorted(closest, key=lambda slot: slot.start)


@dataclass(frozen=True)
class DisplacementOption:
    """An urgent slot that is free only if the listed lower-priority bookings make way."""

    slot: AvailableSlot
    allocation: Allocation
    displaced_booking_ids: tuple[int, ...] = field(default=())


def displacement_options(
    appointment_type: AppointmentType, *, priority: int, now: datetime | None = None, limit: int = 5
) -> list[DisplacementOption]:
    """Where nothing is free within the type's urgent target, the earliest slots that would be free if
    bookings of lower priority were moved, each with the bookings it would displace (fewest first per time).

    Empty when a slot is free anyway (book it normally) or when nothing could be displaced.
    """
    now = now or timezone.now()
    target = now + timedelta(hours=appointment_type.urgent_target_hours)
    if earliest_slot(appointment_type, priority=priority, now=now, until=target) is not None:
        return []
    slots = available_slots(
        appointment_type, now, target, now=now, displace_below=priority, apply_notice=False
    )
    options: list[DisplacementOption] = []
    for slot in slots:
        if len(options) >= limit:
            break
        try:
            allocation = allocate(appointment_type, slot)
        except NoAllocation:
            continue
        occupied = (slot.start - appointment_type.buffer_before, slot.end + appointment_type.buffer_after)
        displaced = tuple(
            Booking.objects.active()
            .filter(
                priority__lt=priority, assignments__is_active=True, assignments__occupied__overlap=occupied
            )
            .filter(
                Q(assignments__officer_id__in=allocation.officer_ids)
                | Q(assignments__resource_id__in=allocation.resource_ids)
            )
            .values_list("pk", flat=True)
            .distinct()
        )
        if displaced:
            options.append(
                DisplacementOption(slot=slot, allocation=allocation, displaced_booking_ids=displaced)
            )
    return options
