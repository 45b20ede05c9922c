"""`available_slots`: the supply of one appointment type (scheduling) minus what is booked, asked of the
pure engine.

The query count does not depend on how many officers, bookings or days are involved: every table is read
once, and everything else is interval arithmetic in `scheduling.availability`. Open time comes from the
supply cache (scheduling) and booked time from one of its own (`_booked_cached`), each under a version its
changes raise in their own transaction, so neither is ever served stale.
"""

from __future__ import annotations

import hashlib
import math
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NamedTuple

from django.conf import settings
from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from accounts.models import Tenant
from bookings.models import ACTIVE_STATUSES, Booking, BookingAssignment, BookingStatus
from config.cache import read_through
from scheduling.availability import engine
from scheduling.availability.intervals import Interval, normalise
from scheduling.availability.supply import (
    DAY,
    Supply,
    Window,
    booking_window,
    from_epoch,
    supply_for,
    to_epoch,
)
from scheduling.models import AppointmentType
from scheduling.routing.problem import Point
from scheduling.services import supply_version

from .travel import travel_applies, travel_aware_slots


@dataclass(frozen=True)
class AvailableSlot:
    """A start at which the type can be booked, and who could take it.

    `officer_seats[i]` lists the free officers eligible for the i-th staffing seat (likewise resources).
    For a group session `session_key` names an existing session to join and `seats_left` how many
    customers it can still take.
    """

    start: datetime
    end: datetime
    officer_seats: tuple[tuple[int, ...], ...]
    resource_seats: tuple[tuple[int, ...], ...]
    seats_left: int
    session_key: str | None = None
    # Travel-aware answers only (an on-site type asked about a point, see `travel`): the least travel the
    # visit adds to an officer's day, whether it is among its day's recommended times, and the travel each
    # candidate officer would add ((officer id, seconds), by id).
    added_travel_seconds: int | None = None
    added_travel_metres: int | None = None
    recommended: bool = False
    officer_travel: tuple[tuple[int, int], ...] = ()


def available_slots(
    appointment_type: AppointmentType,
    start: datetime,
    end: datetime,
    *,
    now: datetime | None = None,
    ignore_booking_ids: Collection[int] = (),
    displace_below: int | None = None,
    apply_notice: bool = True,
    officer_ids: Collection[int] | None = None,
    point: Point | None = None,
) -> list[AvailableSlot]:
    """Bookable starts of `appointment_type` in [start, end), earliest first.

    Honours working patterns, absences, holidays, service blocks, external busy time, existing active
    bookings (with their buffers) and live holds, minimum notice and the booking horizon, skills, every
    staffing and resource seat filled at once by distinct calendars, and group-session capacity.
    `ignore_booking_ids` treats those bookings as gone (a reschedule does not collide with itself);
    `displace_below` treats bookings of lower priority as gone (the emergency preview);
    `apply_notice=False` lifts the minimum notice (urgent staff bookings).
    With `point` (where a visit at the customer's address happens) only officers who can travel there in
    time are offered, and slots carry the travel they add (see `travel`); other types ignore it.
    """
    return _available(
        appointment_type,
        start,
        end,
        now=now or timezone.now(),
        ignore_booking_ids=ignore_booking_ids,
        displace_below=displace_below,
        apply_notice=apply_notice,
        officer_ids=officer_ids,
        point=point,
    ).slots


def available_slots_stable(
    appointment_type: AppointmentType,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    point: Point | None = None,
) -> tuple[list[AvailableSlot], datetime]:
    """`available_slots`, and until when that answer stays right while the tenant's supply and booked
    versions (`availability_versions`) stay the same: until the first start falls within the minimum
    notice or the next live hold lapses. A period the booking horizon cuts short is right only now (time
    brings new starts into it)."""
    found = _available(
        appointment_type,
        start,
        end,
        now=now,
        ignore_booking_ids=(),
        displace_below=None,
        apply_notice=True,
        officer_ids=None,
        point=point,
    )
    return found.slots, from_epoch(found.stable_until)


