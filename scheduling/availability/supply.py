"""The supply side of availability: who and what could take an appointment type, and when they are open.

`supply_for` reads it in a fixed number of queries (whatever the number of officers, patterns or days) and
returns plain data: seats as tuples of ids, open time and external busy time as epoch-second intervals per
calendar key. It knows nothing of bookings; `bookings.availability` adds the booked time and asks the pure
engine for slots.

What it returns depends only on the tenant's configuration, the type and the local days asked about, so it
is cached (SUPPLY_CACHE_SECONDS) under the tenant's `supply_version`, which every change to that
configuration raises in its own transaction (scheduling.services.supply_version_bump): once a change
commits, nobody reads the open time from before it. A transaction that has itself changed the
configuration reads it fresh. Without the cache (Redis down) it is read fresh too.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from collections.abc import Collection, Hashable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, OfficerSkill
from config.cache import read_through
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
    ServiceBlockOfficer,
    WorkingInterval,
    WorkingPattern,
)
from scheduling.services import supply_version

DAY = 86400


CalendarKey = Hashable  # ("officer", id) or ("resource", id)


@dataclass(frozen=True)
class Window:
    """The starts a request may have, after notice and horizon, as the engine's rules."""

    rules: engine.SlotRules
    first_day: date
    last_day: date
    reach: Interval  # busy time can reach into the window from a little before or after it
    notice: int  # seconds of minimum notice applied: the earliest start is now plus this
    horizon_cut: bool  # the booking horizon, not the end asked for, set the latest start


@dataclass(frozen=True)
class Supply:
    """Seats (each the ids eligible for it) and each open calendar's open and externally busy time."""

    officer_seats: list[tuple[int, ...]]
    resource_seats: list[tuple[int, ...]]
    officers: list[int]
    resources: list[int]
    open: dict[CalendarKey, list[Interval]]
    external_busy: dict[CalendarKey, list[Interval]]

    @property
    def requirements(self) -> list[frozenset[CalendarKey]]:
        return [frozenset(("officer", o) for o in seat) for seat in self.officer_seats] + [
            frozenset(("resource", r) for r in seat) for seat in self.resource_seats
        ]


def to_epoch(moment: datetime) -> int:
    if timezone.is_naive(moment):
        raise InvalidWindow(_("Times must carry a time zone."))
    return int(moment.timestamp())


def from_epoch(seconds: int) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def booking_window(
    appointment_type: AppointmentType,
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    apply_notice: bool = True,
) -> Window | None:
    """The part of [start, end) the type may be booked in (notice, horizon); None when nothing is left.

    Raises InvalidWindow for naive times, an end before the start, or a period wholly in the past.
    """
    if timezone.is_naive(start) or timezone.is_naive(end):
        raise InvalidWindow(_("Times must carry a time zone."))
    if end <= start:
        raise InvalidWindow(_("The end of the period must be after its start."))
    if end <= now:
        raise InvalidWindow(_("Those dates are in the past."))
    tz = appointment_type.tenant.zone
    notice = appointment_type.min_notice_minutes * 60 if apply_notice else 0
    earliest = max(to_epoch(start), to_epoch(now) + notice)
    horizon = to_epoch(now + timedelta(days=appointment_type.horizon_days))
    latest = min(to_epoch(end) - 1, horizon)
    if latest < earliest:
        return None
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
    reach = (
        earliest - rules.duration - rules.buffer_after - DAY,
        latest + rules.duration + rules.buffer_before + DAY,
    )
    return Window(
        rules=rules,
        first_day=first_day,
        last_day=last_day,
        reach=reach,
        notice=notice,
        horizon_cut=horizon < to_epoch(end) - 1,
    )


