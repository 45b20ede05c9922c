"""The inspection programme and work allocation for schedulers: the programme's visits (list, add, edit,
import), plans proposed by the solver (previewed per officer and day with travel and hours), adjusted by
hand, then accepted (booked through the normal services) or discarded. Managers and administrators only."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts.models import Officer, Role, Skill
from accounts.permissions import role_required
from bookings.errors import BookingError
from bookings.forms.allocation import AdjustForm, PlanForm, VisitFilterForm, VisitForm, VisitImportForm
from bookings.models import AllocationPlan, InspectionVisit, PlannedVisit, PlanStatus, VisitStatus
from bookings.services.allocation_plans import (
    PlanError,
    plan_accept,
    plan_adjust,
    plan_discard,
    plan_request,
    visit_create,
    visit_update,
    visit_withdraw,
)
from scheduling.locations import geocoder
from scheduling.models import AppointmentType, Priority

from .portal import rate_limited

ALLOCATION_ROLES = (Role.ADMINISTRATOR, Role.MANAGER)
VISITS_PER_PAGE = 50
IMPORT_MAX_BYTES = 1_000_000
IMPORT_MAX_ROWS = 1000


def access_visit(visit_id: int) -> InspectionVisit:
    return get_object_or_404(
        InspectionVisit.objects.select_related("appointment_type", "booking"), pk=visit_id
    )


def access_plan(plan_id: int) -> AllocationPlan:
    return get_object_or_404(AllocationPlan.objects.select_related("tenant"), pk=plan_id)


# --- the programme ---------------------------------------------------------------------------------------


@role_required(*ALLOCATION_ROLES)
def visit_list(request: HttpRequest) -> HttpResponse:
    filters = VisitFilterForm(request.GET or None)
    visits = _filtered(filters, timezone.localdate(timezone=request.tenant.zone))
    page = Paginator(visits, VISITS_PER_PAGE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    context = {"filters": filters, "page": page, "query": query.urlencode(), "import_form": VisitImportForm()}
    return render(request, "bookings/staff/allocation/visits.html", context)


def _filtered(filters: VisitFilterForm, today: date) -> QuerySet[InspectionVisit]:
    visits = InspectionVisit.objects.select_related("appointment_type", "booking", "skill")
    data = filters.cleaned_data if filters.is_valid() else {}
    if data.get("status"):
        visits = visits.filter(status=data["status"])
    if data.get("due") == "overdue":
        visits = visits.filter(due_by__lt=today, status=VisitStatus.OPEN)
    elif data.get("due") == "14":
        visits = visits.filter(due_by__lte=today + timedelta(days=14))
    return visits.order_by("due_by", "-priority", "pk")


@require_http_methods(["GET", "POST"])
@role_required(*ALLOCATION_ROLES)
def visit_new(request: HttpRequest) -> HttpResponse:
    form = VisitForm(request.POST or None, tenant_id=request.tenant.pk)
    if request.method == "POST" and form.is_valid():
        try:
            visit_create(tenant=request.tenant, actor=request.user, **_visit_fields(form))
        except ValidationError as error:
            _errors_onto(form, error)
        else:
            return HttpResponseRedirect(reverse("bookings:visits"))
    status = 422 if form.errors else 200
    return render(request, "bookings/staff/allocation/visit_form.html", {"form": form}, status=status)


@require_http_methods(["GET", "POST"])
@role_required(*ALLOCATION_ROLES)
def visit_edit(request: HttpRequest, visit_id: int) -> HttpResponse:
    visit = access_visit(visit_id)
    withdraw = request.method == "POST" and request.POST.get("action") == "withdraw"
    data = None if withdraw else request.POST or None
    form = VisitForm(data, initial=VisitForm.initial_of(visit), tenant_id=request.tenant.pk)
    problem = ""
    if withdraw:
        try:
            visit_withdraw(visit=visit, actor=request.user)
        except BookingError as error:
            problem = error.message
        else:
            return HttpResponseRedirect(reverse("bookings:visits"))
    elif request.method == "POST" and form.is_valid():
        try:
            visit_update(visit=visit, actor=request.user, **_visit_fields(form))
        except ValidationError as error:
            _errors_onto(form, error)
        except BookingError as error:
            problem = error.message
        else:
            return HttpResponseRedirect(reverse("bookings:visits"))
    status = 422 if form.errors else 409 if problem else 200
    context = {"form": form, "visit": visit, "problem": problem}
    return render(request, "bookings/staff/allocation/visit_form.html", context, status=status)


def _visit_fields(form: VisitForm) -> dict[str, Any]:
    fields = {name: form.cleaned_data[name] for name in form.FIELDS}
    if form.point is not None:
        fields["latitude"], fields["longitude"] = form.point
    return fields


def _errors_onto(form: VisitForm, error: ValidationError) -> None:
    found = error.message_dict.items() if hasattr(error, "error_dict") else [(None, error.messages)]
    for name, messages in found:
        for message in messages:
            form.add_error(name if name in form.fields else None, message)


@require_POST
@role_required(*ALLOCATION_ROLES)
def visit_import(request: HttpRequest) -> HttpResponse:
    """Adds a programme from a CSV file, all or nothing: any bad row is reported and nothing is added."""
    form = VisitImportForm(request.POST, request.FILES)
    problems: list[str] = []
    rows: list[dict[str, Any]] = []
    if form.is_valid():
        upload = form.cleaned_data["file"]
        if upload.size > IMPORT_MAX_BYTES:
            problems.append(_("The file is too large (at most 1 MB)."))
        else:
            rows, problems = _import_rows(request, upload.read())
    if form.is_valid() and not problems:
        added = 0
        try:
            with transaction.atomic():
                for fields in rows:
                    visit_create(tenant=request.tenant, actor=request.user, **fields)
                    added += 1
        except (ValidationError, BookingError) as error:
            problems.append(
                _("Row %(row)d: %(error)s") % {"row": added + 2, "error": "; ".join(_messages(error))}
            )
        if not problems:
            return HttpResponseRedirect(reverse("bookings:visits") + "?status=open")
    filters = VisitFilterForm(None)
    page = Paginator(_filtered(filters, timezone.localdate()), VISITS_PER_PAGE).get_page(1)
    context = {
        "filters": filters,
        "page": page,
        "query": "",
        "import_form": form,
        "import_problems": problems,
    }
    return render(request, "bookings/staff/allocation/visits.html", context, status=422)


def _messages(error: Exception) -> list[str]:
    return list(getattr(error, "messages", None) or [getattr(error, "message", str(error))])


def _import_rows(request: HttpRequest, raw: bytes) -> tuple[list[dict[str, Any]], list[str]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return [], [_("The file is not UTF-8 text.")]
    reader = csv.DictReader(io.StringIO(text))
    types = {t.slug: t for t in AppointmentType.objects.active()}
    skills = {s.name.lower(): s for s in Skill.objects.all()}
    priorities = {label.lower(): value for value, label in Priority.choices}
    rows, problems = [], []
    place_of = geocoder()
    for number, row in enumerate(reader, start=2):
        if number > IMPORT_MAX_ROWS + 1:
            problems.append(_("At most %(rows)d visits per file.") % {"rows": IMPORT_MAX_ROWS})
            break
        row = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if isinstance(v, str)}
        try:
            kind = types[row.get("type", "")]
            due_by = date.fromisoformat(row.get("due_by", ""))
            not_before = date.fromisoformat(row["not_before"]) if row.get("not_before") else None
            duration = int(row.get("duration_minutes") or kind.duration_minutes)
        except (KeyError, ValueError):
            problems.append(
                _("Row %(row)d: give a known type, a due date (YYYY-MM-DD) and minutes.") % {"row": number}
            )
            continue
        place = place_of.geocode(tenant_id=request.tenant.pk, query=row.get("address", ""))
        if place is None or not row.get("premises"):
            problems.append(_("Row %(row)d: premises missing or address not found.") % {"row": number})
            continue
        skill_name = row.get("skill", "").lower()
        if skill_name and skill_name not in skills:
            problems.append(
                _("Row %(row)d: no skill called %(skill)s.") % {"row": number, "skill": row["skill"]}
            )
            continue
        rows.append(
            {
                "premises": row["premises"][:200],
                "address": row.get("address", "")[:300],
                "latitude": place.point.latitude,
                "longitude": place.point.longitude,
                "appointment_type": kind,
                "skill": skills.get(skill_name),
                "duration_minutes": duration,
                "due_by": due_by,
                "not_before": not_before,
                "priority": priorities.get(row.get("priority", "").lower(), Priority.NORMAL),
                "contact_email": row.get("contact_email", ""),
                "contact_phone": row.get("contact_phone", ""),
            }
        )
    if not rows and not problems:
        problems.append(_("The file has no visits."))
    return rows, problems


# --- plans -----------------------------------------------------------------------------------------------


@role_required(*ALLOCATION_ROLES)
def allocation_start(request: HttpRequest) -> HttpResponse:
    today = timezone.localdate(timezone=request.tenant.zone)
    form = PlanForm(initial={"first_day": today + timedelta(days=1), "last_day": today + timedelta(days=14)})
    return _start_page(request, form)


def _start_page(request: HttpRequest, form: PlanForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "plans": AllocationPlan.objects.select_related("created_by")[:10],
        "open_visits": InspectionVisit.objects.open().count(),
    }
    return render(request, "bookings/staff/allocation/start.html", context, status=status)


@require_POST
@role_required(*ALLOCATION_ROLES)
@rate_limited("ALLOCATION_PLAN_RATE", method="POST", key="user_or_ip")
def allocation_plan_new(request: HttpRequest) -> HttpResponse:
    form = PlanForm(request.POST)
    if not form.is_valid():
        return _start_page(request, form, 422)
    try:
        plan = plan_request(
            tenant=request.tenant,
            first_day=form.cleaned_data["first_day"],
            last_day=form.cleaned_data["last_day"],
            actor=request.user,
        )
    except PlanError as error:
        form.add_error(None, error.message)
        return _start_page(request, form, 422)
    # 303: the browser fetches the plan page, which shows it being planned until the worker is done.
    return HttpResponseRedirect(reverse("bookings:allocation-plan", args=[plan.pk]), status=303)


@dataclass
class Day:
    officer: Officer
    day: date
    visits: list[PlannedVisit] = field(default_factory=list)
    home_seconds: int = 0
    home_metres: int = 0

    @property
    def km(self) -> float:
        return round((sum(v.travel_metres for v in self.visits) + self.home_metres) / 1000, 1)

    @property
    def travel_minutes(self) -> int:
        return round((sum(v.travel_seconds for v in self.visits) + self.home_seconds) / 60)

    @property
    def hours(self) -> float:
        """From leaving for the first visit to being back: the day's planned work, travel included."""
        if not self.visits:
            return 0.0
        out = self.visits[0].starts_at - timedelta(seconds=self.visits[0].travel_seconds)
        back = self.visits[-1].ends_at + timedelta(seconds=self.home_seconds)
        return round((back - out).total_seconds() / 3600, 1)


