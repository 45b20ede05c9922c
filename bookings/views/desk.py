"""Scheduling desk: the team calendar (with reassignment), the conflict queue and the emergency screen.

Thin views: access helpers -> form -> service -> redirect (303) or the same template with 422/409.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Officer, Team
from accounts.permissions import has_role, role_required
from bookings.access import DESK_ROLES, SCHEDULER_ROLES, access_booking, access_customer
from bookings.availability import displacement_options, earliest_slot
from bookings.errors import BookingError, SlotUnavailable
from bookings.forms.desk import EmergencyConfirmForm, EmergencyForm, ReassignForm, RemedyForm
from bookings.models import ConflictItem
from bookings.selectors.desk import CONFLICT_QUEUE_PAGE_SIZE, conflict_remedies, team_calendar
from bookings.services import booking_reassign, conflict_resolve
from bookings.services.emergency import booking_create_emergency

# --- team calendar -------------------------------------------------------------------------------------


def _calendar_params(request: HttpRequest) -> tuple[Team | None, list[Team], str, date]:
    teams = list(Team.objects.all())
    team_id = request.GET.get("team", "")
    team = next((t for t in teams if str(t.pk) == team_id), teams[0] if teams else None)
    view = "week" if request.GET.get("view") == "week" else "day"
    try:
        day = date.fromisoformat(request.GET.get("date", ""))
    except ValueError:
        day = timezone.localdate()
    if view == "week":
        day -= timedelta(days=day.weekday())
    return team, teams, view, day


@role_required(*DESK_ROLES)
def team_calendar_page(request: HttpRequest, *, problem: str = "", status: int = 200) -> HttpResponse:
    team, teams, view, first = _calendar_params(request)
    days = 7 if view == "week" else 1
    scheduler = has_role(request, *SCHEDULER_ROLES)
    dates, rows = team_calendar(
        team, first, days, zone=request.tenant.zone, now=timezone.now(), with_eligible=scheduler
    )
    step = timedelta(days=days)
    base = {"team": team.pk if team else "", "view": view}
    context = {
        "teams": teams,
        "team": team,
        "view": view,
        "dates": dates,
        "rows": rows,
        "scheduler": scheduler,
        "problem": problem,
        "query": base | {"date": first.isoformat()},
        "previous": base | {"date": (first - step).isoformat()},
        "next": base | {"date": (first + step).isoformat()},
        "today": base | {"date": timezone.localdate().isoformat()},
        "here": request.get_full_path(),
    }
    return render(request, "bookings/staff/team.html", context, status=status)


@require_POST
@role_required(*SCHEDULER_ROLES)
def reassign(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = access_booking(booking_id)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("bookings:team")
    form = ReassignForm(
        request.POST, officers=[(o.pk, str(o)) for o in Officer.objects.active().select_related("user")]
    )
    if not form.is_valid():
        return _calendar_again(request, back, _("Choose an officer from the list."), 422)
    to_officer = get_object_or_404(Officer.objects.active(), pk=form.cleaned_data["officer"])
    try:
        booking_reassign(booking=booking, to_officer=to_officer, actor=request.user)
    except SlotUnavailable as error:
        return _calendar_again(request, back, error.message, 409)
    except BookingError as error:
        return _calendar_again(request, back, error.message, 422)
    return HttpResponseRedirect(back, status=303)


def _calendar_again(request: HttpRequest, back: str, problem: str, status: int) -> HttpResponse:
    """The calendar the form came from, with the problem at the top (GET parameters of `back`)."""
    from urllib.parse import parse_qsl, urlsplit

    request.GET = request.GET.copy()
    request.GET.clear()
    request.GET.update(dict(parse_qsl(urlsplit(back).query)))
    return team_calendar_page.__wrapped__(request, problem=problem, status=status)


# --- conflict queue -------------------------------------------------------------------------------------


@role_required(*SCHEDULER_ROLES)
def conflict_queue(request: HttpRequest, *, problem: str = "", status: int = 200) -> HttpResponse:
    items = ConflictItem.objects.open().select_related(
        "booking__appointment_type__tenant", "booking__customer", "officer__user"
    )
    page = Paginator(items, CONFLICT_QUEUE_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    remedies = conflict_remedies(list(page.object_list), now=now)
    entries = [(item, remedies[item.pk]) for item in page.object_list]
    return render(
        request,
        "bookings/staff/conflicts.html",
        {"page": page, "entries": entries, "problem": problem},
        status=status,
    )


@require_POST
@role_required(*SCHEDULER_ROLES)
def conflict_accept(request: HttpRequest, item_id: int) -> HttpResponse:
    item = get_object_or_404(ConflictItem.objects.open(), pk=item_id)
    form = RemedyForm(request.POST)
    if not form.is_valid():
        return conflict_queue.__wrapped__(
            request, problem=_("Choose one of the proposed remedies."), status=422
        )
    officer_id = form.cleaned_data.get("officer")
    to_officer = get_object_or_404(Officer.objects.active(), pk=officer_id) if officer_id else None
    try:
        conflict_resolve(
            item=item,
            to_officer=to_officer,
            starts_at=form.starts_at(),
            note=form.cleaned_data["note"],
            actor=request.user,
        )
    except SlotUnavailable as error:
        return conflict_queue.__wrapped__(request, problem=error.message, status=409)
    except BookingError as error:
        return conflict_queue.__wrapped__(request, problem=error.message, status=409)
    return HttpResponseRedirect(reverse("bookings:conflicts"), status=303)


# --- emergency booking ----------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@role_required(*SCHEDULER_ROLES)
def emergency(request: HttpRequest) -> HttpResponse:
    data = request.POST if request.method == "POST" else request.GET
    asked = request.method == "POST" or "appointment_type" in request.GET
    form = EmergencyForm(data if asked else None)
    context: dict[str, Any] = {"form": form}
    if not asked:
        return render(request, "bookings/staff/emergency.html", context)
    if not form.is_valid():
        return render(request, "bookings/staff/emergency.html", context, status=422)
    customer = access_customer(form.cleaned_data["customer"]) if form.cleaned_data["customer"] else None
    kind, priority = form.cleaned_data["appointment_type"], form.cleaned_data["priority"]
    now = timezone.now()
    if request.method == "POST":
        confirm = EmergencyConfirmForm(request.POST)
        if confirm.is_valid():
            try:
                booking = booking_create_emergency(
                    tenant=request.tenant,
                    appointment_type=kind,
                    starts_at=confirm.starts_at(),
                    priority=priority,
                    customer=customer,
                    new_customer=form.new_customer() if customer is None else None,
                    displace_booking_ids=confirm.cleaned_data["displace"],
                    officer_ids=confirm.cleaned_data["officers"],
                    reason=form.cleaned_data["reason"] or _("Urgent booking"),
                    actor=request.user,
                    now=now,
                )
            except BookingError as error:
                context["problem"] = error.message
            else:
                context["booked"] = booking
                return render(request, "bookings/staff/emergency.html", context)
        else:
            context["problem"] = _("Start again from the emergency screen.")
    context["customer"] = customer
    target = now + timedelta(hours=kind.urgent_target_hours)
    context["target"] = target
    context["slot"] = earliest_slot(kind, priority=priority, now=now, until=target)
    if context["slot"] is None:
        context["options"] = _with_bookings(displacement_options(kind, priority=priority, now=now))
    return render(
        request, "bookings/staff/emergency.html", context, status=409 if "problem" in context else 200
    )


def _with_bookings(options: list[Any]) -> list[tuple[Any, list[Any], str, str]]:
    from bookings.models import Booking

    ids = {i for o in options for i in o.displaced_booking_ids}
    found = Booking.objects.filter(pk__in=ids).select_related("appointment_type", "customer").in_bulk()
    return [
        (
            o,
            [found[i] for i in o.displaced_booking_ids if i in found],
            ",".join(map(str, o.displaced_booking_ids)),
            ",".join(map(str, o.allocation.officer_ids)),
        )
        for o in options
    ]


def epoch(when: datetime) -> int:
    return int(when.timestamp())


urls = [
    path("staff/team/", team_calendar_page, name="team"),
    path("staff/team/reassign/<int:booking_id>/", reassign, name="team-reassign"),
    path("staff/conflicts/", conflict_queue, name="conflicts"),
    path("staff/conflicts/<int:item_id>/accept/", conflict_accept, name="conflict-accept"),
    path("staff/emergency/", emergency, name="emergency"),
]
