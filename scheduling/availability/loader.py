"""`available_slots`: loads one appointment type's supply and demand in a fixed number of queries and asks
the pure engine which starts can be booked.

The query count does not depend on how many officers, bookings or days are involved: every table is read
once with `values_list`, and everything else is interval arithmetic in `engine`, `intervals`, `wallclock`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import BigIntegerField, Count, Func, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer
from scheduling.availability import engine, wallclock
from scheduling.availability.intervals import Interval, normalise, subtract
from scheduling.errors import InvalidWindow
from scheduling.models import (
    Absence,
    AllocationStrategy,
    AppointmentType,
    ExternalBusy,
    Holiday,
    Resource,
    ServiceBlock,
    WorkingInterval,
)

DAY = 86400


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


@dataclass(frozen=True)
class Supply:
    """What the loader read, kept so a caller (allocation, benchmarks) can inspect it."""

    officer_ids: tuple[int, ...]
    resource_ids: tuple[int, ...]


class EpochSeconds(Func):
    template = "EXTRACT(EPOCH FROM %(expressions)s)::bigint"
    output_field = BigIntegerField()


def to_epoch(moment: datetime) -> int:
    if timezone.is_naive(moment):
        raise InvalidWindow(_("Times must carry a time zone."))
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


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
    now = now or timezone.now()
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise InvalidWindow(_("Times must carry a time zone."))
    if end <= start:
        raise InvalidWindow(_("The end of the period must be after its start."))
    if end <= now:
        raise InvalidWindow(_("Those dates are in the past."))
    tz = appointment_type.tenant.zone
    notice = appointment_type.min_notice_minutes * 60 if apply_notice else 0
    earliest = max(to_epoch(start), to_epoch(now) + notice)
    latest = min(to_epoch(end) - 1, to_epoch(now + timedelta(days=appointment_type.horizon_days)))
    if latest < earliest:
        return []

    first_day = from_epoch(earliest).astimezone(tz).date()
    last_day = from_epoch(latest).astimezone(tz).date()
    rules = engine.SlotRules(
        duration=appointment_type.duration_minutes * 60,
        buffer_before=appointment_type.buffer_before_minutes * 60,
        buffer_after=appointment_type.buffer_after_minutes * 60,
        earliest_start=earliest,
        latest_start=latest,
        grid=wallclock.slot_grid(first_day, last_day, tz, appointment_type.granularity_minutes),
    )
    # Busy time can reach into the window from a little before or after it.
    reach = (
        earliest - rules.duration - rules.buffer_after - DAY,
        latest + rules.duration + rules.buffer_before + DAY,
    )

    officer_seats, resource_seats, officers, resources = _seats(appointment_type, officer_ids)
    calendars = _calendars(
        appointment_type,
        officers,
        resources,
        first_day,
        last_day,
        tz,
        reach,
        now,
        ignore_booking_ids=ignore_booking_ids,
        displace_below=displace_below,
    )
    requirements = [frozenset(("officer", o) for o in seat) for seat in officer_seats] + [
        frozenset(("resource", r) for r in seat) for seat in resource_seats
    ]
    found = engine.find_slots(rules, calendars, requirements)

    n_officer_seats = len(officer_seats)
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
        slots = _with_group_sessions(appointment_type, slots, earliest, latest, now, ignore_booking_ids)
    return slots


def session_key_for(appointment_type: AppointmentType, start: datetime) -> str:
    """All customers of one group session share this key (type and start)."""
    return f"{appointment_type.pk}@{to_epoch(start)}"


def _seats(
    appointment_type: AppointmentType, restrict_to: Collection[int] | None
) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]], list[int], list[int]]:
    """The staffing and resource seats, each as the ids eligible for it (two or three queries)."""
    staffing = list(appointment_type.staffing.values_list("skill_id", "count"))
    needs = list(appointment_type.resource_needs.values_list("kind", "count"))

    officer_rows = Officer.skills.through.objects.filter(
        officer__tenant_id=appointment_type.tenant_id, officer__is_active=True
    ).values_list("officer_id", "skill_id")
    skills_of: dict[int, set[int]] = defaultdict(set)
    for officer_id, skill_id in officer_rows:
        skills_of[officer_id].add(skill_id)
    if any(skill_id is None for skill_id, _count in staffing) or not staffing:
        # "Any officer" seats need officers without skills too.
        for officer_id in Officer.objects.active().values_list("pk", flat=True):
            skills_of.setdefault(officer_id, set())
    pool = sorted(skills_of)
    if appointment_type.allocation_strategy == AllocationStrategy.NAMED_OFFICER:
        pool = [o for o in pool if o == appointment_type.named_officer_id]
    if restrict_to is not None:
        allowed = set(restrict_to)
        pool = [o for o in pool if o in allowed]

    officer_seats: list[tuple[int, ...]] = []
    for skill_id, count in staffing or [(None, 1)]:
        eligible = tuple(o for o in pool if skill_id is None or skill_id in skills_of[o])
        officer_seats.extend([eligible] * count)

    resource_seats: list[tuple[int, ...]] = []
    resources: list[int] = []
    if needs:
        by_kind: dict[str, list[int]] = defaultdict(list)
        kinds = {kind for kind, _count in needs}
        rows = Resource.objects.filter(is_active=True, kind__in=kinds).values_list("pk", "kind")
        for resource_id, kind in rows:
            by_kind[kind].append(resource_id)
        for kind, count in needs:
            resource_seats.extend([tuple(sorted(by_kind[kind]))] * count)
        resources = sorted({r for ids in by_kind.values() for r in ids})
    officers = sorted({o for seat in officer_seats for o in seat})
    return officer_seats, resource_seats, officers, resources


def _calendars(
    appointment_type: AppointmentType,
    officers: list[int],
    resources: list[int],
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    reach: Interval,
    now: datetime,
    *,
    ignore_booking_ids: Collection[int],
    displace_below: int | None,
) -> list[engine.Calendar]:
    if not officers and not resources:
        return []
    keys: list[Hashable] = [("officer", o) for o in officers] + [("resource", r) for r in resources]
    window_start, window_end = from_epoch(reach[0]), from_epoch(reach[1])

    open_time = _working_time(officers, resources, first_day, last_day, tz)
    closed: dict[Hashable, list[Interval]] = defaultdict(list)
    busy: dict[Hashable, list[Interval]] = defaultdict(list)

    absences = Absence.objects.overlapping(window_start, window_end).filter(
        Q(officer_id__in=officers) | Q(resource_id__in=resources)
    )
    for officer_id, resource_id, starts_at, ends_at in absences.values_list(
        "officer_id", "resource_id", "starts_at", "ends_at"
    ):
        key = ("officer", officer_id) if officer_id else ("resource", resource_id)
        closed[key].append((to_epoch(starts_at), to_epoch(ends_at)))

    holiday_dates = Holiday.objects.filter(date__gte=first_day, date__lte=last_day).values_list(
        "date", flat=True
    )
    holidays = [wallclock.whole_days(day, day, tz) for day in holiday_dates]
    for officer_id, span in _blocked_by_service_blocks(appointment_type, officers, first_day, last_day, tz):
        closed[("officer", officer_id)].append(span)

    for officer_id, starts_at, ends_at in (
        ExternalBusy.objects.overlapping(window_start, window_end)
        .filter(officer_id__in=officers)
        .values_list("officer_id", "starts_at", "ends_at")
    ):
        busy[("officer", officer_id)].append((to_epoch(starts_at), to_epoch(ends_at)))

    booked = _booked(officers, resources, window_start, window_end, now, ignore_booking_ids, displace_below)
    for key, span in booked:
        busy[key].append(span)

    calendars = []
    for key in keys:
        open_intervals = subtract(open_time.get(key, []), normalise([*closed[key], *holidays]))
        if open_intervals:
            calendars.append(engine.Calendar(key=key, open=open_intervals, busy=normalise(busy[key])))
    return calendars


def _working_time(
    officers: list[int], resources: list[int], first_day: date, last_day: date, tz: ZoneInfo
) -> dict[Hashable, list[Interval]]:
    """Each calendar's weekly patterns expanded over the dates (one query; shared patterns expanded once)."""
    rows = (
        WorkingInterval.objects.filter(
            Q(pattern__officer_id__in=officers) | Q(pattern__resource_id__in=resources),
            pattern__valid_from__lte=last_day,
        )
        .filter(Q(pattern__valid_until__isnull=True) | Q(pattern__valid_until__gte=first_day))
        .values_list(
            "pattern__officer_id",
            "pattern__resource_id",
            "weekday",
            "start",
            "end",
            "pattern__valid_from",
            "pattern__valid_until",
        )
    )
    rules: dict[Hashable, list[wallclock.WeeklyRule]] = defaultdict(list)
    for officer_id, resource_id, weekday, start, end, valid_from, valid_until in rows:
        key = ("officer", officer_id) if officer_id else ("resource", resource_id)
        rules[key].append(wallclock.WeeklyRule(weekday, start, end, valid_from, valid_until))
    expanded: dict[tuple[wallclock.WeeklyRule, ...], list[Interval]] = {}
    result: dict[Hashable, list[Interval]] = {}
    for key, key_rules in rules.items():
        signature = tuple(sorted(key_rules, key=lambda r: (r.weekday, r.start, r.end, str(r.valid_from))))
        if signature not in expanded:
            expanded[signature] = wallclock.weekly_intervals(signature, first_day, last_day, tz)
        result[key] = expanded[signature]
    return result