def availability_versions(tenant: Tenant) -> tuple[int, int] | None:
    """The tenant's supply and booked versions, read now: what is computed from availability can be kept
    under them. None inside a transaction, which may have changed either without raising it yet."""
    if connection.in_atomic_block:
        return None
    supply = supply_version(tenant)
    return None if supply is None else (supply, _booked_version(tenant.pk))


def slots_at(
    appointment_type: AppointmentType,
    start: datetime,
    *,
    now: datetime,
    ignore_booking_ids: Collection[int] = (),
    apply_notice: bool = True,
    officer_ids: Collection[int] | None = None,
    load_week: tuple[datetime, datetime] | None = None,
    point: Point | None = None,
) -> tuple[list[AvailableSlot], dict[Hashable, list[Interval]], dict[int, int] | None]:
    """The slots starting exactly at `start` (a fresh one and a group session to join, at most), the
    occupied spans of lapsed holds on the candidate calendars, and with `load_week` each candidate
    officer's load that week (seconds of active assignments overlapping it, read with the booked time).

    Lapsed holds are free time, but their assignments stay active until expired: placing a booking must
    expire those in its way first, and only then (rarely) spend the queries doing so.
    """
    found = _available(
        appointment_type,
        start,
        start + timedelta(seconds=1),
        now=now,
        ignore_booking_ids=ignore_booking_ids,
        displace_below=None,
        apply_notice=apply_notice,
        officer_ids=officer_ids,
        load_week=None if ignore_booking_ids else load_week,
        point=point,
    )
    return [slot for slot in found.slots if slot.start == start], found.lapsed, found.loads


class _Found(NamedTuple):
    slots: list[AvailableSlot]
    lapsed: dict[Hashable, list[Interval]]  # occupied spans of lapsed holds, per calendar
    loads: dict[int, int] | None
    stable_until: int  # epoch seconds; see available_slots_stable


def _available(
    appointment_type: AppointmentType,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    ignore_booking_ids: Collection[int],
    displace_below: int | None,
    apply_notice: bool,
    officer_ids: Collection[int] | None,
    load_week: tuple[datetime, datetime] | None = None,
    point: Point | None = None,
) -> _Found:
    moment = now.timestamp()
    window = booking_window(appointment_type, start, end, now=now, apply_notice=apply_notice)
    if window is None:
        return _Found([], {}, None, int(moment))
    supply = supply_for(appointment_type, window, officer_ids=officer_ids)
    booked = Booked(fixed={}, holds={})
    loads: dict[int, int] | None = None
    if supply.open:
        if load_week is None and not ignore_booking_ids and displace_below is None:
            booked = _booked_cached(appointment_type.tenant_id, supply, window.reach)
        else:
            lo, hi = window.reach
            if load_week is not None:
                week = (to_epoch(load_week[0]), to_epoch(load_week[1]))
                rows, loads = _booked_rows_and_loads(appointment_type.tenant_id, supply, lo, hi, week)
            else:
                rows = _booked_rows(
                    appointment_type.tenant_id, supply, lo, hi, now, ignore_booking_ids, displace_below
                )
            booked = _booked_from_rows(rows)
    lapsed: dict[Hashable, list[Interval]] = defaultdict(list)
    live: dict[Hashable, list[Interval]] = defaultdict(list)
    next_lapse = math.inf
    for key, holds in booked.holds.items():
        for lo, hi, expires in holds:
            if expires > moment:
                live[key].append((lo, hi))
                next_lapse = min(next_lapse, expires)
            else:
                lapsed[key].append((lo, hi))
    calendars = []
    # Open time comes for whole weeks (see supply_for); the engine only needs what a start in the window
    # can use. Open lists are sorted and disjoint, so two bisections cut them.
    first_start, last_end = window.rules.earliest_start, window.rules.latest_start + window.rules.duration
    for key, open_intervals in supply.open.items():
        cut = open_intervals[
            max(bisect_left(open_intervals, (first_start,)) - 1, 0) : bisect_left(open_intervals, (last_end,))
        ]
        busy = booked.fixed.get(key, [])
        extra = live.get(key, []) + supply.external_busy.get(key, [])
        calendars.append(engine.Calendar(key=key, open=cut, busy=busy + extra if extra else busy))
    found = engine.find_slots(window.rules, calendars, supply.requirements)

    n_officer_seats = len(supply.officer_seats)
    slots = [
        AvailableSlot(
            start=from_epoch(s.start),
            end=from_epoch(s.end),
            officer_seats=tuple(tuple(k[1] for k in seat) for seat in s.candidates[:n_officer_seats]),
            resource_seats=tuple(tuple(k[1] for k in seat) for seat in s.candidates[n_officer_seats:]),
            seats_left=appointment_type.capacity,
        )
        for s in found
    ]
    if travel_applies(appointment_type, point):
        # Per request, after both caches: what they keep does not depend on where the visit is.
        slots = travel_aware_slots(
            appointment_type,
            slots,
            point,  # type: ignore[arg-type]
            open_time=supply.open,
            now=now,
            ignore_booking_ids=ignore_booking_ids,
        )
    if appointment_type.is_group_session:
        rules = window.rules
        slots = _with_group_sessions(
            appointment_type, slots, rules.earliest_start, rules.latest_start, now, ignore_booking_ids
        )
    return _Found(slots, dict(lapsed), loads, _stable_until(window, slots, moment, next_lapse))


