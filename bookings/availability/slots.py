"""`available_slots`: the supply of one appointment type (scheduling) minus what is booked, asked of the
pure engine.

The query count does not depend on how many officers, bookings or days are involved: every table is read
once with `values_list`, and everything else is interval arithmetic in `scheduling.availability`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.db.models import Count, Q
from django.utils import timezone

from bookings.models import ACTIVE_STATUSES, Booking, BookingAssignment, BookingStatus
from scheduling.availability import engine
from scheduling.availability.intervals import Interval, normalise
from scheduling.availability.supply import (
    booking_window,
    from_epoch,
    supply_for,
    to_epoch,
)
from scheduling.models import AppointmentType


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
) -> list[AvailableSlot]:
    """Bookable starts of `appointment_type` in [start, end), earliest first.

    Honours working patterns, absences, holidays, service blocks, external busy time, existing active
    bookings (with their buffers) and live holds, minimum notice and the booking horizon, skills, every
    staffing and resource seat filled at once by distinct calendars, and group-session capacity.
    `ignore_booking_ids` treats those bookings as gone (a reschedule does not collide with itself);
    `displace_below` treats bookings of lower priority as gone (the emergency preview);
    `apply_notice=False` lifts the minimum notice (urgent staff bookings).
    """
    slots, _lapsed, _loads = _available(
        appointment_type,
        start,
        end,
        now=now or timezone.now(),
        ignore_booking_ids=ignore_booking_ids,
        displace_below=displace_below,
        apply_notice=apply_notice,
        officer_ids=officer_ids,
    )
    return slots


def slots_at(
    appointment_type: AppointmentType,
    start: datetime,
    *,
    now: datetime,
    ignore_booking_ids: Collection[int] = (),
    apply_notice: bool = True,
    officer_ids: Collection[int] | None = None,
    load_week: tuple[datetime, datetime] | None = None,
) -> tuple[list[AvailableSlot], dict[Hashable, list[Interval]], dict[int, int] | None]:
    """The slots starting exactly at `start` (a fresh one and a group session to join, at most), the
    occupied spans of lapsed holds on the candidate calendars, and with `load_week` each candidate
    officer's load that week (seconds of active assignments overlapping it, read with the booked time).

    Lapsed holds are free time, but their assignments stay active until expired: placing a booking must
    expire those in its way first, and only then (rarely) spend the queries doing so.
    """
    slots, lapsed, loads = _available(
        appointment_type,
        start,
        start + timedelta(seconds=1),
        now=now,
        ignore_booking_ids=ignore_booking_ids,
        displace_below=None,
        apply_notice=apply_notice,
        officer_ids=officer_ids,
        load_week=None if ignore_booking_ids else load_week,
    )
    return [slot for slot in slots if slot.start == start], lapsed, loads


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
) -> tuple[list[AvailableSlot], dict[Hashable, list[Interval]], dict[int, int] | None]:
    window = booking_window(appointment_type, start, end, now=now, apply_notice=apply_notice)
    if window is None:
        return [], {}, None
    supply = supply_for(appointment_type, window, officer_ids=officer_ids)
    busy: dict[Hashable, list[Interval]] = defaultdict(list)
    lapsed: dict[Hashable, list[Interval]] = defaultdict(list)
    for key, spans in supply.external_busy.items():
        busy[key].extend(spans)
    loads: dict[int, int] | None = None
    week = (to_epoch(load_week[0]), to_epoch(load_week[1])) if load_week is not None else None
    if supply.open:
        reach = (from_epoch(window.reach[0]), from_epoch(window.reach[1]))
        if load_week is not None:  # every active assignment overlapping the week is read too
            reach = (min(reach[0], load_week[0]), max(reach[1], load_week[1]))
            loads = defaultdict(int)
        booked = _booked(
            appointment_type.tenant_id,
            supply.officers,
            supply.resources,
            *reach,
            now,
            ignore_booking_ids,
            displace_below,
        )
        for key, span, is_lapsed in booked:
            (lapsed if is_lapsed else busy)[key].append(span)
            if week is not None and key[0] == "officer" and span[0] < week[1] and week[0] < span[1]:
                loads[key[1]] += span[1] - span[0]
    calendars = [
        engine.Calendar(key=key, open=open_intervals, busy=normalise(busy[key]))
        for key, open_intervals in supply.open.items()
    ]
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
    if appointment_type.is_group_session:
        rules = window.rules
        slots = _with_group_sessions(
            appointment_type, slots, rules.earliest_start, rules.latest_start, now, ignore_booking_ids
        )
    return slots, dict(lapsed), None if loads is None else dict(loads)


def session_key_for(appointment_type: AppointmentType, start: datetime) -> str:
    """All customers of one group session share this key (type and start)."""
    return f"{appointment_type.pk}@{to_epoch(start)}"


def _booked_sql(*, ignoring: bool, displacing: bool) -> str:
    """Plain SQL (so the tenant is named in it), with epoch seconds straight from PostgreSQL as plain
    integers: thousands of ranges parsed in Python, or through the ORM's converters, cost more than the
    query. date_part is a float, cheaper there than EXTRACT's numeric, and exact for whole seconds.

    An active assignment belongs to a confirmed booking or a hold, so only holds are joined (few, through
    their partial index): a lapsed hold is free time, still in the way of an insert until expired; every
    other active assignment is busy. Ignored bookings, and with `displacing` lower-priority ones (which
    needs every booking joined), count as gone.
    """
    lapsed = "(h.id IS NOT NULL AND h.hold_expires_at <= %(now)s)"
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
    return f"""
        SELECT a.officer_id, a.resource_id, {lapsed},
               date_part('epoch', lower(a.occupied))::bigint, date_part('epoch', upper(a.occupied))::bigint
        FROM {BookingAssignment._meta.db_table} a
        LEFT JOIN {Booking._meta.db_table} h
            ON h.id = a.booking_id AND h.status = '{BookingStatus.HELD}' AND h.tenant_id = %(tenant)s
        {every_booking}
        WHERE a.tenant_id = %(tenant)s AND a.is_active AND a.occupied && tstzrange(%(lo)s, %(hi)s)
          AND (a.officer_id = ANY(%(officers)s::bigint[]) OR a.resource_id = ANY(%(resources)s::bigint[]))
          {f"AND ({lapsed} OR NOT ({' OR '.join(gone)}))" if gone else ""}
    """


def _booked(
    tenant_id: int,
    officers: list[int],
    resources: list[int],
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    ignore_booking_ids: Collection[int],
    displace_below: int | None,
) -> Iterable[tuple[Hashable, Interval, bool]]:
    """Occupied ranges of active assignments per calendar, saying whether they belong to lapsed holds:
    lapsed holds are free even before the sweeper expires them, but stand in the way of an insert until
    then. Ignored bookings and (with `displace_below`) lower-priority ones count as gone."""
    sql = _booked_sql(ignoring=bool(ignore_booking_ids), displacing=displace_below is not None)
    params = {
        "tenant": tenant_id,
        "lo": window_start,
        "hi": window_end,
        "officers": list(officers),
        "resources": list(resources),
        "now": now,
        "ignore": list(ignore_booking_ids),
        "priority": displace_below,
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for officer_id, resource_id, is_lapsed, lo, hi in rows:
        key = ("officer", officer_id) if officer_id else ("resource", resource_id)
        yield key, (lo, hi), is_lapsed


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
