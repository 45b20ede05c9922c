"""Travel-aware slots for visits at the customer's address: who can get there in time, and at what cost.

An officer keeps a slot only if they can reach the visit from their previous commitment that day (or from
the day's start place when the day starts) and still reach the next one (or the day's end place by the
end of the day):

    previous end (or day start) + travel(previous place, here) <= slot start - buffer before
    slot end + buffer after + travel(here, next place)          <= next start (or day end)

A commitment is an active assignment of the officer (a confirmed booking or a live hold; a lapsed hold is
free time) with its occupied span, buffers included. A commitment, or a day's start or end, without a point
(an office appointment, a phone call, an officer with no base) imposes no travel: its legs count as zero,
both for the check and for the cost. The day runs from the officer's first open moment on that local day to
the last one (the open time the supply gives, so for a type offered only in a service block the day starts
where the block does: stricter, never looser).

The cost of a slot for an officer is the travel it adds to their day:
travel(previous, here) + travel(here, next) - travel(previous, next). The slot carries the least cost among
its officers, its seats list the cheapest officers first, and the cheapest slots of each day are marked
recommended (`recommend`).

Reads are a fixed number of queries whatever the number of slots: the candidates' commitments once, the day
places once (`officer_day_bases`, two), and travel between all the points involved in one batch.
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q

from bookings.models import BookingAssignment
from scheduling.availability.intervals import Interval
from scheduling.availability.supply import from_epoch, to_epoch
from scheduling.locations import travel_matrix, travel_table
from scheduling.models import AppointmentType, LocationMode
from scheduling.routing.matrix import StraightLine
from scheduling.routing.problem import Point
from scheduling.selectors import DayBases, officer_day_bases

if TYPE_CHECKING:
    from .slots import AvailableSlot


@dataclass(frozen=True)
class Commitment:
    """An officer's occupied span (epoch seconds, buffers included) and where it happens, if anywhere."""

    lo: int
    hi: int
    point: Point | None


@dataclass(frozen=True)
class Fit:
    """Travel an officer's day gains by taking the visit (seconds, metres; never below zero)."""

    seconds: int
    metres: int


Legs = dict[tuple[Point, Point], tuple[int, int]]


def travel_applies(appointment_type: AppointmentType, point: Point | None) -> bool:
    """Travel counts only for a visit at a known customer address (a group session never travels)."""
    return (
        point is not None
        and appointment_type.location_mode == LocationMode.CUSTOMER_ADDRESS
        and not appointment_type.is_group_session
    )


def travel_aware_slots(
    appointment_type: AppointmentType,
    slots: list[AvailableSlot],
    point: Point,
    *,
    open_time: dict[Hashable, list[Interval]],
    now: datetime,
    ignore_booking_ids: Collection[int] = (),
) -> list[AvailableSlot]:
    """`slots` (found without travel) that some officer can reach from `point`'s neighbours in time, each
    with its least added travel, its seats cheapest officer first, and the recommended ones marked.
    Slots with no officer left are dropped. `open_time` is the supply's open time per calendar."""
    if not slots:
        return []
    tz = appointment_type.tenant.zone
    before, after = _buffers(appointment_type)
    officers = sorted({o for slot in slots for seat in slot.officer_seats for o in seat})
    first = min(slot.start for slot in slots) - before - timedelta(days=1)
    last = max(slot.end for slot in slots) + after + timedelta(days=1)
    commitments = officer_commitments(officers, (first, last), now=now, ignore_booking_ids=ignore_booking_ids)
    days = {slot.start.astimezone(tz).date() for slot in slots}
    bases = officer_day_bases(officers, min(days), max(days))
    bounds = _day_bounds(officers, open_time, days, tz)
    edges = {o: ([c.lo for c in cs], [c.hi for c in cs]) for o, cs in commitments.items()}

    # Every slot's neighbours first, so that travel between all the points is asked for once.
    plans: list[list[list[tuple[int, _Gap]]]] = []
    pairs: set[tuple[Point, Point]] = set()
    for slot in slots:
        lo, hi = to_epoch(slot.start - before), to_epoch(slot.end + after)
        day = slot.start.astimezone(tz).date()
        seats = []
        for seat in slot.officer_seats:
            gaps = []
            for officer_id in seat:
                gap = _gap(
                    lo,
                    hi,
                    commitments.get(officer_id, []),
                    bounds.get((officer_id, day)),
                    bases.get((officer_id, day)),
                    edges.get(officer_id),
                )
                if gap is not None:
                    gaps.append((officer_id, gap))
                    pairs.update(gap.pairs(point))
            seats.append(gaps)
        plans.append(seats)
    legs = travel_legs(pairs)

    kept = []
    for slot, seats in zip(slots, plans, strict=True):
        lo, hi = to_epoch(slot.start - before), to_epoch(slot.end + after)
        fits: dict[int, Fit] = {}
        for gaps in seats:
            for officer_id, gap in gaps:
                fit = gap.fit(lo, hi, point, legs)
                if fit is not None:
                    fits[officer_id] = fit
        officer_seats = tuple(
            tuple(sorted((o for o in seat if o in fits), key=lambda o: (fits[o].seconds, o)))
            for seat in slot.officer_seats
        )
        if not all(officer_seats):
            continue
        # Several seats: the cheapest officer of each (they may coincide; allocation makes them distinct).
        best = [fits[seat[0]] for seat in officer_seats]
        kept.append(
            replace(
                slot,
                officer_seats=officer_seats,
                added_travel_seconds=sum(f.seconds for f in best),
                added_travel_metres=sum(f.metres for f in best),
                officer_travel=tuple(sorted((o, fits[o].seconds) for o in fits)),
            )
        )
    return recommend(kept, tz)


