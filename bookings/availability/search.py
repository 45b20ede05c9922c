"""Searches over availability: the earliest slot, the nearest alternatives, and what an urgent booking
could displace. Reads only; the writes that act on them are booking services."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.models import ACTIVE_STATUSES, BookingAssignment, BookingStatus
from scheduling.availability.engine import assign
from scheduling.models import AppointmentType, Priority
from scheduling.routing.problem import Point

from .allocation import Allocation
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
    point: Point | None = None,
) -> AvailableSlot | None:
    """The first bookable slot from now up to `until` (default: the booking horizon).

    At most two calls of `available_slots`, each a fixed number of queries: the first SEARCH_CHUNK, then,
    only if that is empty, everything after it up to `until`. So an empty diary costs the same whatever
    the horizon, instead of one call per chunk (a year's horizon used to be fourteen).
    Urgent requests are not held to the type's minimum notice. `point`: see `available_slots`.
    """
    now = now or timezone.now()
    urgent = priority is not None and priority >= Priority.URGENT
    until = until or now + timedelta(days=appointment_type.horizon_days)
    first_end = min(now + SEARCH_CHUNK, until)
    for start, end in ((now, first_end), (first_end, until)):
        if start >= end:
            break
        slots = available_slots(
            appointment_type,
            start,
            end,
            now=now,
            apply_notice=not urgent,
            officer_ids=officer_ids,
            point=point,
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
    point: Point | None = None,
) -> list[AvailableSlot]:
    """Up to `limit` bookable slots nearest to `around` (after a lost race or a lapsed hold), by time;
    with `point`, only those an officer can travel to in time (see `available_slots`)."""
    now = now or timezone.now()
    start = max(now, around - timedelta(days=3))
    end = max(around, now) + timedelta(days=14)
    slots = available_slots(
        appointment_type, start, end, now=now, ignore_booking_ids=ignore_booking_ids, point=point
    )
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
    A fixed number of queries however full the diaries are: two availability reads, then the lower-priority
    assignments overlapping the whole window once; each slot's candidates are matched in Python, preferring
    per seat the calendars that displace fewest bookings.
    """
    now = now or timezone.now()
    target = now + timedelta(hours=appointment_type.urgent_target_hours)
    if earliest_slot(appointment_type, priority=priority, now=now, until=target) is not None:
        return []
    slots = available_slots(
        appointment_type, now, target, now=now, displace_below=priority, apply_notice=False
    )
    if not slots:
        return []
    before, after = appointment_type.buffer_before, appointment_type.buffer_after
    window = (slots[0].start - before, slots[-1].end + after)
    in_the_way: dict[tuple[str, int], list[tuple[datetime, datetime, int]]] = defaultdict(list)
    rows = (
        BookingAssignment.objects.filter(
            is_active=True,
            occupied__overlap=window,
            booking__status__in=ACTIVE_STATUSES,
            booking__priority__lt=priority,
        )
        .filter(Q(booking__status=BookingStatus.CONFIRMED) | Q(booking__hold_expires_at__gt=now))
        .values_list("officer_id", "resource_id", "occupied", "booking_id")
    )
    for officer_id, resource_id, occupied, booking_id in rows:
        key = ("officer", officer_id) if officer_id else ("resource", resource_id)
        in_the_way[key].append((occupied.lower, occupied.upper, booking_id))

    options: list[DisplacementOption] = []
    for slot in slots:
        if len(options) >= limit:
            break
        lo, hi = slot.start - before, slot.end + after

        def displaced_by(key: tuple[str, int], lo: datetime = lo, hi: datetime = hi) -> set[int]:
            return {b for start, end, b in in_the_way.get(key, ()) if start < hi and end > lo}

        def by_cost(seat: tuple[int, ...], kind: str) -> list[int]:
            return sorted(seat, key=lambda i: (len(displaced_by((kind, i))), i))

        officers = (
            assign([by_cost(seat, "officer") for seat in slot.officer_seats]) if slot.officer_seats else ()
        )
        resources = (
            assign([by_cost(seat, "resource") for seat in slot.resource_seats]) if slot.resource_seats else ()
        )
        if officers is None or resources is None:
            continue
        displaced: set[int] = set()
        for officer_id in officers:
            displaced |= displaced_by(("officer", officer_id))
        for resource_id in resources:
            displaced |= displaced_by(("resource", resource_id))
        if displaced:
            allocation = Allocation(
                officer_ids=tuple(officers),
                resource_ids=tuple(resources),
                reason=_("urgent: fewest lower-priority bookings displaced"),
            )
            options.append(
                DisplacementOption(
                    slot=slot, allocation=allocation, displaced_booking_ids=tuple(sorted(displaced))
                )
            )
    return options
