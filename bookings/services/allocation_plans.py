"""The inspection programme and its allocation: visits added and edited, plans made by the solver, adjusted by
a scheduler, then accepted (each planned visit booked through `booking_create`) or discarded.

A plan is a proposal: nothing in the diary changes until it is accepted. Accepting books visit by visit, each
in its own savepoint, so a time taken meanwhile fails that visit alone (it stays open, with the reason on the
planned visit) and the exclusion constraints keep the last word on double booking. A plan is accepted at most
once (its row is locked; a second submission finds it accepted and changes nothing), and refuses to be
accepted once stale: older than ALLOCATION_PLAN_STALE_MINUTES, or made before a change to one of its visits.
Every change writes an AllocationEvent in the same transaction.
"""

from __future__ import annotations

import logging
import time as clock
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, Tenant, User
from accounts.tenancy import same_tenant_check
from bookings.errors import BookingError
from bookings.models import (
    AllocationEvent,
    AllocationPlan,
    BookingAssignment,
    Channel,
    InspectionVisit,
    PlannedResult,
    PlannedVisit,
    PlanStatus,
    VisitStatus,
)
from bookings.planning.problem import Allocation, allocation_problem, visit_key
from bookings.planning.timing import fit, meets, on_grid
from scheduling.routing.problem import Point, Solution, Vehicle
from scheduling.routing.solver import solve

from .customers import customer_find_or_create
from .history import booking_event_record
from .lifecycle import booking_create

logger = logging.getLogger(__name__)


class PlanError(BookingError):
    """A plan cannot be made, changed or accepted as asked; nothing was changed."""


VISIT_FIELDS = [
    "premises",
    "address",
    "latitude",
    "longitude",
    "appointment_type",
    "skill",
    "duration_minutes",
    "not_before",
    "due_by",
    "window_start",
    "window_end",
    "priority",
    "notes",
    "contact_name",
    "contact_email",
    "contact_phone",
]


def _visit_snapshot(visit: InspectionVisit) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in VISIT_FIELDS:
        value = getattr(visit, f"{name}_id" if name in {"appointment_type", "skill"} else name)
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    out["status"] = visit.status
    return out


def _event(
    tenant_id: int,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    plan: AllocationPlan | None = None,
    visit: InspectionVisit | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
) -> None:
    AllocationEvent.objects.create(
        tenant_id=tenant_id,
        plan=plan,
        visit=visit,
        actor=actor,
        action=action,
        before=before or {},
        after=after or {},
        reason=reason[:500],
        created_at=now,
    )


# --- the programme --------------------------------------------------------------------------------------