def _blocked_by_service_blocks(
    appointment_type: AppointmentType, officers: list[int], first_day: date, last_day: date, tz: ZoneInfo
) -> Iterable[tuple[int, Interval]]:
    """Windows reserved for other types, per officer they cover (three queries)."""
    blocks = list(
        ServiceBlock.objects.filter(is_active=True)
        .exclude(appointment_types=appointment_type)
        .only("pk", "start", "end", "recurrence")
    )
    if not blocks:
        return
    covered: dict[int, list[int]] = defaultdict(list)
    for block_id, officer_id in ServiceBlock.officers.through.objects.filter(
        serviceblock_id__in=[b.pk for b in blocks]
    ).values_list("serviceblock_id", "officer_id"):
        covered[block_id].append(officer_id)
    after = datetime.combine(first_day, datetime.min.time())
    before = datetime.combine(last_day, datetime.max.time())
    for block in blocks:
        # Rules are in wall-clock terms; a rule without its own start date repeats from the window's start.
        dtstart = block.recurrence.dtstart or after
        spans = [
            span
            for occurrence in block.recurrence.between(after, before, inc=True, dtstart=dtstart)
            if (span := wallclock.local_span_to_interval(occurrence.date(), block.start, block.end, tz))
        ]
        for officer_id in covered.get(block.pk) or officers:
            for span in spans:
                yield officer_id, span