def _stable_until(window: Window, slots: list[AvailableSlot], moment: float, next_lapse: float) -> int:
    """Epoch second before which the same inputs give the same slots: the first start leaves once it is
    within the notice (a start is offered while now, in whole seconds, plus the notice is not after it),
    and a live hold frees its time when it lapses. When the horizon cuts the period short, only now."""
    if window.horizon_cut:
        return int(moment)
    until = math.floor(next_lapse) if next_lapse < math.inf else int(moment) + DAY
    if slots:
        until = min(until, to_epoch(slots[0].start) - window.notice + 1)
    return until


@dataclass(frozen=True)
class Booked:
    """Booked time per calendar: `fixed` (normalised) is taken until something changes it; each of `holds`
    (occupied span and the hold's expiry, epoch seconds) only until that hold lapses."""

    fixed: dict[Hashable, list[Interval]]
    holds: dict[Hashable, list[tuple[int, int, float]]]


BookedRow = tuple[int | None, int | None, float | None, int, int]  # officer, resource, hold expiry, lo, hi


def _booked_from_rows(rows: Iterable[BookedRow]) -> Booked:
    fixed: dict[Hashable, list[Interval]] = defaultdict(list)
    holds: dict[Hashable, list[tuple[int, int, float]]] = defaultdict(list)
    for officer_id, resource_id, expires, lo, hi in rows:
        key = ("officer", officer_id) if officer_id else ("resource", resource_id)
        if expires is None:
            fixed[key].append((lo, hi))
        else:
            holds[key].append((lo, hi, expires))
    return Booked(fixed={key: normalise(spans) for key, spans in fixed.items()}, holds=dict(holds))