@transaction.atomic
def visit_create(
    *, tenant: Tenant, actor: User | None, now: datetime | None = None, **fields: Any
) -> InspectionVisit:
    """Adds a visit to the programme (open, waiting for a plan). `fields` are the model's own."""
    now = now or timezone.now()
    same_tenant_check(tenant, fields.get("appointment_type"), fields.get("skill"))
    unknown = set(fields) - set(VISIT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown visit fields: {sorted(unknown)}")
    visit = InspectionVisit(tenant=tenant, created_at=now, updated_at=now, **fields)
    visit.full_clean(exclude=["tenant"])
    visit.save(force_insert=True)
    _event(tenant.pk, "visit_added", actor=actor, now=now, visit=visit, after=_visit_snapshot(visit))
    return visit


@transaction.atomic
def visit_update(
    *, visit: InspectionVisit, actor: User | None, now: datetime | None = None, **fields: Any
) -> InspectionVisit:
    """Changes an open visit; plans made before the change will refuse to be accepted."""
    now = now or timezone.now()
    visit = InspectionVisit.objects.select_for_update().get(pk=visit.pk)
    same_tenant_check(visit, fields.get("appointment_type"), fields.get("skill"))
    if visit.status != VisitStatus.OPEN:
        raise PlanError(_("Only an open visit can be changed; this one is booked or withdrawn."))
    unknown = set(fields) - set(VISIT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown visit fields: {sorted(unknown)}")
    before = _visit_snapshot(visit)
    for name, value in fields.items():
        setattr(visit, name, value)
    visit.updated_at = now
    visit.full_clean(exclude=["tenant"])
    visit.save()
    _event(
        visit.tenant_id,
        "visit_changed",
        actor=actor,
        now=now,
        visit=visit,
        before=before,
        after=_visit_snapshot(visit),
    )
    return visit


@transaction.atomic
def visit_withdraw(
    *, visit: InspectionVisit, actor: User | None, now: datetime | None = None
) -> InspectionVisit:
    """Takes an open visit out of the programme (its history stays)."""
    now = now or timezone.now()
    visit = InspectionVisit.objects.select_for_update().get(pk=visit.pk)
    if visit.status != VisitStatus.OPEN:
        raise PlanError(_("Only an open visit can be withdrawn."))
    before = _visit_snapshot(visit)
    visit.status = VisitStatus.WITHDRAWN
    visit.updated_at = now
    visit.save(update_fields=["status", "updated_at"])
    _event(visit.tenant_id, "visit_withdrawn", actor=actor, now=now, visit=visit, before=before)
    return visit


# --- plans --------------------------------------------------------------------------------------------------


def plan_days_check(tenant: Tenant, first_day: date, last_day: date, now: datetime) -> None:
    """Refuses days in the past, in the wrong order, or more of them than ALLOCATION_MAX_DAYS."""
    today = now.astimezone(tenant.zone).date()
    if first_day < today:
        raise PlanError(_("The first day is in the past. Choose today or a later day."))
    if last_day < first_day:
        raise PlanError(_("The last day must be on or after the first day."))
    if (last_day - first_day).days + 1 > settings.ALLOCATION_MAX_DAYS:
        raise PlanError(
            _("A plan covers at most %(days)d days. Choose a shorter period.")
            % {"days": settings.ALLOCATION_MAX_DAYS}
        )


def _plan_open(
    *, tenant: Tenant, first_day: date, last_day: date, actor: User | None, now: datetime
) -> AllocationPlan:
    same_tenant_check(tenant)
    plan_days_check(tenant, first_day, last_day, now)
    plan = AllocationPlan.objects.create(
        tenant=tenant,
        first_day=first_day,
        last_day=last_day,
        status=PlanStatus.PLANNING,
        created_by=actor,
        created_at=now,
    )
    _event(
        tenant.pk,
        "plan_requested",
        actor=actor,
        now=now,
        plan=plan,
        after={"first_day": first_day.isoformat(), "last_day": last_day.isoformat()},
    )
    return plan


@transaction.atomic
def plan_request(
    *, tenant: Tenant, first_day: date, last_day: date, actor: User | None, now: datetime | None = None
) -> AllocationPlan:
    """Checks the days (as `plan_days_check`) and stores a plan being planned; once this commits, enqueues
    `bookings.allocation_plan_compute`, which solves it on a worker (see `plan_compute`). The request that
    asks for a plan never waits for the solver."""
    now = now or timezone.now()
    plan = _plan_open(tenant=tenant, first_day=first_day, last_day=last_day, actor=actor, now=now)
    from bookings.tasks import allocation_plan_compute  # the tasks import the services

    task_kwargs = {"tenant_id": tenant.pk, "plan_id": plan.pk}
    transaction.on_commit(lambda: allocation_plan_compute.apply_async(kwargs=task_kwargs), robust=True)
    return plan


def plan_create(
    *,
    tenant: Tenant,
    first_day: date,
    last_day: date,
    actor: User | None,
    now: datetime | None = None,
    seconds: float | None = None,
) -> AllocationPlan:
    """`plan_request` and `plan_compute` in one go, without the worker (tests, benchmarks, the shell)."""
    now = now or timezone.now()
    with transaction.atomic():
        plan = _plan_open(tenant=tenant, first_day=first_day, last_day=last_day, actor=actor, now=now)
    return plan_compute(plan=plan, now=now, seconds=seconds)


def plan_compute(
    *, plan: AllocationPlan, now: datetime | None = None, seconds: float | None = None
) -> AllocationPlan:
    """Asks the solver to allocate the open visits that may be done in the plan's days (the most urgent
    ALLOCATION_MAX_VISITS of them) across the active officers, within ALLOCATION_SOLVER_SECONDS, and stores
    its proposal: the plan becomes a draft. Changes nothing in the diary.

    Only a plan being planned is computed, so running this twice solves once. The solver runs outside any
    transaction; the result is written under the plan's row lock. If it fails, the plan is marked failed
    with the reason, for the plan page to show."""
    now = now or timezone.now()
    same_tenant_check(plan)
    plan = AllocationPlan.objects.select_related("tenant").get(pk=plan.pk)
    if plan.status != PlanStatus.PLANNING:
        return plan
    try:
        return _plan_solve(plan, now, seconds)
    except Exception as error:
        logger.exception("Allocation plan %s could not be computed", plan.pk)
        with transaction.atomic():
            plan = AllocationPlan.objects.select_for_update().get(pk=plan.pk)
            if plan.status == PlanStatus.PLANNING:
                plan.status = PlanStatus.FAILED
                plan.error = str(error)[:500] or type(error).__name__
                plan.decided_at = now
                plan.save(update_fields=["status", "error", "decided_at"])
                _event(plan.tenant_id, "plan_failed", actor=None, now=now, plan=plan, reason=plan.error)
        return plan


def _plan_solve(plan: AllocationPlan, now: datetime, seconds: float | None) -> AllocationPlan:
    tenant, first_day, last_day = plan.tenant, plan.first_day, plan.last_day
    candidates = list(
        InspectionVisit.objects.open()
        .filter(appointment_type__is_active=True)
        .exclude(not_before__gt=last_day)
        .select_related("appointment_type")
        .order_by("due_by", "-priority", "pk")[: settings.ALLOCATION_MAX_VISITS + 1]
    )
    too_many = candidates[settings.ALLOCATION_MAX_VISITS :]
    visits = candidates[: settings.ALLOCATION_MAX_VISITS]
    officer_ids = list(Officer.objects.active().values_list("pk", flat=True))
    began = clock.perf_counter()
    allocation = allocation_problem(
        tenant=tenant, first=first_day, last=last_day, visits=visits, officer_ids=officer_ids, now=now
    )
    solution = solve(
        allocation.problem,
        seconds=settings.ALLOCATION_SOLVER_SECONDS if seconds is None else seconds,
    )
    rows, drives_home, dropped = _planned_rows(allocation, solution)
    left_out = dict(allocation.left_out)
    clashing = _over_the_diary(rows)
    for row in clashing:
        rows.remove(row)
        left_out[row.visit_id] = _("It would overlap an appointment already in the officer's diary.")
    for visit_id in dropped:
        left_out[visit_id] = _("It did not fit between the booking times once travel was added.")
    placed = {row.visit_id for row in rows}
    for key in solution.unassigned:
        if key[0] == "visit" and key[1] not in left_out and key[1] not in placed:  # type: ignore[index]
            left_out[key[1]] = _unassigned_reason(allocation, key)  # type: ignore[index]
    for visit in too_many:
        left_out[visit.pk] = _("More open visits than one plan takes; plan again after accepting this one.")
    elapsed = round(clock.perf_counter() - began, 3)
    with transaction.atomic():
        plan = AllocationPlan.objects.select_for_update().select_related("tenant").get(pk=plan.pk)
        if plan.status != PlanStatus.PLANNING:  # another run got here first
            return plan
        plan.status = PlanStatus.DRAFT
        plan.solver_seconds = elapsed
        plan.unassigned = len(left_out)
        plan.left_out = [[visit_id, reason] for visit_id, reason in sorted(left_out.items())]
        plan.drives_home = drives_home
        for row in rows:
            row.plan = plan
            row.tenant = tenant
        PlannedVisit.objects.bulk_create(rows)
        for officer_id, moment in {(row.officer_id, row.starts_at) for row in clashing}:
            _retime(plan, officer_id, moment, now)
        plan.save(update_fields=["status", "solver_seconds", "unassigned", "left_out", "drives_home"])
        _event(
            tenant.pk,
            "plan_created",
            actor=plan.created_by,
            now=now,
            plan=plan,
            after={
                "first_day": first_day.isoformat(),
                "last_day": last_day.isoformat(),
                "planned": len(rows),
                "left_out": len(left_out),
                "seconds": elapsed,
            },
        )
    return plan


def _planned_rows(
    allocation: Allocation, solution: Solution
) -> tuple[list[PlannedVisit], dict[str, list[int]], list[int]]:
    """The solver's routes timed on the booking grid (`on_grid`, which also fits in what it can of the
    visits left out): planned visits (unsaved), each day's drive home, and the visit ids timing dropped."""
    problem = allocation.problem
    vehicle_index = {v.key: n for n, v in enumerate(problem.vehicles)}
    index = {s.key: k for k, s in enumerate(problem.stops)}
    routes = {vehicle_index[r.vehicle]: [index[c.stop] for c in r.calls] for r in solution.routes}
    waiting = [index[key] for key in solution.unassigned if key[0] == "visit"]  # type: ignore[index]
    fitted, still = on_grid(problem, routes, waiting, allocation.snap)
    rows: list[PlannedVisit] = []
    drives: dict[str, list[int]] = {}
    for v, timed in fitted.items():
        vehicle = problem.vehicles[v]
        new = _rows_for(allocation, vehicle, timed.calls)
        rows.extend(new)
        if new:
            drives[_day_key(vehicle.officer, allocation.day_of(vehicle))] = [
                timed.home_seconds,
                timed.home_metres,
            ]
    unassigned = set(solution.unassigned)
    dropped = [problem.stops[k].key[1] for k in still if problem.stops[k].key not in unassigned]  # type: ignore[index]
    return rows, drives, dropped


def _over_the_diary(rows: list[PlannedVisit]) -> list[PlannedVisit]:
    """The planned visits (with their buffers) that overlap an active appointment of their officer: timing
    keeps clear of the diary, so none should; this is the last check before a plan proposes one. One query."""
    if not rows:
        return []
    spans = {
        row.visit_id: (
            row.starts_at - timedelta(minutes=row.visit.appointment_type.buffer_before_minutes),
            row.ends_at + timedelta(minutes=row.visit.appointment_type.buffer_after_minutes),
        )
        for row in rows
    }
    taken: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
    for officer_id, occupied in BookingAssignment.objects.filter(
        is_active=True,
        officer_id__in={row.officer_id for row in rows},
        occupied__overlap=(min(lo for lo, hi in spans.values()), max(hi for lo, hi in spans.values())),
    ).values_list("officer_id", "occupied"):
        taken[officer_id].append((occupied.lower, occupied.upper))
    return [
        row
        for row in rows
        if any(
            spans[row.visit_id][0] < hi and lo < spans[row.visit_id][1] for lo, hi in taken[row.officer_id]
        )
    ]


def _rows_for(allocation: Allocation, vehicle: Vehicle, calls: Iterable[Any]) -> list[PlannedVisit]:
    rows = []
    position = 0
    for call in calls:
        stop = allocation.problem.stops[call.stop]
        if stop.key[0] != "visit":  # type: ignore[index]
            continue
        visit = allocation.visits[stop.key[1]]  # type: ignore[index]
        lead = allocation.lead[visit.pk]
        starts_at = allocation.moment(call.start + lead)
        length = max(visit.duration_minutes, visit.appointment_type.duration_minutes)
        position += 1
        rows.append(
            PlannedVisit(
                tenant_id=visit.tenant_id,
                visit=visit,
                officer_id=vehicle.officer,
                starts_at=starts_at,
                ends_at=starts_at + timedelta(minutes=length),
                position=position,
                travel_seconds=call.travel_seconds,
                travel_metres=call.travel_metres,
                visit_updated_at=visit.updated_at,
            )
        )
    return rows


def _day_key(officer_id: object, day: date) -> str:
    return f"{officer_id}:{day.isoformat()}"


def _unassigned_reason(allocation: Allocation, key: object) -> str:
    stop = next(s for s in allocation.problem.stops if s.key == key)
    able = [v for v in allocation.problem.vehicles if stop.skills <= v.skills]
    if not able:
        return _("No officer who works in these days has the skills it needs.")
    if not any(meets(stop, v) for v in able):
        return _("No officer with the skills works during its dates and times.")
    return _("The officers who could do it have no time left on its days.")


def _ready_check(plan: AllocationPlan) -> None:
    """A plan still being planned, or that could not be planned, has nothing to act on yet."""
    if plan.status == PlanStatus.PLANNING:
        raise PlanError(_("This plan is still being planned. Wait until it is ready, then try again."))
    if plan.status == PlanStatus.FAILED:
        raise PlanError(_("This plan could not be made, so there is nothing to change. Make a new one."))


def _locked_draft(plan: AllocationPlan) -> AllocationPlan:
    plan = AllocationPlan.objects.select_for_update().get(pk=plan.pk)
    _ready_check(plan)
    if plan.status != PlanStatus.DRAFT:
        raise PlanError(_("This plan has been accepted or discarded already; make a new one."))
    return plan


@transaction.atomic
def plan_adjust(
    *,
    plan: AllocationPlan,
    visit: InspectionVisit,
    actor: User | None,
    officer: Officer | None = None,
    starts_at: datetime | None = None,
    remove: bool = False,
    now: datetime | None = None,
) -> AllocationPlan:
    """Moves a visit of a draft plan to `officer` at `starts_at` (a visit the plan left out may be placed
    too), or leaves it out (`remove`). The officer's day is checked again as the solver would: working time,
    breaks, appointments in the diary, the plan's other visits there, travel between them, the visit's own
    dates and times, skills and the booking grid; a day that no longer works is refused with the reason."""
    now = now or timezone.now()
    same_tenant_check(plan, visit, officer)
    plan = _locked_draft(plan)
    left_out = {int(v): reason for v, reason in plan.left_out}
    current = PlannedVisit.objects.filter(plan=plan, visit=visit).first()
    if current is None and visit.pk not in left_out:
        raise PlanError(_("That visit is not part of this plan."))
    before = _planned_snapshot(current)
    if remove:
        if current is None:
            raise PlanError(_("That visit is left out already."))
        current.delete()
        left_out[visit.pk] = _("Left out by a scheduler.")
        _retime(plan, current.officer_id, current.starts_at, now)
    else:
        if officer is None or starts_at is None:
            raise PlanError(_("Choose an officer and a time."))
        if timezone.is_naive(starts_at):
            raise PlanError(_("The time must carry a time zone."))
        if starts_at <= now:
            raise PlanError(_("That time is in the past. Choose a time from now on."))
        tz = plan.tenant.zone
        day = starts_at.astimezone(tz).date()
        if not plan.first_day <= day <= plan.last_day:
            raise PlanError(_("Choose a day the plan covers."))
        visit = InspectionVisit.objects.select_related("appointment_type").get(pk=visit.pk)
        _visit_time_check(visit, starts_at, tz)
        if current is not None:
            current.delete()
        others = list(
            PlannedVisit.objects.filter(plan=plan, officer=officer).select_related("visit__appointment_type")
        )
        same_day = [p for p in others if p.starts_at.astimezone(tz).date() == day]
        fixed = {p.visit_id: p.starts_at for p in same_day} | {visit.pk: starts_at}
        visits = [p.visit for p in same_day] + [visit]
        allocation = allocation_problem(
            tenant=plan.tenant,
            first=day,
            last=day,
            visits=visits,
            officer_ids=[officer.pk],
            now=now,
            fixed_starts=fixed,
        )
        problems = _day_check(allocation, officer, visit)
        if problems:
            raise PlanError(" ".join(problems))
        length = max(visit.duration_minutes, visit.appointment_type.duration_minutes)
        PlannedVisit.objects.create(
            tenant=plan.tenant,
            plan=plan,
            visit=visit,
            officer=officer,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=length),
            visit_updated_at=visit.updated_at,
        )
        left_out.pop(visit.pk, None)
        _retime(plan, officer.pk, starts_at, now)
        if current is not None and (current.officer_id, current.starts_at.astimezone(tz).date()) != (
            officer.pk,
            day,
        ):
            _retime(plan, current.officer_id, current.starts_at, now)
    plan.left_out = [[v, reason] for v, reason in sorted(left_out.items())]
    plan.unassigned = len(left_out)
    plan.save(update_fields=["left_out", "unassigned", "drives_home"])
    after = _planned_snapshot(PlannedVisit.objects.filter(plan=plan, visit=visit).first())
    _event(
        plan.tenant_id,
        "plan_adjusted",
        actor=actor,
        now=now,
        plan=plan,
        visit=visit,
        before=before,
        after=after,
    )
    return plan


def _planned_snapshot(planned: PlannedVisit | None) -> dict[str, Any]:
    if planned is None:
        return {"planned": False}
    return {"officer": planned.officer_id, "starts_at": planned.starts_at.isoformat()}


def _visit_time_check(visit: InspectionVisit, starts_at: datetime, tz: Any) -> None:
    local = starts_at.astimezone(tz)
    length = max(visit.duration_minutes, visit.appointment_type.duration_minutes)
    grid = visit.appointment_type.granularity_minutes
    if local.second or local.microsecond or (local.hour * 60 + local.minute) % grid:
        raise PlanError(_("Appointments of this type start every %(minutes)d minutes.") % {"minutes": grid})
    if visit.not_before and local.date() < visit.not_before:
        raise PlanError(_("This visit may not be done before %(day)s.") % {"day": visit.not_before})
    if visit.window_start and local.time() < visit.window_start:
        raise PlanError(
            _("This visit may not start before %(time)s.") % {"time": visit.window_start.strftime("%H:%M")}
        )
    if visit.window_end and (local + timedelta(minutes=length)).time() > visit.window_end:
        raise PlanError(
            _("This visit must be over by %(time)s.") % {"time": visit.window_end.strftime("%H:%M")}
        )


def _day_check(allocation: Allocation, officer: Officer, visit: InspectionVisit) -> list[str]:
    """Why the officer's day as arranged does not work (empty when it does)."""
    problem = allocation.problem
    if visit.pk in allocation.left_out:
        return [allocation.left_out[visit.pk]]
    vehicle = next(iter(problem.vehicles), None)
    if vehicle is None:
        return [_("%(officer)s does not work then, or has no time left that day.") % {"officer": officer}]
    stop = next(s for s in problem.stops if s.key == visit_key(visit.pk))
    if not stop.skills <= vehicle.skills:
        return [_("%(officer)s does not have the skills this visit needs.") % {"officer": officer}]
    order = sorted(range(len(problem.stops)), key=lambda k: problem.stops[k].windows[0][0])
    fitted = fit(problem, vehicle, order, allocation.snap)
    if not fitted.dropped:
        return []
    names = [str(allocation.visits[problem.stops[k].key[1]].premises) for k in fitted.dropped]  # type: ignore[index]
    return [
        _(
            "That day does not work: no time for %(visits)s (working hours, breaks, other appointments and "
            "travel between them)."
        )
        % {"visits": ", ".join(names)}
    ]


def _retime(plan: AllocationPlan, officer_id: int, moment: datetime, now: datetime) -> None:
    """Travel legs, order and drive home of one officer-day of the plan, from its visits as they now stand."""
    tz = plan.tenant.zone
    day = moment.astimezone(tz).date()
    planned = [
        p
        for p in PlannedVisit.objects.filter(plan=plan, officer_id=officer_id).select_related(
            "visit__appointment_type"
        )
        if p.starts_at.astimezone(tz).date() == day
    ]
    key = _day_key(officer_id, day)
    drives = dict(plan.drives_home)
    drives.pop(key, None)
    if planned:
        allocation = allocation_problem(
            tenant=plan.tenant,
            first=day,
            last=day,
            visits=[p.visit for p in planned],
            officer_ids=[officer_id],
            now=min(now, *(p.starts_at for p in planned)) - timedelta(minutes=1),
            fixed_starts={p.visit_id: p.starts_at for p in planned},
        )
        problem = allocation.problem
        vehicle = next(iter(problem.vehicles), None)
        if vehicle is not None:
            order = sorted(range(len(problem.stops)), key=lambda k: problem.stops[k].windows[0][0])
            fitted = fit(problem, vehicle, order, allocation.snap)
            legs = {
                problem.stops[c.stop].key[1]: c  # type: ignore[index]
                for c in fitted.calls
                if problem.stops[c.stop].key[0] == "visit"  # type: ignore[index]
            }
            for position, row in enumerate(sorted(planned, key=lambda p: p.starts_at), start=1):
                leg = legs.get(row.visit_id)
                row.position = position
                row.travel_seconds = leg.travel_seconds if leg else 0
                row.travel_metres = leg.travel_metres if leg else 0
            PlannedVisit.objects.bulk_update(planned, ["position", "travel_seconds", "travel_metres"])
            drives[key] = [fitted.home_seconds, fitted.home_metres]
    plan.drives_home = drives


@dataclass(frozen=True)
class Accepted:
    plan: AllocationPlan
    booked: int
    failed: int
    again: bool  # this was a repeated submission: the plan had been accepted already


def plan_accept(*, plan: AllocationPlan, actor: User | None, now: datetime | None = None) -> Accepted:
    """Books every visit of a draft plan with its planned officer at its planned time, through
    `booking_create` (staff channel, the premises' contact as customer, who is told as for any booking).

    A visit whose time was taken meanwhile (or that cannot be booked for another reason) is not booked: it
    stays open, and its planned row says why. Refuses a stale plan (see the module docstring) and a discarded
    one; a plan accepted already is answered with its result, changing nothing.
    """
    now = now or timezone.now()
    same_tenant_check(plan)
    with transaction.atomic():
        plan = AllocationPlan.objects.select_for_update().select_related("tenant").get(pk=plan.pk)
        if plan.status == PlanStatus.ACCEPTED:
            return _accepted(plan, again=True)
        _ready_check(plan)
        if plan.status != PlanStatus.DRAFT:
            raise PlanError(_("This plan was discarded; make a new one."))
        _fresh_check(plan, now)
        tenant = plan.tenant
        rows = list(
            PlannedVisit.objects.filter(plan=plan)
            .select_related("visit__appointment_type__tenant", "officer")
            .order_by("starts_at", "pk")
        )
        for row in rows:
            visit = InspectionVisit.objects.select_for_update().get(pk=row.visit_id)
            try:
                with transaction.atomic():
                    booking = _book(tenant, visit, row, actor, now)
            except BookingError as error:
                row.result, row.problem = PlannedResult.FAILED, str(error)[:500]
                row.save(update_fields=["result", "problem"])
                _event(
                    tenant.pk,
                    "visit_not_booked",
                    actor=actor,
                    now=now,
                    plan=plan,
                    visit=visit,
                    reason=row.problem,
                )
                continue
            row.result = PlannedResult.BOOKED
            row.save(update_fields=["result"])
            _event(
                tenant.pk,
                "visit_booked",
                actor=actor,
                now=now,
                plan=plan,
                visit=visit,
                after={
                    "booking": booking.reference,
                    "officer": row.officer_id,
                    "starts_at": row.starts_at.isoformat(),
                },
            )
        plan.status = PlanStatus.ACCEPTED
        plan.decided_at = now
        plan.save(update_fields=["status", "decided_at"])
        result = _accepted(plan, again=False)
        _event(
            tenant.pk,
            "plan_accepted",
            actor=actor,
            now=now,
            plan=plan,
            after={"booked": result.booked, "not_booked": result.failed},
        )
        return result


def _book(
    tenant: Tenant, visit: InspectionVisit, row: PlannedVisit, actor: User | None, now: datetime
) -> Any:
    customer = customer_find_or_create(
        tenant=tenant,
        full_name=visit.contact_name or visit.premises,
        email=visit.contact_email,
        phone=visit.contact_phone,
        address_line_1=visit.address[:100],
        now=now,
    )
    booking = booking_create(
        appointment_type=visit.appointment_type,
        starts_at=row.starts_at,
        customer=customer,
        actor=actor,
        now=now,
        channel=Channel.STAFF,
        priority=visit.priority,
        officer_ids=[row.officer_id],
        apply_notice=False,
        location=visit.address,
        notes=visit.notes,
        point=Point(visit.latitude, visit.longitude),
    )
    booking_event_record(
        booking, "allocated", actor=actor, now=now, after={"plan": row.plan_id, "premises": visit.premises}
    )
    visit.status = VisitStatus.BOOKED
    visit.booking = booking
    visit.updated_at = now
    visit.save(update_fields=["status", "booking", "updated_at"])
    return booking


def _fresh_check(plan: AllocationPlan, now: datetime) -> None:
    if now - plan.created_at > timedelta(minutes=settings.ALLOCATION_PLAN_STALE_MINUTES):
        raise PlanError(
            _("This plan is more than %(minutes)d minutes old: the diary may have changed. Make a new plan.")
            % {"minutes": settings.ALLOCATION_PLAN_STALE_MINUTES}
        )
    changed = [
        row.visit.premises
        for row in PlannedVisit.objects.filter(plan=plan).select_related("visit")
        if row.visit.updated_at != row.visit_updated_at or row.visit.status != VisitStatus.OPEN
    ]
    if changed:
        raise PlanError(
            _("Visits have changed since this plan was made (%(visits)s). Make a new plan.")
            % {"visits": ", ".join(sorted(changed)[:5]) + ("…" if len(changed) > 5 else "")}
        )
    if PlannedVisit.objects.filter(plan=plan, starts_at__lte=now).exists():
        raise PlanError(_("Some planned times have passed. Make a new plan."))


def _accepted(plan: AllocationPlan, *, again: bool) -> Accepted:
    counts: dict[str, int] = defaultdict(int)
    for result in PlannedVisit.objects.filter(plan=plan).values_list("result", flat=True):
        counts[result] += 1
    return Accepted(
        plan=plan, booked=counts[PlannedResult.BOOKED], failed=counts[PlannedResult.FAILED], again=again
    )


@transaction.atomic
def plan_discard(*, plan: AllocationPlan, actor: User | None, now: datetime | None = None) -> AllocationPlan:
    """Drops a plan not yet accepted (kept, marked discarded, for its history); a discarded plan stays
    discarded. One still being planned may be dropped too (a worker that never comes leaves nothing stuck):
    the worker then finds it no longer planning and writes nothing."""
    now = now or timezone.now()
    same_tenant_check(plan)
    plan = AllocationPlan.objects.select_for_update().get(pk=plan.pk)
    if plan.status == PlanStatus.DISCARDED:
        return plan
    if plan.status == PlanStatus.ACCEPTED:
        raise PlanError(_("This plan has been accepted; it cannot be discarded."))
    plan.status = PlanStatus.DISCARDED
    plan.decided_at = now
    plan.save(update_fields=["status", "decided_at"])
    _event(plan.tenant_id, "plan_discarded", actor=actor, now=now, plan=plan)
    return plan