def supply_for(
    appointment_type: AppointmentType, window: Window, *, officer_ids: Collection[int] | None = None
) -> Supply:
    """Seats and open calendars for the type over the window's local days (working patterns minus
    absences, holidays and other types' service blocks), with busy time imported from external calendars.
    From the cache when the tenant's configuration has not changed since it was read (see above)."""
    # Whole local weeks, so that nearby windows (a hold asks about one day; the portal about one week) share
    # one entry: more days cost the engine little, a cold read costs ten queries.
    first_day = window.first_day - timedelta(days=window.first_day.weekday())
    last_day = window.last_day + timedelta(days=6 - window.last_day.weekday())
    version = supply_version(appointment_type.tenant)
    if version is None:
        return supply_read(appointment_type, first_day, last_day, officer_ids=officer_ids)
    restricted = "all" if officer_ids is None else ",".join(str(o) for o in sorted(set(officer_ids)))
    key = ":".join(
        [
            "supply",
            str(appointment_type.tenant_id),
            str(version),
            str(appointment_type.pk),
            first_day.isoformat(),
            last_day.isoformat(),
            hashlib.sha256(restricted.encode()).hexdigest()[:16],
        ]
    )
    return read_through(
        key,
        lambda: supply_read(appointment_type, first_day, last_day, officer_ids=officer_ids),
        settings.SUPPLY_CACHE_SECONDS,
        what="open-time",
    )


def supply_read(
    appointment_type: AppointmentType,
    first_day: date,
    last_day: date,
    *,
    officer_ids: Collection[int] | None = None,
) -> Supply:
    """`supply_for` from the database, over whole local days."""
    officer_seats, resource_seats, officers, resources = _seats(appointment_type, officer_ids)
    open_time: dict[CalendarKey, list[Interval]] = {}
    external: dict[CalendarKey, list[Interval]] = defaultdict(list)
    if officers or resources:
        tz = appointment_type.tenant.zone
        # Closed and busy time can reach into the days from a little before or after them.
        span = (
            appointment_type.duration_minutes
            + appointment_type.buffer_before_minutes
            + appointment_type.buffer_after_minutes
        )
        margin = timedelta(days=1 + math.ceil(span * 60 / DAY))
        reach = wallclock.whole_days(first_day - margin, last_day + margin, tz)
        window_start, window_end = from_epoch(reach[0]), from_epoch(reach[1])
        worked = _working_time(officers, resources, first_day, last_day, tz)
        closed = _closed_time(
            appointment_type, officers, resources, first_day, last_day, tz, window_start, window_end
        )
        keys = [("officer", o) for o in officers] + [("resource", r) for r in resources]
        for key in keys:
            open_intervals = subtract(worked.get(key, []), closed[key])
            if open_intervals:
                open_time[key] = open_intervals
        for officer_id, starts_at, ends_at in (
            ExternalBusy.objects.overlapping(window_start, window_end)
            .filter(officer_id__in=officers)
            .values_list("officer_id", "starts_at", "ends_at")
        ):
            external[("officer", officer_id)].append((to_epoch(starts_at), to_epoch(ends_at)))
    return Supply(
        officer_seats=officer_seats,
        resource_seats=resource_seats,
        officers=officers,
        resources=resources,
        open=open_time,
        external_busy=dict(external),
    )