@dataclass
class OfficerPlan:
    officer: Officer
    days: list[Day]

    @property
    def visits(self) -> int:
        return sum(len(d.visits) for d in self.days)

    @property
    def km(self) -> float:
        return round(sum(d.km for d in self.days), 1)

    @property
    def hours(self) -> float:
        return round(sum(d.hours for d in self.days), 1)


@require_http_methods(["GET", "POST"])
@vary_on_headers("HX-Request")
@role_required(*ALLOCATION_ROLES)
def allocation_plan(request: HttpRequest, plan_id: int) -> HttpResponse:
    plan = access_plan(plan_id)
    if request.method == "GET":
        return _plan_page(request, plan)
    action = request.POST.get("action", "")
    try:
        if action == "accept":
            result = plan_accept(plan=plan, actor=request.user)
            return _plan_page(request, result.plan, accepted=result.again is False, again=result.again)
        if action == "discard":
            plan_discard(plan=plan, actor=request.user)
            return HttpResponseRedirect(reverse("bookings:allocation"))
        if action in ("adjust", "remove"):
            return _adjust(request, plan, action)
    except PlanError as error:
        plan.refresh_from_db()
        return _plan_page(request, plan, problem=error.message, status=409)
    return _plan_page(request, plan, problem=_("Choose what to do with the plan."), status=400)


