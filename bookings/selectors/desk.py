"""Reads for the team calendar, the conflict queue and the emergency screen.

Bounded work: the team calendar reads officers, assignments and absences once each, and asks the engine
once per appointment type on the page (not per appointment) who else could take each one; the conflict
queue asks the engine once per item, for a page of at most CONFLICT_QUEUE_PAGE_SIZE items.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import Officer, Team
from bookings.availability import AvailableSlot, available_slots
from bookings.models import BookingAssignment, BookingStatus, ConflictItem
from scheduling.models import Absence

CONFLICT_QUEUE_PAGE_SIZE = 10
NEAREST_TIMES = 3


@dataclass
class TeamRow:
    officer: Officer
    days: dict[date, list[Any]] = field(default_factory=dict)


def day_range(first: date, days: int, zone: Any) -> tuple[datetime, datetime]:
    start = datetime.combine(first, time(), tzinfo=zone)
    return start, datetime.combine(first + timedelta(days=days), time(), tzinfo=zone)


def team_calendar(
    team: Team | None, first: date, days: int, *, zone: Any, now: datetime, with_eligible: bool
) -> tuple[list[date], list[TeamRow]]:
    """Rows per active officer of the team; each day cell lists appointments (assignments with their
    booking) and absences. With `with_eligible`, each future appointment carries `eligible`: the team's
    other officers the engine says could take it."""
    dates = [first + timedelta(days=i) for i in range(days)]
    officers = list(Officer.objects.active().filter(team=team).select_related("user")) if team else []
    rows = {o.pk: TeamRow(officer=o, days={d: [] for d in dates}) for o in officers}
    start, end = day_range(first, days, zone)
    assignments = list(
        BookingAssignment.objects.filter(
            officer_id__in=rows,
            is_active=True,
            booking__status=BookingStatus.CONFIRMED,
            booking__starts_at__lt=end,
            booking__ends_at__gt=start,
        )
        .select_related("booking__appointment_type__tenant", "booking__customer")
        .order_by("booking__starts_at")
    )
    on_booking: dict[int, set[int]] = defaultdict(set)
    for a in assignments:
        on_booking[a.booking_id].add(a.officer_id)
    if with_eligible:
        _eligible_for(assignments, on_booking, officers, start, end, now)
    for a in assignments:
        day = a.booking.starts_at.astimezone(zone).date()
        if day in rows[a.officer_id].days:
            rows[a.officer_id].days[day].append(a)
    for absence in Absence.objects.filter(officer_id__in=rows).overlapping(start, end):
        for d in dates:
            d_start, d_end = day_range(d, 1, zone)
            if absence.starts_at < d_end and absence.ends_at > d_start:
                rows[absence.officer_id].days[d].append(absence)
    return dates, list(rows.values())


def _eligible_for(
    assignments: list[BookingAssignment],
    on_booking: dict[int, set[int]],
    officers: list[Officer],
    start: datetime,
    end: datetime,
    now: datetime,
) -> None:
    names = {o.pk: o for o in officers}
    by_type: dict[int, list[BookingAssignment]] = defaultdict(list)
    for a in assignments:
        if a.booking.starts_at > now and not a.booking.appointment_type.is_group_session:
            by_type[a.booking.appointment_type_id].append(a)
        a.eligible = []
    for group in by_type.values():
        kind = group[0].booking.appointment_type
        slots = available_slots(
            kind, max(start, now), end, now=now, apply_notice=False, officer_ids=list(names)
        )
        free_at: dict[datetime, set[int]] = defaultdict(set)
        for slot in slots:
            free_at[slot.start] |= {o for seat in slot.officer_seats for o in seat}
        for a in group:
            ids = free_at.get(a.booking.starts_at, set()) - on_booking[a.booking_id]
            a.eligible = [names[i] for i in sorted(ids, key=lambda i: names[i].user.full_name)]


@dataclass
class Remedy:
    officer: Officer | None = None
    slot: AvailableSlot | None = None


def conflict_remedies(items: list[ConflictItem], *, now: datetime) -> dict[int, list[Remedy]]:
    """Per item, fresh proposals: other officers free at the same time first, then the nearest times.

    One availability read per item (a fixed number of queries each) plus one query for officer names.
    """
    found: dict[int, tuple[set[int], list[AvailableSlot]]] = {}
    for item in items:
        booking = item.booking
        kind = booking.appointment_type
        around = booking.starts_at
        window_start = max(now, around - timedelta(days=3))
        slots = available_slots(
            kind,
            window_start,
            max(around, now) + timedelta(days=14),
            now=now,
            ignore_booking_ids=[booking.pk],
            apply_notice=False,
        )
        same_time = {
            o
            for s in slots
            if s.start == around and s.session_key is None
            for seat in s.officer_seats
            for o in seat
        }
        same_time.discard(item.officer_id)
        others = [s for s in slots if s.start != around]
        nearest = sorted(others, key=lambda s: abs((s.start - around).total_seconds()))[:NEAREST_TIMES]
        found[item.pk] = (same_time, sorted(nearest, key=lambda s: s.start))
    wanted = {o for same, _n in found.values() for o in same}
    officers = {o.pk: o for o in Officer.objects.filter(pk__in=wanted, is_active=True).select_related("user")}
    return {
        item_id: [Remedy(officer=officers[o]) for o in sorted(same) if o in officers][:NEAREST_TIMES]
        + [Remedy(slot=s) for s in nearest]
        for item_id, (same, nearest) in found.items()
    }


def local_now() -> datetime:
    return timezone.localtime()
