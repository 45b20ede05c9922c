"""Recurring series for staff: set one up for a customer, see its dates, book alternatives for the dates
that clashed, cancel or move one occurrence, this and the following ones, or all.

Customer-service staff, managers and administrators only, like the customer pages (officers see their
occurrences in their diary as ordinary appointments). Every change is a POST with a confirmation page
first; form errors answer 422, clashes 409. Creating is idempotent on a key issued with the blank form, so a
double submission makes one series.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db.models import Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from recurrence.base import MONTHLY

from accounts.permissions import role_required
from bookings import series_dates
from bookings.access import DESK_ROLES, access_booking, access_customer
from bookings.errors import BookingError, IdempotencyConflict
from bookings.forms.series import (
    AlternativeForm,
    OccurrenceCancelForm,
    OccurrenceMoveForm,
    SeriesForm,
    nth_weekday_text,
)
from bookings.models import Booking, BookingAssignment, BookingSeries
from bookings.services import occurrence_book, occurrence_cancel, occurrence_move, series_create
from bookings.services.series import OPEN_STATUSES, SeriesResult, alternatives_for

from .customer_service import BOOKING_ROLES

# Alternatives are worked out live for at most this many skipped dates per page view (each is a search).
ALTERNATIVES_FOR_SKIPPED = 5
DONE = ("booked", "cancelled", "moved")


def access_series(series_id: int) -> BookingSeries:
    return get_object_or_404(
        BookingSeries.objects.select_related("appointment_type__tenant", "customer", "officer__user"),
        pk=series_id,
    )


# --- setting one up -------------------------------------------------------------------------------------


@role_required(*BOOKING_ROLES)
@require_http_methods(["GET", "POST"])
def series_new(request: HttpRequest) -> HttpResponse:
    """ "Repeat this appointment": from a booking (?booking=, its customer, type, time and officer) or a
    customer (?customer=)."""
    template_booking = _int(request.GET.get("booking"))
    booking = access_booking(template_booking) if template_booking else None
    customer_id = booking.customer_id if booking else _int(request.GET.get("customer"))
    if customer_id is None:
        return redirect("bookings:customer-search")
    customer = access_customer(customer_id)
    today = timezone.localdate(timezone=request.tenant.zone)
    context: dict[str, Any] = {"customer": customer, "booking": booking}
    if request.method == "GET":
        context["form"] = SeriesForm(initial=_initial_from(booking), today=today)
        return render(request, "bookings/staff/series/new.html", context)
    form = SeriesForm(request.POST, today=today)
    context["form"] = form
    if not form.is_valid():
        return render(request, "bookings/staff/series/new.html", context, status=422)
    data = form.cleaned_data
    try:
        result = series_create(
            appointment_type=data["appointment_type"],
            customer=customer,
            recurrence=form.recurrence(),
            first_date=data["first_date"],
            start_time=data["start_time"],
            officer=data["officer"],
            mode=data["mode"],
            location=data["location"],
            notes=data["notes"],
            actor=request.user,
            idempotency_key=f"series-create:{data['submission']}" if data["submission"] else "",
        )
    except IdempotencyConflict as error:
        form.add_error(None, error.message)
        return render(request, "bookings/staff/series/new.html", context, status=409)
    except BookingError as error:
        form.add_error(None, error.message)
        return render(request, "bookings/staff/series/new.html", context, status=422)
    if result.series is None:
        context["result"] = _report(result)
        return render(request, "bookings/staff/series/new.html", context, status=409)
    query = {"created": "1", "other_officer": str(len(result.other_officer)) if result.other_officer else ""}
    url = (
        reverse("bookings:series", args=[result.series.pk])
        + "?"
        + urlencode({k: v for k, v in query.items() if v})
    )
    return HttpResponseRedirect(url, status=303)


def _initial_from(booking: Booking | None) -> dict[str, Any]:
    if booking is None:
        return {}
    zone = booking.appointment_type.tenant.zone
    local = booking.starts_at.astimezone(zone)
    officer = next((a.officer_id for a in booking.assignments.all() if a.is_active and a.officer_id), None)
    return {
        "appointment_type": booking.appointment_type_id,
        "first_date": (local + timedelta(weeks=1)).date(),
        "start_time": local.time().replace(second=0, microsecond=0),
        "officer": officer,
        "location": booking.location,
    }


# --- one series -----------------------------------------------------------------------------------------


@dataclass
class Row:
    """One date of the series: its booking(s), or nothing (taken out), with alternatives to book."""

    day: date
    bookings: list[Booking] = field(default_factory=list)
    skipped: bool = False
    alternatives: list[datetime] = field(default_factory=list)

    @property
    def live(self) -> Booking | None:
        return next((b for b in self.bookings if b.status in OPEN_STATUSES), None)


@role_required(*DESK_ROLES)
def series_detail(request: HttpRequest, series_id: int) -> HttpResponse:
    series = access_series(series_id)
    return _series_page(request, series)


def _series_page(
    request: HttpRequest, series: BookingSeries, status: int = 200, **extra: Any
) -> HttpResponse:
    now = timezone.now()
    rows = _rows(series, now)
    rule = series.recurrence.rrules[0] if series.recurrence.rrules else None
    context = {
        "series": series,
        "rows": rows,
        "rule_text": rule.to_text() if rule else "",
        "monthly_text": nth_weekday_text(series.first_date) if rule and rule.freq == MONTHLY else "",
        "last_date": series_dates.rule_last_date(series.recurrence, series.first_date),
        "created": request.GET.get("created") == "1",
        "other_officer": request.GET.get("other_officer", ""),
        "done": request.GET.get("done", "") if request.GET.get("done") in DONE else "",
        "what": request.GET.get("what", "")[:20],
        "now": now,
        **extra,
    }
    return render(request, "bookings/staff/series/detail.html", context, status=status)


def _rows(series: BookingSeries, now: datetime) -> list[Row]:
    officers = Prefetch(
        "assignments",
        queryset=BookingAssignment.objects.filter(is_active=True, officer__isnull=False).select_related(
            "officer__user"
        ),
        to_attr="officer_assignments",
    )
    bookings = list(
        series.occurrences.select_related("appointment_type__tenant")
        .prefetch_related(officers)
        .order_by("occurrence_date", "starts_at")
    )
    rows: dict[date, Row] = {}
    until = series.materialised_until or series.first_date
    skipped = series_dates.exdates(series.recurrence)
    every = series_dates.rule_dates(
        series_dates.without_exdates(series.recurrence, skipped), series.first_date, end=until
    )
    for day in every:
        rows[day] = Row(day=day, skipped=day in skipped)
    for booking in bookings:
        rows.setdefault(booking.occurrence_date, Row(day=booking.occurrence_date)).bookings.append(booking)  # type: ignore[arg-type]
    ordered = sorted(rows.values(), key=lambda row: row.day)
    today = now.astimezone(series.appointment_type.tenant.zone).date()
    searched = 0
    for row in ordered:
        if series.is_active and row.live is None and row.day >= today and searched < ALTERNATIVES_FOR_SKIPPED:
            row.alternatives = alternatives_for(series, row.day, now=now)
            searched += 1
    return ordered


@require_POST
@role_required(*BOOKING_ROLES)
def series_book(request: HttpRequest, series_id: int) -> HttpResponse:
    """Books an offered alternative for a date that has no live booking."""
    series = access_series(series_id)
    form = AlternativeForm(request.POST)
    if not form.is_valid():
        return _series_page(request, series, status=422, problem=_("Choose one of the times offered."))
    try:
        booking = occurrence_book(
            series=series,
            occurrence_date=form.cleaned_data["occurrence_date"],
            starts_at=form.starts_at(),
            actor=request.user,
        )
    except BookingError as error:
        return _series_page(request, series, status=409, problem=error.message)
    return _back(series, "booked", booking.reference)


# --- cancelling and moving ------------------------------------------------------------------------------


def _future_occurrences(series: BookingSeries) -> list[Booking]:
    return list(
        series.occurrences.filter(status__in=OPEN_STATUSES, starts_at__gt=timezone.now())
        .select_related("appointment_type__tenant")
        .order_by("starts_at")
    )


def _chosen(request: HttpRequest) -> dict[str, Any]:
    initial: dict[str, Any] = {}
    if (occurrence := _int(request.GET.get("occurrence"))) is not None:
        initial["occurrence"] = occurrence
    if request.GET.get("scope") in ("one", "following", "all"):
        initial["scope"] = request.GET["scope"]
    return initial


@role_required(*BOOKING_ROLES)
@require_http_methods(["GET", "POST"])
def series_cancel(request: HttpRequest, series_id: int) -> HttpResponse:
    series = access_series(series_id)
    occurrences = _future_occurrences(series)
    if request.method == "GET":
        form = OccurrenceCancelForm(initial=_chosen(request), occurrences=occurrences)
        return render(request, "bookings/staff/series/cancel.html", {"series": series, "form": form})
    form = OccurrenceCancelForm(request.POST, occurrences=occurrences)
    if not form.is_valid():
        return render(
            request, "bookings/staff/series/cancel.html", {"series": series, "form": form}, status=422
        )
    try:
        cancelled = occurrence_cancel(
            booking=form.booking(),
            scope=form.cleaned_data["scope"],
            reason=form.cleaned_data["reason"],
            actor=request.user,
        )
    except BookingError as error:
        form.add_error(None, error.message)
        return render(
            request, "bookings/staff/series/cancel.html", {"series": series, "form": form}, status=409
        )
    return _back(series, "cancelled", str(len(cancelled)))


@role_required(*BOOKING_ROLES)
@require_http_methods(["GET", "POST"])
def series_move(request: HttpRequest, series_id: int) -> HttpResponse:
    series = access_series(series_id)
    occurrences = _future_occurrences(series)
    context: dict[str, Any] = {"series": series}
    if request.method == "GET":
        initial = {"start_time": series.start_time, **_chosen(request)}
        context["form"] = OccurrenceMoveForm(initial=initial, occurrences=occurrences)
        return render(request, "bookings/staff/series/move.html", context)
    form = OccurrenceMoveForm(request.POST, occurrences=occurrences)
    context["form"] = form
    if not form.is_valid():
        return render(request, "bookings/staff/series/move.html", context, status=422)
    booking, data = form.booking(), form.cleaned_data
    zone = series.appointment_type.tenant.zone
    starts_at = None
    if data["scope"] == "one":
        starts_at = series_dates.occurrence_start(
            data["new_date"] or booking.occurrence_date, data["start_time"], zone
        )
    try:
        result = occurrence_move(
            booking=booking,
            scope=data["scope"],
            starts_at=starts_at,
            start_time=data["start_time"] if data["scope"] != "one" else None,
            actor=request.user,
        )
    except BookingError as error:
        form.add_error(None, error.message)
        return render(request, "bookings/staff/series/move.html", context, status=422)
    if result.conflicts:
        context["result"] = _report(result)
        return render(request, "bookings/staff/series/move.html", context, status=409)
    return _back(series, "moved", str(len(result.booked)))


# --- shared pieces --------------------------------------------------------------------------------------


def _report(result: SeriesResult) -> dict[str, Any]:
    clashed = {c.occurrence_date for c in result.conflicts}
    return {
        "conflicts": result.conflicts,
        "fits": [day for day in result.dates if day not in clashed],
    }


def _back(series: BookingSeries, done: str, what: str) -> HttpResponse:
    """Back to the series page, which says what was done (a word and a number or reference, not text)."""
    url = reverse("bookings:series", args=[series.pk]) + "?" + urlencode({"done": done, "what": what})
    return HttpResponseRedirect(url, status=303)


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 12 else None


urls = [
    path("staff/series/new/", series_new, name="series-new"),
    path("staff/series/<int:series_id>/", series_detail, name="series"),
    path("staff/series/<int:series_id>/book/", series_book, name="series-book"),
    path("staff/series/<int:series_id>/cancel/", series_cancel, name="series-cancel"),
    path("staff/series/<int:series_id>/move/", series_move, name="series-move"),
]