def _adjust(request: HttpRequest, plan: AllocationPlan, action: str) -> HttpResponse:
    form = AdjustForm(request.POST)
    if not form.is_valid():
        return _plan_page(request, plan, problem=_("Choose the officer, day and time."), status=422)
    visit = access_visit(form.cleaned_data["visit"])
    if action == "remove":
        plan_adjust(plan=plan, visit=visit, actor=request.user, remove=True)
    else:
        starts_at = timezone.make_aware(
            datetime.combine(form.cleaned_data["day"], form.cleaned_data["time"]), request.tenant.zone
        )
        plan_adjust(
            plan=plan,
            visit=visit,
            officer=form.cleaned_data["officer"],
            starts_at=starts_at,
            actor=request.user,
        )
    return HttpResponseRedirect(reverse("bookings:allocation-plan", args=[plan.pk]) + f"#visit-{visit.pk}")


def _plan_page(
    request: HttpRequest,
    plan: AllocationPlan,
    *,
    problem: str = "",
    status: int = 200,
    accepted: bool = False,
    again: bool = False,
) -> HttpResponse:
    tz = request.tenant.zone
    rows = list(
        PlannedVisit.objects.filter(plan=plan)
        .select_related("visit__appointment_type", "visit__booking", "officer__user")
        .order_by("officer__user__full_name", "officer_id", "starts_at")
    )
    days: dict[tuple[int, date], Day] = {}
    for row in rows:
        key = (row.officer_id, row.starts_at.astimezone(tz).date())
        if key not in days:
            home = plan.drives_home.get(f"{key[0]}:{key[1].isoformat()}", [0, 0])
            days[key] = Day(officer=row.officer, day=key[1], home_seconds=home[0], home_metres=home[1])
        days[key].visits.append(row)
    by_officer: dict[int, list[Day]] = defaultdict(list)
    for (officer_id, _day), day in sorted(days.items(), key=lambda item: item[0][1]):
        by_officer[officer_id].append(day)
    officers = [OfficerPlan(officer=ds[0].officer, days=ds) for ds in by_officer.values()]
    left_ids = [visit_id for visit_id, _reason in plan.left_out]
    left_visits = InspectionVisit.objects.select_related("appointment_type").in_bulk(left_ids)
    left_out = [(left_visits[v], reason) for v, reason in plan.left_out if v in left_visits]
    context = {
        "plan": plan,
        "officers": officers,
        "left_out": left_out,
        "planned": len(rows),
        "km": round(sum(o.km for o in officers), 1),
        "hours": round(sum(o.hours for o in officers), 1),
        "choices": Officer.objects.active().select_related("user").order_by("user__full_name"),
        "problem": problem,
        "accepted": accepted,
        "again": again,
        "draft": plan.status == PlanStatus.DRAFT,
        "planning": plan.status == PlanStatus.PLANNING,
        "solver_seconds": round(settings.ALLOCATION_SOLVER_SECONDS),
        "failed": [r for r in rows if r.result == "failed"],
    }
    template = "bookings/staff/allocation/plan.html"
    if request.htmx and not request.htmx.boosted:
        template += "#plan"
    return render(request, template, context, status=status)


urls = [
    path("staff/visits/", visit_list, name="visits"),
    path("staff/visits/new/", visit_new, name="visit-new"),
    path("staff/visits/import/", visit_import, name="visit-import"),
    path("staff/visits/<int:visit_id>/", visit_edit, name="visit"),
    path("staff/allocation/", allocation_start, name="allocation"),
    path("staff/allocation/new/", allocation_plan_new, name="allocation-new"),
    path("staff/allocation/<int:plan_id>/", allocation_plan, name="allocation-plan"),
]
