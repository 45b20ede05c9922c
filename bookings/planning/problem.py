"""The allocation question, read from the database: officers' working days as vehicles, the diary's
appointments as fixed stops, the inspection visits as stops to place.

Times in the `Problem` are seconds from `Allocation.origin` (the local midnight starting the first day).
A visit's stop covers the appointment type's buffers around it, so the booking starts `lead` seconds after
the stop does. Vehicles:

- each officer-day's open time is the type's supply (`supply_read`: working patterns minus absences,
  holidays and other types' service blocks, and busy time from external calendars), united over the types
  of the visits asked about; the shift runs from the day's first open minute to its last, and the gaps
  between are breaks. Time before `now` is not open.
- an existing appointment with a place is a stop pinned to its officer at its own time (the officer travels
  to it); one without a place (office, phone), or one that does not fit the day cleanly, is a break. When
  the day's first such stop is too far from the start point to reach by the shift's start (or the last too
  far from the end point to be back by its end), the officer leaves earlier (comes back later) for it: the
  shift grows by the drive, as a break, so that no visit is served outside working time while the solver
  can still keep the appointment on the route instead of leaving it out.
- the day starts and ends at the pattern's or the officer's home base; without one, at a place with no
  travel to or from anywhere.

Stops need skills named ("type", type id) (the officer may take that type: its staffing skills, its named
officer) and ("skill", skill id) for the visit's own skill.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.utils.translation import gettext as _

from accounts.models import OfficerSkill, Tenant
from bookings.models import BookingAssignment, InspectionVisit
from scheduling.availability import wallclock
from scheduling.availability.intervals import Interval, intersect, normalise, subtract
from scheduling.availability.supply import from_epoch, supply_read, to_epoch
from scheduling.locations import travel_table
from scheduling.models import AppointmentType, Priority
from scheduling.routing.problem import Point, Problem, Stop, Vehicle
from scheduling.selectors import officer_day_bases

# What leaving a visit out costs, in metres of driving the solver would rather do than leave it out.
PRIZE_METRES = 60_000
URGENCY = {"overdue": 6, "due": 3, "later": 1}  # due before the plan's last day, or later
PRIORITY_WEIGHT = {Priority.LOW: 1, Priority.NORMAL: 2, Priority.HIGH: 4, Priority.URGENT: 8}
# Workload balance: weight of a day longer than the average (see scheduling.routing.solver).
BALANCE = 1.0


@dataclass(frozen=True)
class Allocation:
    problem: Problem
    origin: int  # epoch seconds of time 0 in the problem
    tz: ZoneInfo
    visits: dict[int, InspectionVisit]  # by id, those in the problem
    lead: dict[int, int]  # visit id -> seconds from the start of its stop to the booking's start
    grid: dict[int, int]  # visit id -> its type's slot granularity, seconds
    left_out: dict[int, str] = field(default_factory=dict)  # visit id -> why it is not in the problem
    bookings: dict[int, str] = field(default_factory=dict)  # assignment id -> booking reference

    def moment(self, seconds: int) -> datetime:
        return from_epoch(self.origin + seconds)

    def seconds(self, moment: datetime) -> int:
        return to_epoch(moment) - self.origin

    def day_of(self, vehicle: Vehicle) -> date:
        return vehicle.key[1]  # type: ignore[index,no-any-return]

    def snap(self, stop: Stop, seconds: int) -> int:
        """The first start of `stop` at or after `seconds` whose booking starts on its type's grid."""
        if stop.key[0] != "visit":  # type: ignore[index]
            return seconds
        visit_id: int = stop.key[1]  # type: ignore[index]
        lead, grid = self.lead[visit_id], self.grid[visit_id]
        local = datetime.fromtimestamp(self.origin + seconds + lead, UTC).astimezone(self.tz)
        into_day = local.hour * 3600 + local.minute * 60 + local.second + (1 if local.microsecond else 0)
        up = -into_day % grid
        snapped = (local + timedelta(seconds=up)).replace(microsecond=0)
        # Wall-clock arithmetic: a clock change within the step lands on the grid of the new offset.
        return to_epoch(snapped.astimezone(UTC)) - self.origin - lead


def visit_key(visit_id: int) -> tuple[str, int]:
    return ("visit", visit_id)