def _booked(
    officers: list[int],
    resources: list[int],
    window_start: datetime,
    window_end: datetime,
    now: datetime,
    ignore_booking_ids: Collection[int],
    displace_below: int | None,
) -> Iterable[tuple[Hashable, Interval]]:
    """Occupied ranges of active assignments; lapsed holds are free even before the sweeper expires them."""
    from bookings.models import BookingAssignment, BookingStatus

    rows = BookingAssignment.objects.filter(
        Q(officer_id__in=officers) | Q(resource_id__in=resources),
        is_active=True,
        occupied__overlap=(window_start, window_end),
    ).filter(Q(booking__status=BookingStatus.CONFIRMED) | Q(booking__hold_expires_at__gt=now))
    if ignore_booking_ids:
        rows = rows.exclude(booking_id__in=ignore_booking_ids)
    if displace_below is not None:
        rows = rows.filter(booking__priority__gte=displace_below)
    # Epoch seconds straight from PostgreSQL: parsing thousands of ranges in Python costs more than the query.
    rows = rows.annotate(
        lo=EpochSeconds(Func("occupied", function="lower")),
        hi=EpochSeconds(Func("occupied", function="upper")),
    )
    for officer_id, resource_id, lo, hi in rows.values_list("officer_id", "resource_id", "lo", "hi"):
        key = ("officer", officer_id) if officer_id else ("resource", resource_id)
        yield key, (lo, hi)


def _with_group_sessions(
    appointment_type: AppointmentType,
    slots: list[AvailableSlot],
    earliest: int,
    latest: int,
    now: datetime,
    ignore_booking_ids: Collection[int],
) -> list[AvailableSlot]:
    """Offers seats in existing sessions; a start that already has a session is never a second session."""
    from bookings.models import ACTIVE_STATUSES, Booking, BookingAssignment, BookingStatus

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
