"""Officers' diaries, the printable day sheet, the appointment page (outcome, case link) and case search.

Officers see their own diary and the appointments they are assigned to; DESK_ROLES see any officer's diary
and any appointment. Every page works without JavaScript; with htmx the diary's date navigation swaps the
`diary` partial. Form errors follow the rule in README: the same template with status 422.

The day view (and the day sheet) list the officer's route (`selectors.routes`); the day view adds a map
drawn by static/js/route-map.js on our own copy of Leaflet, under a content policy that names no other host
unless MAP_TILE_URL does.
"""

from __future__ import annotations

import calendar
from datetime import date, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from accounts.models import Officer, Role
from accounts.permissions import STAFF_ROLES, has_role, membership_for, role_required
from bookings.access import DESK_ROLES, access_officer
from bookings.errors import BookingError
from bookings.forms.diary import CaseLinkForm, CaseSearchForm, OutcomeForm
from bookings.models import Booking, BookingAssignment, BookingEvent, BookingStatus
from bookings.selectors import diary, routes
from bookings.services import booking_case_link, booking_outcome_record
from bookings.tokens import case_link_token
from scheduling.models import AppointmentType

VIEWS = ("day", "week", "agenda")
SPAN = {"day": 1, "week": 7, "agenda": diary.AGENDA_DAYS}
# Dates the diary will show: anything further out is a typing mistake, answered like a malformed date.
FIRST_YEAR, LAST_YEAR = 2000, 2100


# --- access -----------------------------------------------------------------------------------------------


def own_officer(request: HttpRequest) -> Officer:
    officer = diary.officer_for_user(request.user)
    if officer is None:
        raise Http404
    return officer


def access_appointment(request: HttpRequest, booking_id: int) -> Booking:
    """The booking, for DESK_ROLES or an officer it is assigned to (another tenant's is a 404, another
    officer's appointment a 403)."""
    booking = (
        Booking.objects.select_related("appointment_type", "customer", "follow_up_of__appointment_type")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=BookingAssignment.objects.filter(officer__isnull=False).select_related(
                    "officer__user"
                ),
            ),
            Prefetch("follow_ups", queryset=Booking.objects.select_related("appointment_type")),
            Prefetch("events", queryset=BookingEvent.objects.select_related("actor")),
        )
        .filter(pk=booking_id)
        .first()
    )
    if booking is None or booking.status in (BookingStatus.HELD, BookingStatus.EXPIRED):
        raise Http404
    if not has_role(request, *DESK_ROLES):
        officer_ids = {a.officer_id for a in diary.current_assignments(booking)}
        officer = diary.officer_for_user(request.user)
        if officer is None or officer.pk not in officer_ids:
            raise PermissionDenied
    return booking


# --- diary ------------------------------------------------------------------------------------------------


@role_required(Role.OFFICER, *DESK_ROLES)
def my_diary(request: HttpRequest) -> HttpResponse:
    return diary_response(request, own_officer(request), base=reverse("bookings:diary"))


@role_required(*STAFF_ROLES)
def officer_diary(request: HttpRequest, officer_id: int) -> HttpResponse:
    officer = access_officer(officer_id)
    if not has_role(request, *DESK_ROLES):
        mine = diary.officer_for_user(request.user)
        if mine is None or mine.pk != officer.pk:
            raise PermissionDenied
    return diary_response(request, officer, base=reverse("bookings:officer-diary", args=[officer.pk]))