def recommend(slots: list[AvailableSlot], tz: tzinfo) -> list[AvailableSlot]:
    """Marks the slots of each local day that add least travel: at most TRAVEL_RECOMMENDED_SHARE of the
    day's slots (at least one), and only those within TRAVEL_RECOMMENDED_MARGIN_MINUTES of the day's least.
    The share keeps the mark meaningful on an empty day (where every time costs the same round trip and the
    earliest ones are marked); the margin keeps a costly time from being marked just to fill the share."""
    by_day: dict[date, list[int]] = defaultdict(list)
    for index, slot in enumerate(slots):
        if slot.added_travel_seconds is not None:
            by_day[slot.start.astimezone(tz).date()].append(index)
    marked = set()
    margin = settings.TRAVEL_RECOMMENDED_MARGIN_MINUTES * 60
    for indices in by_day.values():
        ranked = sorted(indices, key=lambda i: (slots[i].added_travel_seconds, slots[i].start))
        best = slots[ranked[0]].added_travel_seconds or 0
        share = max(1, math.ceil(len(ranked) * settings.TRAVEL_RECOMMENDED_SHARE))
        marked.update(i for i in ranked[:share] if (slots[i].added_travel_seconds or 0) <= best + margin)
    return [replace(slot, recommended=True) if i in marked else slot for i, slot in enumerate(slots)]


def travel_conflicts(
    appointment_type: AppointmentType,
    point: Point,
    start: datetime,
    end: datetime,
    officer_ids: Collection[int],
    *,
    now: datetime,
    ignore_booking_ids: Collection[int] = (),
) -> list[int]:
    """The officers among `officer_ids` who can no longer reach the visit in time, or go on from it in
    time, given their commitments as they stand now (one query). For placement, under the officers' row
    locks: a booking committed meanwhile next to this one counts. The day's start and end places were
    checked when the slot was found (they do not change with bookings) and are not read again."""
    tz = appointment_type.tenant.zone
    before, after = _buffers(appointment_type)
    lo, hi = to_epoch(start - before), to_epoch(end + after)
    local = start.astimezone(tz)
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    day = (to_epoch(midnight), to_epoch(midnight + timedelta(days=1)))
    commitments = officer_commitments(
        officer_ids, (from_epoch(day[0]), from_epoch(day[1])), now=now, ignore_booking_ids=ignore_booking_ids
    )
    gaps: dict[int, _Gap | None] = {
        officer_id: _gap(lo, hi, commitments.get(officer_id, []), day, None) for officer_id in officer_ids
    }
    pairs = {pair for gap in gaps.values() if gap is not None for pair in gap.pairs(point)}
    legs = travel_legs(pairs)
    return sorted(o for o, gap in gaps.items() if gap is None or gap.fit(lo, hi, point, legs) is None)


def officer_commitments(
    officer_ids: Collection[int],
    span: tuple[datetime, datetime],
    *,
    now: datetime,
    ignore_booking_ids: Collection[int] = (),
) -> dict[int, list[Commitment]]:
    """Each officer's commitments overlapping `span`, in time order, with their bookings' points (one
    query; the tenant's own rows only, as every scoped read)."""
    rows = (
        BookingAssignment.objects.filter(
            officer_id__in=list(officer_ids), is_active=True, occupied__overlap=span
        )
        .filter(Q(booking__hold_expires_at__isnull=True) | Q(booking__hold_expires_at__gt=now))
        .exclude(booking_id__in=list(ignore_booking_ids))
        .values_list("officer_id", "occupied", "booking__latitude", "booking__longitude")
    )
    found: dict[int, list[Commitment]] = defaultdict(list)
    for officer_id, occupied, latitude, longitude in rows:
        point = Point(latitude, longitude) if latitude is not None and longitude is not None else None
        found[officer_id].append(Commitment(to_epoch(occupied.lower), to_epoch(occupied.upper), point))
    for commitments in found.values():
        commitments.sort(key=lambda c: (c.lo, c.hi))
    return dict(found)