def allocation_problem(
    *,
    tenant: Tenant,
    first: date,
    last: date,
    visits: Sequence[InspectionVisit],
    officer_ids: Collection[int],
    now: datetime,
    fixed_starts: dict[int, datetime] | None = None,
) -> Allocation:
    """The allocation of `visits` to `officer_ids` over the local days `first`..`last`.

    `fixed_starts` (visit id -> booking start) pins those visits' windows to that moment, for checking a
    day a scheduler has arranged by hand. A fixed number of queries per appointment type of the visits.
    """
    tz = tenant.zone
    origin = wallclock.whole_days(first, first, tz)[0]
    fixed_starts = fixed_starts or {}
    left_out: dict[int, str] = {}
    types: dict[int, AppointmentType] = {}
    for visit in visits:
        types.setdefault(visit.appointment_type_id, visit.appointment_type)
    officers = sorted(set(officer_ids))

    # Open time per officer, and who may take each type.
    open_time: dict[int, list[Interval]] = defaultdict(list)
    busy: dict[int, list[Interval]] = defaultdict(list)
    takes: dict[int, set[Hashable]] = defaultdict(set)
    single = {}
    for type_id, kind in types.items():
        kind.tenant = tenant
        supply = supply_read(kind, first, last, officer_ids=officers)
        single[type_id] = len(supply.officer_seats) == 1 and not supply.resource_seats
        if not single[type_id]:
            continue
        for officer_id in supply.officers:
            takes[officer_id].add(("type", type_id))
            open_time[officer_id] = normalise(
                [*open_time[officer_id], *supply.open.get(("officer", officer_id), [])]
            )
            busy[officer_id].extend(supply.external_busy.get(("officer", officer_id), []))
    for officer_id, skill_id in OfficerSkill.objects.filter(officer_id__in=list(takes)).values_list(
        "officer_id", "skill_id"
    ):
        takes[officer_id].add(("skill", skill_id))

    points: dict[Point, int] = {}

    def point_of(point: Point | None) -> int:
        if point is None:
            return -1  # nowhere: no travel to or from it (renumbered below)
        return points.setdefault(point, len(points))

    # Existing appointments: a place makes a pinned stop, otherwise busy time.
    span = wallclock.whole_days(first, last, tz)
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    bases = officer_day_bases(list(takes), first, last)
    appointments: dict[tuple[int, date], list[tuple[int, Interval, Point | None, str]]] = defaultdict(list)
    rows = BookingAssignment.objects.filter(
        is_active=True,
        officer_id__in=list(takes),
        occupied__overlap=(from_epoch(span[0]), from_epoch(span[1])),
    ).values_list(
        "pk", "officer_id", "occupied", "booking__latitude", "booking__longitude", "booking__reference"
    )
    for pk, officer_id, occupied, latitude, longitude, reference in rows:
        interval = (to_epoch(occupied.lower), to_epoch(occupied.upper))
        day = occupied.lower.astimezone(tz).date()
        point = Point(latitude, longitude) if latitude is not None and longitude is not None else None
        appointments[(officer_id, day)].append((pk, interval, point, reference))

    vehicles: list[Vehicle] = []
    stops: list[Stop] = []
    bookings: dict[int, str] = {}
    not_before = to_epoch(now) + 60
    for officer_id in sorted(takes):
        for day in days:
            lo, hi = wallclock.whole_days(day, day, tz)
            day_open = subtract(
                intersect(open_time[officer_id], [(max(lo, not_before), hi)]), normalise(busy[officer_id])
            )
            if not day_open:
                continue
            shift = (day_open[0][0], day_open[-1][1])
            taken = sorted(appointments.get((officer_id, day), []), key=lambda a: a[1])
            gaps = subtract([shift], day_open)
            pinned, blocked = [], list(gaps)
            for pk, interval, point, reference in taken:
                others = [t[1] for t in taken if t[0] != pk] + gaps
                clean = (
                    point is not None
                    and shift[0] <= interval[0]
                    and interval[1] <= shift[1]
                    and not any(interval[0] < b and a < interval[1] for a, b in others)
                )
                if clean:
                    pinned.append((pk, interval, point, reference))
                else:
                    blocked.append(interval)
            breaks = [b for b in normalise(blocked) if b[0] < shift[1] and shift[0] < b[1]]
            where = bases.get((officer_id, day))
            vehicles.append(
                Vehicle(
                    key=(officer_id, day),
                    officer=officer_id,
                    start=point_of(where.start.point if where and where.start else None),
                    end=point_of(where.end.point if where and where.end else None),
                    shift=(shift[0] - origin, shift[1] - origin),
                    breaks=tuple((a - origin, b - origin) for a, b in breaks),
                    skills=frozenset(takes[officer_id]),
                )
            )
            for pk, interval, point, reference in pinned:
                bookings[pk] = reference
                stops.append(
                    Stop(
                        key=("booking", pk),
                        point=point_of(point),
                        duration=interval[1] - interval[0],
                        windows=((interval[0] - origin, interval[0] - origin),),
                        officer=officer_id,
                    )
                )

    placed: dict[int, InspectionVisit] = {}
    lead: dict[int, int] = {}
    grid: dict[int, int] = {}
    today = now.astimezone(tz).date()
    for visit in visits:
        kind = types[visit.appointment_type_id]
        if not single[kind.pk]:
            left_out[visit.pk] = _("Its appointment type needs more than one officer or a resource.")
            continue
        before, after = kind.buffer_before_minutes * 60, kind.buffer_after_minutes * 60
        length = max(visit.duration_minutes, kind.duration_minutes) * 60
        windows = _windows(visit, kind, first, last, today, tz, fixed_starts.get(visit.pk))
        if not windows:
            left_out[visit.pk] = _("It cannot be done on these days.")
            continue
        placed[visit.pk] = visit
        lead[visit.pk], grid[visit.pk] = before, kind.granularity_minutes * 60
        skills = {("type", kind.pk)} | ({("skill", visit.skill_id)} if visit.skill_id else set())
        stops.append(
            Stop(
                key=visit_key(visit.pk),
                point=point_of(Point(visit.latitude, visit.longitude)),
                duration=before + length + after,
                windows=tuple((a - before - origin, b - before - origin) for a, b in windows),
                skills=frozenset(skills),
                prize=_prize(visit, first, last),
            )
        )

    problem = _reaching_the_diary(_with_travel(list(points), vehicles, stops))
    return Allocation(
        problem=problem,
        origin=origin,
        tz=tz,
        visits=placed,
        lead=lead,
        grid=grid,
        left_out=left_out,
        bookings=bookings,
    )