@role_required(Role.OFFICER, *DESK_ROLES)
def diary_print(request: HttpRequest) -> HttpResponse:
    """One day on paper: the signed-in officer's, or (for DESK_ROLES) `?officer=<id>`'s."""
    officer_id = request.GET.get("officer")
    if officer_id and has_role(request, *DESK_ROLES):
        if not officer_id.isascii() or not officer_id.isdigit():
            raise Http404
        officer = access_officer(int(officer_id))
    else:
        officer = own_officer(request)
    today = timezone.now().astimezone(request.tenant.zone).date()
    day, problem = requested_date(request.GET.get("date"), today)
    (sheet,) = diary.officer_diary(officer, day, 1, zone=request.tenant.zone)
    own = officer.user_id == request.user.pk
    back = reverse("bookings:diary") if own else reverse("bookings:officer-diary", args=[officer.pk])
    route = routes.day_route(
        officer, day, zone=request.tenant.zone, bookings=[e.booking for e in sheet.entries]
    )
    context = {
        "officer": officer,
        "sheet": sheet,
        "route": route,
        "problem": problem,
        "back": f"{back}?view=day&date={day}",
    }
    return render(request, "bookings/staff/diary_print.html", context, status=400 if problem else 200)


def diary_response(request: HttpRequest, officer: Officer, *, base: str) -> HttpResponse:
    zone = request.tenant.zone
    today = timezone.now().astimezone(zone).date()
    view = request.GET.get("view") or "day"
    problem = ""
    if view not in VIEWS:
        view, problem = "day", _("There is no such view of the diary. Here is today's.")
    day, date_problem = requested_date(request.GET.get("date"), today)
    problem = problem or date_problem
    first = day - timedelta(days=day.weekday()) if view == "week" else day
    span = SPAN[view]
    days = diary.officer_diary(officer, first, span, zone=zone, skip_empty=view == "agenda")

    route = None
    if view == "day":
        route = routes.day_route(officer, day, zone=zone, bookings=[e.booking for e in days[0].entries])

    def link(**params: Any) -> str:
        return f"{base}?{urlencode(params)}"

    context = {
        "officer": officer,
        "own": officer.user_id == request.user.pk,
        "view": view,
        "views": [(v, link(view=v, date=day.isoformat())) for v in VIEWS],
        "day": day,
        "first": first,
        "last": first + timedelta(days=span - 1),
        "days": days,
        "today": today,
        "previous": link(view=view, date=(first - timedelta(days=span)).isoformat()),
        "next": link(view=view, date=(first + timedelta(days=span)).isoformat()),
        "today_link": link(view=view, date=today.isoformat()),
        "print_link": reverse("bookings:diary-print")
        + "?"
        + urlencode(
            {
                "date": day.isoformat(),
                **({} if officer.user_id == request.user.pk else {"officer": officer.pk}),
            }
        ),
        "problem": problem,
        "zone_name": request.tenant.time_zone,
        "route": route,
        "route_map": {
            **route.map_data(),
            "tiles": settings.MAP_TILE_URL,
            "attribution": settings.MAP_TILE_ATTRIBUTION,
        }
        if route
        else None,
    }
    template = "bookings/staff/diary.html"
    name = f"{template}#diary" if request.htmx and not request.htmx.boosted else template
    response = render(request, name, context, status=400 if problem else 200)
    patch_vary_headers(response, ["HX-Request"])
    response["Content-Security-Policy"] = diary_content_security_policy()
    return response