def travel_legs(pairs: Iterable[tuple[Point, Point]]) -> Legs:
    """Seconds and metres for each (from, to) pair. The straight-line matrix is asked pair by pair (as
    cheap as arithmetic, and linear in the pairs); any other backend once, through `travel_table`, for all
    the points involved (batched and cached there)."""
    pairs = set(pairs)
    if not pairs:
        return {}
    matrix = travel_matrix()
    if isinstance(matrix, StraightLine):
        legs: Legs = {}
        for a, b in pairs:
            seconds, metres = matrix.table([a], [b])
            legs[(a, b)] = (seconds[0][0], metres[0][0])
        return legs
    points = list(dict.fromkeys(p for pair in pairs for p in pair))
    seconds, metres = travel_table(points)
    index = {p: i for i, p in enumerate(points)}
    return {(a, b): (seconds[index[a]][index[b]], metres[index[a]][index[b]]) for a, b in pairs}


# --- the pure part ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Gap:
    """Where an officer comes from before a slot and goes after it, and by when."""

    leave_at: int | None  # when the officer can leave the previous place (None: no limit)
    come_from: Point | None
    arrive_by: int | None  # when the officer must be at the next place (None: no limit)
    go_to: Point | None

    def pairs(self, here: Point) -> list[tuple[Point, Point]]:
        found = []
        if self.come_from is not None:
            found.append((self.come_from, here))
        if self.go_to is not None:
            found.append((here, self.go_to))
        if self.come_from is not None and self.go_to is not None:
            found.append((self.come_from, self.go_to))
        return found

    def fit(self, lo: int, hi: int, here: Point, legs: Legs) -> Fit | None:
        """The travel added by a visit occupying [lo, hi) at `here`, or None when it cannot be reached or
        left in time."""
        there = legs[(self.come_from, here)] if self.come_from is not None else (0, 0)
        onward = legs[(here, self.go_to)] if self.go_to is not None else (0, 0)
        direct = (
            legs[(self.come_from, self.go_to)]
            if self.come_from is not None and self.go_to is not None
            else (0, 0)
        )
        if self.leave_at is not None and self.come_from is not None and self.leave_at + there[0] > lo:
            return None
        if self.arrive_by is not None and self.go_to is not None and hi + onward[0] > self.arrive_by:
            return None
        return Fit(
            seconds=max(0, there[0] + onward[0] - direct[0]), metres=max(0, there[1] + onward[1] - direct[1])
        )


def _gap(
    lo: int,
    hi: int,
    commitments: Sequence[Commitment],
    day: Interval | None,
    bases: DayBases | None,
    edges: tuple[list[int], list[int]] | None = None,
) -> _Gap | None:
    """The previous and next commitment around [lo, hi) on the day (else the day's start and end places);
    None when a commitment overlaps it (taken meanwhile). `edges`: the commitments' starts and ends, when
    the caller keeps them for many calls."""
    day_start, day_end = day if day is not None else (None, None)
    # An officer's commitments never overlap (the exclusion constraint), so their ends are in order too.
    starts, ends = edges or ([c.lo for c in commitments], [c.hi for c in commitments])
    before = bisect_right(ends, lo)
    if before < len(commitments) and commitments[before].lo < hi:
        return None
    after = bisect_left(starts, hi)
    previous = commitments[before - 1] if before else None
    if previous is not None and day_start is not None and previous.hi <= day_start:
        previous = None
    following = commitments[after] if after < len(commitments) else None
    if following is not None and day_end is not None and following.lo >= day_end:
        following = None
    start_place = bases.start.point if bases is not None and bases.start is not None else None
    end_place = bases.end.point if bases is not None and bases.end is not None else None
    if previous is not None:
        leave_at, come_from = previous.hi, previous.point
    else:
        leave_at, come_from = day_start, start_place
    if following is not None:
        arrive_by, go_to = following.lo, following.point
    else:
        arrive_by, go_to = day_end, end_place
    return _Gap(leave_at=leave_at, come_from=come_from, arrive_by=arrive_by, go_to=go_to)


def _day_bounds(
    officers: Iterable[int], open_time: dict[Hashable, list[Interval]], days: set[date], tz: tzinfo
) -> dict[tuple[int, date], Interval]:
    """Each officer's first and last open moment on each local day that has slots."""
    bounds: dict[tuple[int, date], Interval] = {}
    for officer_id in officers:
        for lo, hi in open_time.get(("officer", officer_id), ()):
            day = from_epoch(lo).astimezone(tz).date()
            if day not in days:
                continue
            known = bounds.get((officer_id, day))
            bounds[(officer_id, day)] = (min(known[0], lo), max(known[1], hi)) if known else (lo, hi)
    return bounds


def _buffers(appointment_type: AppointmentType) -> tuple[timedelta, timedelta]:
    return appointment_type.buffer_before, appointment_type.buffer_after