def _windows(
    visit: InspectionVisit,
    kind: AppointmentType,
    first: date,
    last: date,
    today: date,
    tz: ZoneInfo,
    fixed: datetime | None,
) -> list[Interval]:
    """Epoch intervals in which the visit's booking may start."""
    length = max(visit.duration_minutes, kind.duration_minutes) * 60
    if fixed is not None:
        return [(to_epoch(fixed), to_epoch(fixed))]
    since = max(first, today, visit.not_before or first)
    # An overdue visit may be done any day of the plan (the sooner the better, by its prize).
    until = min(last, visit.due_by) if visit.due_by >= since else last
    if until < since:
        return []
    if visit.window_start is None and visit.window_end is None:
        lo, hi = wallclock.whole_days(since, until, tz)
        return [(lo, hi - length)]
    windows = []
    day = since
    while day <= until:
        span = wallclock.local_span_to_interval(
            day, visit.window_start or time(0), visit.window_end or time(23, 59), tz
        )
        if span and span[1] - span[0] >= length:
            windows.append((span[0], span[1] - length))
        day += timedelta(days=1)
    return windows


def _prize(visit: InspectionVisit, first: date, last: date) -> int:
    urgency = "overdue" if visit.due_by < first else "due" if visit.due_by <= last else "later"
    weight = PRIORITY_WEIGHT.get(visit.priority, 2)  # type: ignore[call-overload]
    return PRIZE_METRES * weight * URGENCY[urgency]


def _reaching_the_diary(problem: Problem) -> Problem:
    """Each vehicle's shift grown, as breaks, by the drive to a first pinned stop it could not reach by the
    shift's start and from a last one it could not leave in time to be back by the shift's end."""
    vehicles = []
    for vehicle in problem.vehicles:
        own = sorted(
            (s for s in problem.stops if s.officer is not None and s.officer == vehicle.officer),
            key=lambda s: s.windows[0][0],
        )
        own = [s for s in own if vehicle.shift[0] <= s.windows[0][0] <= vehicle.shift[1] - s.duration]
        shift, extra = vehicle.shift, []
        if own:
            first, last = own[0], own[-1]
            leave = first.windows[0][0] - problem.durations[vehicle.start][first.point]
            back = last.windows[0][0] + last.duration + problem.durations[last.point][vehicle.end]
            if leave < shift[0]:
                extra.append((leave, shift[0]))
            if back > shift[1]:
                extra.append((shift[1], back))
            shift = (min(shift[0], leave), max(shift[1], back))
        vehicles.append(replace(vehicle, shift=shift, breaks=tuple(sorted([*vehicle.breaks, *extra]))))
    return replace(problem, vehicles=tuple(vehicles))


def _with_travel(real: list[Point], vehicles: list[Vehicle], stops: list[Stop]) -> Problem:
    """The problem with its matrices; "nowhere" (index -1 so far) becomes one more point with no travel."""
    seconds, metres = travel_table(real) if real else ([], [])
    nowhere = len(real)
    uses_nowhere = any(v.start < 0 or v.end < 0 for v in vehicles) or any(s.point < 0 for s in stops)
    points = list(real)
    if uses_nowhere:
        points.append(real[0] if real else Point(0.0, 0.0))
        seconds = [[*row, 0] for row in seconds] + [[0] * (nowhere + 1)]
        metres = [[*row, 0] for row in metres] + [[0] * (nowhere + 1)]

    def fix(index: int) -> int:
        return nowhere if index < 0 else index

    return Problem(
        points=tuple(points),
        durations=tuple(tuple(row) for row in seconds),
        distances=tuple(tuple(row) for row in metres),
        vehicles=tuple(replace(v, start=fix(v.start), end=fix(v.end)) for v in vehicles),
        stops=tuple(replace(s, point=fix(s.point)) for s in stops),
        balance=BALANCE,
    )