def _seats(
    appointment_type: AppointmentType, restrict_to: Collection[int] | None
) -> tuple[list[tuple[int, ...]], list[tuple[int, ...]], list[int], list[int]]:
    """The staffing and resource seats, each as the ids eligible for it (two or three queries)."""
    staffing = list(appointment_type.staffing.values_list("skill_id", "count"))
    needs = list(appointment_type.resource_needs.values_list("kind", "count"))

    officer_rows = OfficerSkill.objects.filter(
        tenant_id=appointment_type.tenant_id, officer__is_active=True
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


def _closed_time(
    appointment_type: AppointmentType,
    officers: list[int],
    resources: list[int],
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    window_start: datetime,
    window_end: datetime,
) -> dict[CalendarKey, list[Interval]]:
    """Absences, holidays and other types' service blocks, normalised per calendar."""
    closed: dict[CalendarKey, list[Interval]] = defaultdict(list)
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
    keys = [("officer", o) for o in officers] + [("resource", r) for r in resources]
    return defaultdict(list, {key: normalise([*closed[key], *holidays]) for key in keys})


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
    for block_id, officer_id in ServiceBlockOfficer.objects.filter(
        service_block_id__in=[b.pk for b in blocks]
    ).values_list("service_block_id", "officer_id"):
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


def open_minutes_by_day(
    *,
    first_day: date,
    last_day: date,
    tz: ZoneInfo,
    officers: Collection[int] | None = None,
    resources: Collection[int] | None = None,
) -> dict[CalendarKey, dict[date, int]]:
    """The active tenant's offered time: each calendar's working patterns minus its absences and the public
    holidays, in minutes per local day of first_day..last_day (a day of a clock change has 23 or 25 hours;
    time crossing a local midnight counts on both sides). Service blocks are not taken off: they reserve
    time for some types, which is still offered. Days (and calendars) without open time are left out.

    `officers` and `resources` are ids; None means every active one with a working pattern in the dates.
    Four queries at most, whatever the number of calendars or days.
    """
    if last_day < first_day:
        return {}
    if officers is None or resources is None:
        with_patterns = (
            WorkingPattern.objects.effective_between(first_day, last_day)
            .filter(Q(officer__is_active=True) | Q(resource__is_active=True))
            .values_list("officer_id", "resource_id")
        )
        patterned = list(with_patterns)
        if officers is None:
            officers = {o for o, _r in patterned if o is not None}
        if resources is None:
            resources = {r for _o, r in patterned if r is not None}
    officer_ids, resource_ids = sorted(set(officers)), sorted(set(resources))
    if not officer_ids and not resource_ids:
        return {}
    span = wallclock.whole_days(first_day, last_day, tz)
    worked = _working_time(officer_ids, resource_ids, first_day, last_day, tz)
    closed: dict[CalendarKey, list[Interval]] = defaultdict(list)
    absences = Absence.objects.overlapping(from_epoch(span[0]), from_epoch(span[1])).filter(
        Q(officer_id__in=officer_ids) | Q(resource_id__in=resource_ids)
    )
    for officer_id, resource_id, starts_at, ends_at in absences.values_list(
        "officer_id", "resource_id", "starts_at", "ends_at"
    ):
        key = ("officer", officer_id) if officer_id else ("resource", resource_id)
        closed[key].append((to_epoch(starts_at), to_epoch(ends_at)))
    holidays = [
        wallclock.whole_days(day, day, tz)
        for day in Holiday.objects.filter(date__gte=first_day, date__lte=last_day).values_list(
            "date", flat=True
        )
    ]
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    # Local midnights: day n runs from midnights[n] to midnights[n + 1].
    midnights = [wallclock.whole_days(day, day, tz)[0] for day in days] + [span[1]]
    result: dict[CalendarKey, dict[date, int]] = {}
    for key, intervals in worked.items():
        open_intervals = subtract(intervals, normalise([*closed[key], *holidays]))
        seconds = _seconds_by_day(open_intervals, midnights)
        minutes = {days[n]: total // 60 for n, total in seconds.items() if total >= 60}
        if minutes:
            result[key] = minutes
    return result


def _seconds_by_day(intervals: list[Interval], midnights: list[int]) -> dict[int, int]:
    """Seconds of normalised intervals falling in each day (index into the ascending `midnights`, day n being
    [midnights[n], midnights[n + 1])); time outside them is ignored. One merge pass."""
    totals: dict[int, int] = defaultdict(int)
    last = len(midnights) - 1
    n = 0
    for start, end in intervals:
        while n < last and midnights[n + 1] <= start:
            n += 1
        day = n
        while day < last and midnights[day] < end:
            piece = min(end, midnights[day + 1]) - max(start, midnights[day])
            if piece > 0:
                totals[day] += piece
            day += 1
    return totals