def _booked_version(tenant_id: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT booked_version FROM {Tenant._meta.db_table} WHERE id = %s", [tenant_id])
        (version,) = cursor.fetchone()
    return version


def _booked_cached(tenant_id: int, supply: Supply, reach: Interval) -> Booked:
    """The booked time of the supply's calendars over whole UTC days around `reach`, from the cache when
    nothing has changed it since it was read.

    The key holds the tenant's `booked_version`, which a database trigger raises in the same transaction as
    every change to assignments or to a hold's status or expiry. The version is read first, so whatever is
    then read (from the cache or the database) is at least as new as that version: a committed booking is
    never missed. Holds are kept with their expiry, so a hold that lapses frees its time without any write.
    Inside a transaction, which may have changed bookings itself, everything is read fresh; so it is when
    Redis cannot be reached.
    """
    lo, hi = reach[0] // DAY * DAY, -(-reach[1] // DAY) * DAY

    def read() -> Booked:
        return _booked_from_rows(_booked_rows(tenant_id, supply, lo, hi))

    if connection.in_atomic_block:
        return read()
    version = _booked_version(tenant_id)
    calendars = f"{supply.officers}{supply.resources}".encode()
    key = f"booked:{tenant_id}:{version}:{lo}:{hi}:{hashlib.sha256(calendars).hexdigest()[:16]}"
    return read_through(key, read, settings.BOOKED_CACHE_SECONDS, what="booked-time")


def session_key_for(appointment_type: AppointmentType, start: datetime) -> str:
    """All customers of one group session share this key (type and start)."""
    return f"{appointment_type.pk}@{to_epoch(start)}"


def _booked_sql(*, ignoring: bool, displacing: bool, with_range: bool = False) -> str:
    """Plain SQL (so the tenant is named in it), with epoch seconds straight from PostgreSQL as plain
    numbers: thousands of ranges parsed in Python, or through the ORM's converters, cost more than the
    query. date_part is a float, cheaper there than EXTRACT's numeric, and exact to the microsecond.

    An active assignment belongs to a confirmed booking or a hold, so only holds are joined (few, through
    their partial index), for their expiry: a lapsed hold is free time, still in the way of an insert until
    expired; every other active assignment is busy. Ignored bookings, and with `displacing` lower-priority
    ones (which needs every booking joined), count as gone unless they are lapsed holds. `with_range`
    selects the occupied range too and reads [reach_lo, reach_hi), for a statement to filter further.
    """
    gone = []
    if ignoring:
        gone.append("a.booking_id = ANY(%(ignore)s::bigint[])")
    if displacing:
        gone.append("b.priority < %(priority)s")
    every_booking = (
        f"JOIN {Booking._meta.db_table} b ON b.id = a.booking_id AND b.tenant_id = %(tenant)s"
        if displacing
        else ""
    )
    lapsed = "h.hold_expires_at <= %(now)s"
    lo, hi = ("reach_lo", "reach_hi") if with_range else ("lo", "hi")
    return f"""
        SELECT a.officer_id, a.resource_id, date_part('epoch', h.hold_expires_at) AS expires,
               date_part('epoch', lower(a.occupied))::bigint AS lo,
               date_part('epoch', upper(a.occupied))::bigint AS hi{", a.occupied" if with_range else ""}
        FROM {BookingAssignment._meta.db_table} a
        LEFT JOIN {Booking._meta.db_table} h
            ON h.id = a.booking_id AND h.status = '{BookingStatus.HELD}' AND h.tenant_id = %(tenant)s
        {every_booking}
        WHERE a.tenant_id = %(tenant)s AND a.is_active
          AND a.occupied && tstzrange(to_timestamp(%({lo})s), to_timestamp(%({hi})s))
          AND (a.officer_id = ANY(%(officers)s::bigint[]) OR a.resource_id = ANY(%(resources)s::bigint[]))
          {f"AND (coalesce({lapsed}, false) OR NOT ({' OR '.join(gone)}))" if gone else ""}
    """


def _booked_rows(
    tenant_id: int,
    supply: Supply,
    lo: int,
    hi: int,
    now: datetime | None = None,
    ignore_booking_ids: Collection[int] = (),
    displace_below: int | None = None,
) -> list[BookedRow]:
    """Occupied ranges of the supply's calendars' active assignments overlapping [lo, hi), with the hold's
    expiry for holds. Ignored bookings and (with `displace_below`) lower-priority ones count as gone, except
    lapsed holds (at `now`), which stay in the way of an insert until expired."""
    sql = _booked_sql(ignoring=bool(ignore_booking_ids), displacing=displace_below is not None)
    params = {
        "tenant": tenant_id,
        "lo": lo,
        "hi": hi,
        "officers": list(supply.officers),
        "resources": list(supply.resources),
        "now": now,
        "ignore": list(ignore_booking_ids),
        "priority": displace_below,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _booked_rows_and_loads(
    tenant_id: int, supply: Supply, lo: int, hi: int, week: Interval
) -> tuple[list[BookedRow], dict[int, int]]:
    """`_booked_rows` over [lo, hi) and, in the same statement, each officer's load in the week (seconds of
    active assignments overlapping it, lapsed holds included): one row per officer instead of the week's."""
    sql = f"""
        WITH a AS ({_booked_sql(ignoring=False, displacing=False, with_range=True)})
        SELECT false, officer_id, resource_id, expires, lo, hi
        FROM a WHERE occupied && tstzrange(to_timestamp(%(lo)s), to_timestamp(%(hi)s))
        UNION ALL
        SELECT true, officer_id, NULL, NULL, 0, sum(hi - lo)::bigint
        FROM a WHERE officer_id IS NOT NULL
          AND occupied && tstzrange(to_timestamp(%(week_lo)s), to_timestamp(%(week_hi)s))
        GROUP BY officer_id
    """
    params = {
        "tenant": tenant_id,
        "lo": lo,
        "hi": hi,
        "reach_lo": min(lo, week[0]),
        "reach_hi": max(hi, week[1]),
        "week_lo": week[0],
        "week_hi": week[1],
        "officers": list(supply.officers),
        "resources": list(supply.resources),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        found = cursor.fetchall()
    rows = [tuple(row[1:]) for row in found if not row[0]]
    loads = {officer_id: seconds for is_load, officer_id, _r, _e, _lo, seconds in found if is_load}
    return rows, loads


def _with_group_sessions(
    appointment_type: AppointmentType,
    slots: list[AvailableSlot],
    earliest: int,
    latest: int,
    now: datetime,
    ignore_booking_ids: Collection[int],
) -> list[AvailableSlot]:
    """Offers seats in existing sessions; a start that already has a session is never a second session."""
    sessions = (
        Booking.objects.filter(
            appointment_type=appointment_type,
            status__in=ACTIVE_STATUSES,
            starts_at__gte=from_epoch(earliest),
            starts_at__lte=from_epoch(latest),
        )
        .filter(Q(status=BookingStatus.CONFIRMED) | Q(hold_expires_at__gt=now))
        .exclude(pk__in=ignore_booking_ids)
        .values("session_key", "starts_at", "ends_at")
        .annotate(taken=Count("pk"))
    )
    sessions = list(sessions)
    taken_starts = {s["starts_at"] for s in sessions}
    members: dict[str, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
    for session_key, officer_id, resource_id in (
        BookingAssignment.objects.filter(session_key__in=[s["session_key"] for s in sessions], is_active=True)
        .values_list("session_key", "officer_id", "resource_id")
        .distinct()
    ):
        (members[session_key][0] if officer_id else members[session_key][1]).append(officer_id or resource_id)
    joinable = [
        AvailableSlot(
            start=s["starts_at"],
            end=s["ends_at"],
            officer_seats=tuple((o,) for o in sorted(members[s["session_key"]][0])),
            resource_seats=tuple((r,) for r in sorted(members[s["session_key"]][1])),
            seats_left=appointment_type.capacity - s["taken"],
            session_key=s["session_key"],
        )
        for s in sessions
        if s["taken"] < appointment_type.capacity
    ]
    fresh = [slot for slot in slots if slot.start not in taken_starts]
    return sorted([*fresh, *joinable], key=lambda slot: slot.start)