def diary_content_security_policy() -> str:
    """Scripts, styles and everything else from this site only; images also from the map tile server when
    MAP_TILE_URL names one. Inline styles stay allowed: the base template sets the tenant's colours in one."""
    images = ["'self'", "data:"]
    if tile_host := tile_source(settings.MAP_TILE_URL):
        images.append(tile_host)
    return "; ".join(
        [
            "default-src 'self'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            f"img-src {' '.join(images)}",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def tile_source(url: str) -> str:
    """The CSP source for a tile URL template: `https://{s}.tile.example.org/{z}/{x}/{y}.png` is
    `https://*.tile.example.org`. Empty when there is no URL or its host is not one a CSP can name."""
    if not url:
        return ""
    parts = urlsplit(url)
    labels = parts.netloc.split(".")
    if labels[0].startswith("{") and labels[0].endswith("}"):
        labels[0] = "*"
    netloc = ".".join(labels)
    if parts.scheme not in ("http", "https") or not netloc or any(c in netloc for c in "{}; '\"\\"):
        return ""
    return f"{parts.scheme}://{netloc}"


def requested_date(value: str | None, today: date) -> tuple[date, str]:
    """The date asked for, or today with a problem to show when the request named no usable date."""
    if not value:
        return today, ""
    try:
        day = date.fromisoformat(value) if value.isascii() and len(value) == 10 else None
    except ValueError:
        day = None
    if day is None or not FIRST_YEAR <= day.year <= LAST_YEAR:
        return today, _("That date is not valid. Here is today's diary.")
    return day, ""


# --- the appointment page --------------------------------------------------------------------------------


@role_required(*STAFF_ROLES)
def appointment(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = access_appointment(request, booking_id)
    return appointment_response(request, booking)


@require_POST
@role_required(*STAFF_ROLES)
def appointment_outcome(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = access_appointment(request, booking_id)
    form = OutcomeForm(request.POST)
    if form.is_valid():
        try:
            booking_outcome_record(
                booking=booking,
                outcome=form.cleaned_data["outcome"],
                notes=form.cleaned_data["notes"],
                follow_up_needed=form.cleaned_data["follow_up_needed"],
                actor=request.user,
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The outcome is recorded."))
            return HttpResponseRedirect(reverse("bookings:appointment", args=[booking.pk]), status=303)
    return appointment_response(request, booking, outcome_form=form, status=422)


@require_POST
@role_required(*STAFF_ROLES)
def appointment_case(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = access_appointment(request, booking_id)
    remove = request.POST.get("remove") == "yes"
    form = CaseLinkForm(request.POST)
    if remove or form.is_valid():
        try:
            booking_case_link(
                booking=booking,
                reference="" if remove else form.cleaned_data["case_reference"],
                kind="" if remove else form.cleaned_data["case_kind"],
                actor=request.user,
            )
        except BookingError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request, _("The case link is removed.") if remove else _("The case link is saved.")
            )
            return HttpResponseRedirect(reverse("bookings:appointment", args=[booking.pk]), status=303)
    return appointment_response(request, booking, case_form=form, status=422)


def appointment_response(
    request: HttpRequest,
    booking: Booking,
    *,
    outcome_form: OutcomeForm | None = None,
    case_form: CaseLinkForm | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    entry = diary.diary_entry(booking, officer=None)
    if outcome_form is None:
        outcome_form = OutcomeForm(
            initial={
                "outcome": booking.status
                if booking.status in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
                else "",
                "notes": booking.outcome_notes,
                "follow_up_needed": booking.follow_up_needed,
            }
        )
    if case_form is None:
        case_form = CaseLinkForm(
            initial={"case_reference": booking.case_reference, "case_kind": booking.case_kind}
        )
    follow_up = None
    if booking.follow_up_needed and booking.customer_id:
        follow_up = follow_up_choices(request, booking)
    context = {
        "booking": booking,
        "entry": entry,
        "events": list(booking.events.all()),
        "follow_ups": sorted(booking.follow_ups.all(), key=lambda b: b.starts_at),
        "started": booking.starts_at <= now,
        "can_record": booking.status
        in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW),
        "outcome_form": outcome_form,
        "case_form": case_form,
        "follow_up": follow_up,
        "is_desk": membership_for(request).role in DESK_ROLES,
    }
    return render(request, "bookings/staff/appointment.html", context, status=status)


# Intervals offered for a follow-up, from the appointment's date: (key, weeks, months, label).
FOLLOW_UP_INTERVALS = (
    ("1w", 1, 0, _lazy("1 week")),
    ("2w", 2, 0, _lazy("2 weeks")),
    ("4w", 4, 0, _lazy("4 weeks")),
    ("3m", 0, 3, _lazy("3 months")),
    ("6m", 0, 6, _lazy("6 months")),
)
FOLLOW_UP_DEFAULT = "4w"


def add_months(day: date, months: int) -> date:
    """The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 = 28/29 Feb)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def follow_up_choices(request: HttpRequest, booking: Booking) -> dict[str, Any]:
    """What the "book the follow-up" GET form offers: the earliest date as one radio per interval (the
    value is the date itself, so the form works without JavaScript) and the type, the same by default.
    Only those who may book (customer services, administrators, managers) get the form."""
    if not has_role(request, *DESK_ROLES):  # the roles that may book at /staff/book/
        return {"may_book": False}
    day = booking.starts_at.astimezone(request.tenant.zone).date()
    intervals = [
        {
            "key": key,
            "label": label,
            "after": add_months(day + timedelta(weeks=weeks), months),
            "default": key == FOLLOW_UP_DEFAULT,
        }
        for key, weeks, months, label in FOLLOW_UP_INTERVALS
    ]
    others = AppointmentType.objects.active().exclude(pk=booking.appointment_type_id).order_by("name")
    return {
        "may_book": True,
        "intervals": intervals,
        "types": [booking.appointment_type, *others],
    }


# --- cases ------------------------------------------------------------------------------------------------


@role_required(*STAFF_ROLES)
def case_search(request: HttpRequest) -> HttpResponse:
    """Finds a case's bookings by its reference (exact, any case); one match goes straight to the case."""
    if "ref" not in request.GET:
        return render(request, "bookings/staff/case_search.html", {"form": CaseSearchForm()})
    form = CaseSearchForm(request.GET)
    if not form.is_valid():
        return render(request, "bookings/staff/case_search.html", {"form": form}, status=422)
    reference = form.cleaned_data["ref"].strip()
    if found := diary.case_bookings(reference):
        return HttpResponseRedirect(reverse("bookings:case", args=[found[0].case_reference]), status=303)
    return render(request, "bookings/staff/case_search.html", {"form": form, "not_found": reference})


@role_required(*STAFF_ROLES)
def case_detail(request: HttpRequest, ref: str) -> HttpResponse:
    bookings = diary.case_bookings(ref)
    if not bookings:
        raise Http404
    if not has_role(request, *DESK_ROLES):
        # An officer sees the case only through the appointments they take part in.
        officer = diary.officer_for_user(request.user)
        if officer is None or not any(
            officer.pk in {a.officer_id for a in diary.current_assignments(b)} for b in bookings
        ):
            raise PermissionDenied
    entries = [diary.diary_entry(b, officer=None) for b in bookings]
    return render(
        request,
        "bookings/staff/case.html",
        {
            "reference": bookings[0].case_reference,
            "kind": bookings[0].get_case_kind_display(),
            "entries": entries,
            **case_portal_links(request, bookings[0]),
        },
    )


def case_portal_links(request: HttpRequest, booking: Booking) -> dict[str, Any]:
    """Links for the customer to book for this case on the portal: the portal home and each service bookable
    online, carrying a signed `?case=` (see bookings.tokens.case_link_token)."""
    token = case_link_token(
        tenant_id=request.tenant.pk, reference=booking.case_reference, kind=booking.case_kind
    )
    query = "?" + urlencode({"case": token})
    types = AppointmentType.objects.bookable_online().order_by("name")
    return {
        "case_home_link": request.build_absolute_uri(reverse("bookings:portal-home") + query),
        "case_service_links": [
            (kind.name, request.build_absolute_uri(reverse("bookings:service", args=[kind.slug]) + query))
            for kind in types
        ],
    }


urls = [
    path("staff/diary/", my_diary, name="diary"),
    path("staff/diary/print/", diary_print, name="diary-print"),
    path("staff/officers/<int:officer_id>/diary/", officer_diary, name="officer-diary"),
    path("staff/bookings/<int:booking_id>/", appointment, name="appointment"),
    path("staff/bookings/<int:booking_id>/outcome/", appointment_outcome, name="appointment-outcome"),
    path("staff/bookings/<int:booking_id>/case/", appointment_case, name="appointment-case"),
    path("staff/cases/", case_search, name="case-search"),
    path("staff/cases/<path:ref>/", case_detail, name="case"),
]
