"""The public portal: find a service, pick a slot, hold it, give details, confirm; manage it later.

Every page works without JavaScript; with htmx the week navigation swaps the `slot-picker` partial.
Form errors follow the rule in README: the same template with status 422.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import wraps
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_ratelimit.core import get_usage
from redis.exceptions import RedisError

from accounts.clients import client_ip
from bookings import calendar_files
from bookings.availability import (
    AvailableSlot,
    availability_versions,
    available_slots,
    available_slots_stable,
    earliest_slot,
)
from bookings.availability.travel import travel_applies
from bookings.errors import BookingError, CodeNotSent, IdempotencyConflict, SlotUnavailable, TooManyHolds
from bookings.forms import (
    CancelForm,
    CodeForm,
    DetailsForm,
    FindBookingForm,
    SlotForm,
    VisitPlaceForm,
    postcode_key,
)
from bookings.models import Booking, BookingStatus, Channel
from bookings.selectors import booking_for_reference, holds_among, live_hold, portal_services_by_category
from bookings.services import (
    access_code_send,
    booking_cancel,
    booking_confirm_from_portal,
    booking_hold,
    booking_reschedule,
)
from bookings.services.placement import booking_point
from bookings.tokens import (
    BadLink,
    CodeEntryLocked,
    case_from_link,
    client_digest,
    manage_token,
    one_time_code_check,
    public_id_from_manage_token,
)
from scheduling.locations import Place, geocoder
from scheduling.models import AppointmentType, LocationMode
from scheduling.routing.problem import Point
from scheduling.selectors import bookable_type

logger = logging.getLogger(__name__)

HOLDS = "portal_holds"  # references of the holds this browser made
DRAFTS = "portal_drafts"  # what the customer typed, kept if a hold lapses
FOUND = "portal_found"  # the reference a one-time code was asked for
CONFIRM_KEYS = "portal_confirm_keys"  # reference -> the idempotency key the server issued for confirming it
CASES = "portal_cases"  # hold reference -> the signed case link (`?case=`) the hold was made from
PLACES = "portal_places"  # hold reference -> the postcode its times were chosen for (visits on site)


# --- abuse limits ------------------------------------------------------------------------------------------


def rate_limited(rate_setting: str, *, method: str, key: str = "ip") -> Callable[..., Any]:
    """Counts the view's requests per client address (django-ratelimit's "ip" key, which reads the real
    client through RATELIMIT_IP_META_KEY = accounts.clients.client_ip), or per `key` (staff pages count
    per signed-in person, "user_or_ip": an office shares one address), and answers 429, saying when the
    window ends, once the rate in the named setting is passed."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            rate = getattr(settings, rate_setting)
            usage = get_usage(request, fn=view, key=key, rate=rate, method=method, increment=True)
            if usage and usage["should_limit"]:
                retry_at = timezone.now() + timedelta(seconds=max(usage["time_left"], 1))
                return too_many_requests(request, retry_at=retry_at)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def client_of(request: HttpRequest) -> str:
    """Who is asking, as a keyed hash of the real client address (never the address itself)."""
    return client_digest(client_ip(request))


# --- access helpers: a missing object and another tenant's object are the same 404 ---------------------


def access_bookable_type(request: HttpRequest, slug: str) -> AppointmentType:
    appointment_type = bookable_type(tenant=request.tenant, slug=slug)
    if appointment_type is None:
        raise Http404
    return appointment_type


def access_own_booking(request: HttpRequest, reference: str) -> Booking:
    """A booking this browser started (its reference is in the session)."""
    if reference not in request.session.get(HOLDS, []):
        raise Http404
    return get_object_or_404(
        Booking.objects.select_related("appointment_type__tenant", "customer"), reference=reference
    )


def access_managed_booking(request: HttpRequest, token: str) -> Booking:
    public_id = public_id_from_manage_token(token, tenant_id=request.tenant.pk)
    return get_object_or_404(
        Booking.objects.select_related("appointment_type__tenant", "customer"), public_id=public_id
    )


# --- pages -----------------------------------------------------------------------------------------------


def portal_home(request: HttpRequest) -> HttpResponse:
    context = {
        "groups": portal_services_by_category(),
        "case_token": _case_token(request.GET.get("case"), request),
    }
    return render(request, "bookings/portal/home.html", context)


@rate_limited("PORTAL_SLOTS_RATE", method="GET")
def service_slots(request: HttpRequest, slug: str) -> HttpResponse:
    """The times of a service. For a visit at the customer's address the page asks for the postcode
    first; given one the geocoder finds, the times are those an officer can travel to, the ones fitting
    the officers' rounds best marked recommended. A postcode it cannot find is a form error and no times."""
    appointment_type = access_bookable_type(request, slug)
    case_token = _case_token(request.GET.get("case"), request)
    place_form, place = visit_place(request.GET, appointment_type, tenant_id=request.tenant.pk)
    if place_form is not None and place_form.is_bound and place is None:
        context = {"appointment_type": appointment_type, "place_form": place_form, "case_token": case_token}
        return render(request, "bookings/portal/service.html", context, status=422)
    return slot_picker_response(
        request,
        appointment_type,
        template="bookings/portal/service.html",
        action=reverse("bookings:hold", args=[slug]),
        base=reverse("bookings:service", args=[slug]),
        case_token=case_token,
        place_form=place_form,
        place=place,
    )


@require_POST
@rate_limited("PORTAL_HOLD_RATE", method="POST")
def service_hold(request: HttpRequest, slug: str) -> HttpResponse:
    appointment_type = access_bookable_type(request, slug)
    case_token = _case_token(request.POST.get("case"), request)
    place_form, place = visit_place(request.POST, appointment_type, tenant_id=request.tenant.pk)

    def picker(**problem: Any) -> HttpResponse:
        return slot_picker_response(
            request,
            appointment_type,
            template="bookings/portal/service.html",
            action=reverse("bookings:hold", args=[slug]),
            base=reverse("bookings:service", args=[slug]),
            case_token=case_token,
            place_form=place_form if place is not None else None,
            place=place,
            **problem,
        )

    form = SlotForm(request.POST)
    if not form.is_valid():
        return picker(problem=_("Choose a time from the list."), status=400)
    if place_form is not None and place_form.is_bound and place is None:
        return picker(problem=_("Enter the postcode of the address to visit again."), status=400)
    starts_at = form.cleaned_data["start"]
    if same := _live_hold(request, appointment_type, starts_at):
        _case_keep(request, same.reference, case_token)
        return redirect("bookings:details", reference=same.reference)
    try:
        booking = booking_hold(
            appointment_type=appointment_type,
            starts_at=starts_at,
            channel=Channel.PORTAL,
            client=client_of(request),
            point=place.point if place is not None else None,
        )
    except TooManyHolds as error:
        return too_many_requests(request, retry_at=error.retry_at, reason=error.message)
    except SlotUnavailable as error:
        return picker(problem=error.message, alternatives=error.alternatives, status=409, week=starts_at)
    except BookingError as error:
        return picker(problem=error.message, status=400)
    _release_other_holds(request, keep=booking)
    request.session[HOLDS] = [*request.session.get(HOLDS, [])[-9:], booking.reference]
    _case_keep(request, booking.reference, case_token)
    if place is not None and place_form is not None:
        places = request.session.get(PLACES, {})
        request.session[PLACES] = {
            **dict(list(places.items())[-9:]),
            booking.reference: place_form.cleaned_data["postcode"],
        }
    return redirect("bookings:details", reference=booking.reference)


@require_http_methods(["GET", "POST"])
@rate_limited("PORTAL_SUBMIT_RATE", method="POST")
def booking_details(request: HttpRequest, reference: str) -> HttpResponse:
    booking = access_own_booking(request, reference)
    if booking.status == BookingStatus.CONFIRMED:
        return redirect("bookings:confirmation", reference=reference)
    if booking.status not in (BookingStatus.HELD, BookingStatus.EXPIRED):
        raise Http404
    appointment_type = booking.appointment_type
    drafts = request.session.get(DRAFTS, {})
    draft_key = str(appointment_type.pk)
    context: dict[str, Any] = {"booking": booking, "appointment_type": appointment_type}
    confirm_key = _confirm_key(request, reference)
    case_token = request.session.get(CASES, {}).get(reference, "")
    chosen_for = request.session.get(PLACES, {}).get(reference, "") if booking.latitude is not None else ""
    if request.method == "POST":
        form = DetailsForm(request.POST, appointment_type=appointment_type)
        if (
            form.is_valid()
            and chosen_for
            and postcode_key(form.cleaned_data["postcode"]) != postcode_key(chosen_for)
        ):
            # The time was checked for travel to that postcode: a visit elsewhere needs its own check.
            form.add_error(
                "postcode",
                _(
                    "This time was chosen for a visit at %(postcode)s. "
                    "To book a visit elsewhere, choose a time again."
                )
                % {"postcode": chosen_for},
            )
        if form.is_valid():
            case_reference, case_kind = _case_of(case_token, request)
            # Times chosen before saying where the visit is were not checked for travel: the place given
            # now is, when the geocoder knows it (otherwise the visit is booked as chosen, unchecked).
            found = (
                place_of(form.cleaned_data["postcode"], tenant_id=request.tenant.pk)
                if booking.latitude is None
                and appointment_type.location_mode == LocationMode.CUSTOMER_ADDRESS
                else None
            )
            try:
                booking_confirm_from_portal(
                    booking=booking,
                    contact=form.contact(language=translation.get_language()),
                    address=form.address(),
                    answers=form.answers(),
                    location=form.location(),
                    case_reference=case_reference,
                    case_kind=case_kind,
                    idempotency_key=f"portal-confirm:{confirm_key}",
                    point=found.point if found else None,
                )
            except IdempotencyConflict as error:
                form.add_error(None, error.message)
                return render(request, "bookings/portal/details.html", {**context, "form": form}, status=409)
            except SlotUnavailable as error:
                request.session[DRAFTS] = {**drafts, draft_key: _draft(request.POST)}
                context.update(
                    form=form,
                    problem=error.message,
                    alternatives=error.alternatives,
                    hold_action=reverse("bookings:hold", args=[appointment_type.slug]),
                    case_token=_case_token(case_token, request),
                )
                return render(request, "bookings/portal/details.html", context, status=409)
            except BookingError as error:
                form.add_error(None, error.message)
                return render(request, "bookings/portal/details.html", {**context, "form": form}, status=422)
            drafts.pop(draft_key, None)
            request.session[DRAFTS] = drafts
            return HttpResponseRedirect(reverse("bookings:confirmation", args=[reference]), status=303)
        return render(request, "bookings/portal/details.html", {**context, "form": form}, status=422)
    draft = drafts.get(draft_key, {})
    initial = {**draft, "submission": confirm_key}
    if chosen_for:
        initial["postcode"] = chosen_for
    form = DetailsForm(initial=initial, appointment_type=appointment_type)
    return render(request, "bookings/portal/details.html", {**context, "form": form})


def booking_confirmation(request: HttpRequest, reference: str) -> HttpResponse:
    booking = access_own_booking(request, reference)
    if booking.status != BookingStatus.CONFIRMED:
        return redirect("bookings:details", reference=reference)
    token = manage_token(tenant_id=request.tenant.pk, public_id=booking.public_id)
    return render(request, "bookings/portal/confirmation.html", {"booking": booking, "token": token})


def booking_calendar_file(request: HttpRequest, reference: str) -> HttpResponse:
    booking = access_own_booking(request, reference)
    if booking.status != BookingStatus.CONFIRMED:
        raise Http404
    return calendar_files.download(request, booking)


# --- manage my booking -----------------------------------------------------------------------------------


def manage_booking(request: HttpRequest, token: str) -> HttpResponse:
    try:
        booking = access_managed_booking(request, token)
    except BadLink as error:
        return bad_link(request, error)
    return render(request, "bookings/portal/manage.html", _manage_context(booking, token))


def manage_calendar_file(request: HttpRequest, token: str) -> HttpResponse:
    try:
        booking = access_managed_booking(request, token)
    except BadLink as error:
        return bad_link(request, error)
    if booking.status != BookingStatus.CONFIRMED:
        raise Http404
    return calendar_files.download(request, booking)


@require_http_methods(["GET", "POST"])
@rate_limited("PORTAL_SLOTS_RATE", method="GET")
@rate_limited("PORTAL_SUBMIT_RATE", method="POST")
def manage_reschedule(request: HttpRequest, token: str) -> HttpResponse:
    try:
        booking = access_managed_booking(request, token)
    except BadLink as error:
        return bad_link(request, error)
    if not customer_may_change(booking):
        return render(request, "bookings/portal/manage.html", _manage_context(booking, token), status=403)

    def picker(**problem: Any) -> HttpResponse:
        action = reverse("bookings:manage-reschedule", args=[token])
        return slot_picker_response(
            request,
            booking.appointment_type,
            template="bookings/portal/reschedule.html",
            action=action,
            base=action,
            booking=booking,
            token=token,
            ignore=[booking.pk],
            place=visit_place_of(booking),
            **problem,
        )

    if request.method == "GET":
        return picker()
    form = SlotForm(request.POST)
    if not form.is_valid():
        return picker(problem=_("Choose a time from the list."), status=400)
    starts_at = form.cleaned_data["start"]
    try:
        # Keyed on the booking's history so far: a double submission moves it once, and two different
        # times sent at once from two tabs move it once (the second is refused as a conflict).
        booking_reschedule(
            booking=booking,
            starts_at=starts_at,
            idempotency_key=f"portal-move:{booking.public_id}:{booking.events.count()}",
        )
    except IdempotencyConflict as error:
        return picker(problem=error.message, status=409)
    except SlotUnavailable as error:
        return picker(problem=error.message, alternatives=error.alternatives, status=409, week=starts_at)
    except BookingError as error:
        return picker(problem=error.message, status=400)
    return HttpResponseRedirect(reverse("bookings:manage", args=[token]) + "?moved=1", status=303)


@require_http_methods(["GET", "POST"])
def manage_cancel(request: HttpRequest, token: str) -> HttpResponse:
    try:
        booking = access_managed_booking(request, token)
    except BadLink as error:
        return bad_link(request, error)
    if not customer_may_change(booking):
        return render(request, "bookings/portal/manage.html", _manage_context(booking, token), status=403)
    form = CancelForm(request.POST or None)
    status = 200
    if request.method == "POST" and form.is_valid():
        try:
            booking_cancel(
                booking=booking,
                reason=form.cleaned_data["reason"],
                idempotency_key=f"portal-cancel:{booking.public_id}",
            )
            return HttpResponseRedirect(reverse("bookings:manage", args=[token]), status=303)
        except IdempotencyConflict as error:
            form.add_error(None, error.message)
            status = 409
    elif request.method == "POST":
        status = 422
    return render(
        request,
        "bookings/portal/cancel.html",
        {"booking": booking, "form": form, "token": token},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@rate_limited("PORTAL_CODE_RATE", method="POST")
def find_booking(request: HttpRequest) -> HttpResponse:
    form = FindBookingForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                access_code_send(
                    reference=form.cleaned_data["reference"], contact=form.cleaned_data["contact"]
                )
            except CodeNotSent as error:
                # The form keeps what was typed; nothing was stored, so trying again is safe.
                context = {"form": form, "not_sent": error.message}
                return render(request, "bookings/portal/find.html", context, status=503)
            request.session[FOUND] = form.cleaned_data["reference"]
            return HttpResponseRedirect(reverse("bookings:verify-code"), status=303)
        return render(request, "bookings/portal/find.html", {"form": form}, status=422)
    return render(request, "bookings/portal/find.html", {"form": form})


@require_http_methods(["GET", "POST"])
@rate_limited("PORTAL_CODE_RATE", method="POST")
def verify_code(request: HttpRequest) -> HttpResponse:
    reference = request.session.get(FOUND)
    if not reference:
        return redirect("bookings:find")
    form = CodeForm(request.POST or None)
    if request.method == "POST":
        if form.is_valid():
            try:
                right = one_time_code_check(
                    tenant_id=request.tenant.pk,
                    reference=reference,
                    code=form.cleaned_data["code"],
                    client=client_of(request),
                )
            except CodeEntryLocked as locked:
                return too_many_requests(
                    request,
                    retry_at=locked.until,
                    reason=_("Too many wrong codes have been tried for this booking."),
                )
            if right:
                booking = booking_for_reference(reference)
                del request.session[FOUND]
                if booking is None:
                    return redirect("bookings:find")
                token = manage_token(tenant_id=request.tenant.pk, public_id=booking.public_id)
                return HttpResponseRedirect(reverse("bookings:manage", args=[token]), status=303)
            form.add_error(
                "code", _("That code is not right or has expired. Check it, or ask for a new one.")
            )
        return render(
            request, "bookings/portal/verify.html", {"form": form, "reference": reference}, status=422
        )
    return render(request, "bookings/portal/verify.html", {"form": form, "reference": reference})


# --- shared pieces ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotChoice:
    """A slot as the picker shows it: the start to post back, and its local time and day in words."""

    value: str
    time: str
    day: str
    seats_left: int
    recommended: bool = False


def slot_picker_response(
    request: HttpRequest,
    appointment_type: AppointmentType,
    *,
    template: str,
    action: str,
    base: str,
    problem: str = "",
    alternatives: list[AvailableSlot] | None = None,
    status: int = 200,
    week: datetime | None = None,
    ignore: list[int] | None = None,
    place: Place | None = None,
    **extra: Any,
) -> HttpResponse:
    """The week-by-week slot picker, as a full page or (for htmx) just its partial. With `place` (a visit
    at the customer's address), only times an officer can travel to, the best marked recommended."""
    now = timezone.now()
    point = place.point if place is not None and travel_applies(appointment_type, place.point) else None
    tz = appointment_type.tenant.zone
    today = now.astimezone(tz).date()
    this_monday = today - timedelta(days=today.weekday())
    monday, week_problem = _requested_week(
        request.GET.get("week"),
        this_monday,
        week,
        tz,
        horizon=(now + timedelta(days=appointment_type.horizon_days)).astimezone(tz).date(),
    )
    if week_problem:
        problem, status = problem or week_problem, 400
    slot_days, has_slots = _week_slot_days(appointment_type, monday, now, ignore or (), point)
    first = None
    if not has_slots:
        found = earliest_slot(appointment_type, now=now, point=point)
        first = found.start.astimezone(tz).date() if found else None
    horizon = (now + timedelta(days=appointment_type.horizon_days)).astimezone(tz).date()
    context = {
        "appointment_type": appointment_type,
        "slot_days": slot_days,
        "monday": monday,
        "sunday": monday + timedelta(days=6),
        "previous_week": monday - timedelta(days=7) if monday > this_monday else None,
        "next_week": monday + timedelta(days=7) if monday + timedelta(days=7) <= horizon else None,
        "first_available": first - timedelta(days=first.weekday()) if first else None,
        "has_slots": has_slots,
        "action": action,
        "base": base,
        "problem": problem,
        "alternatives": alternatives or [],
        "zone_name": appointment_type.tenant.time_zone,
        # What the week links carry on (a portal case link; the staff flow passes its own).
        "carry": f"&case={quote(extra['case_token'])}" if extra.get("case_token") else "",
        "travel_aware": point is not None,
        "place": place,
        **extra,
    }
    place_form = extra.get("place_form")
    if point is not None and place_form is not None and place_form.is_bound:
        # The week links and the chosen time carry the postcode the times were found for.
        context["postcode"] = place_form.cleaned_data["postcode"]
        context["carry"] += f"&postcode={quote(context['postcode'])}"
    name = f"{template}#slot-picker" if request.htmx and not request.htmx.boosted else template
    response = render(request, name, context, status=status)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _week_slot_days(
    appointment_type: AppointmentType,
    monday: date,
    now: datetime,
    ignore: Collection[int],
    point: Point | None = None,
) -> tuple[SafeString, bool]:
    """The week's days with their slot buttons (no CSRF token: the form around them is the caller's), and
    whether there is any slot.

    Rendered once and kept (SLOT_WEEK_CACHE_SECONDS at most) under the tenant's supply and booked versions,
    the type, the week and the language, for as long as `available_slots_stable` says the slots stay right:
    a configuration change or a booking moves the versions on in its own transaction, so no committed
    booking's time is offered from the cache. A reschedule (`ignore`) and a transaction compute afresh.
    Travel-aware weeks (`point`) are kept per point: the same versions say when their inputs change.
    """
    tz = appointment_type.tenant.zone
    start = datetime.combine(monday, time(0), tzinfo=tz)
    end = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=tz)
    versions = None if ignore else availability_versions(appointment_type.tenant)
    key = ""
    if versions is not None:
        key = ":".join(
            str(part)
            for part in (
                "slot-week",
                appointment_type.tenant_id,
                *versions,
                appointment_type.pk,
                monday.isoformat(),
                translation.get_language(),
                f"{point.latitude:.6f},{point.longitude:.6f}" if point is not None else "",
            )
        )
        try:
            kept = cache.get(key)
        except RedisError:
            kept = None
        if kept is not None and now.timestamp() < kept[2]:
            return mark_safe(kept[0]), kept[1]  # rendered by our own template, below
    if ignore:
        slots = available_slots(appointment_type, start, end, now=now, ignore_booking_ids=ignore, point=point)
        stable_until = now
    else:
        slots, stable_until = available_slots_stable(appointment_type, start, end, now=now, point=point)
    html = render_to_string("bookings/portal/_slot_days.html", {"days": _slot_choices(slots, monday, tz)})
    seconds = min(settings.SLOT_WEEK_CACHE_SECONDS, int((stable_until - now).total_seconds()))
    if key and seconds > 0:
        try:
            cache.set(key, (html, bool(slots), stable_until.timestamp()), seconds)
        except RedisError:
            logger.warning("slot-week cache unreachable: week not kept", exc_info=True)
    return mark_safe(html), bool(slots)


def _slot_choices(slots: list[AvailableSlot], monday: date, tz: Any) -> list[tuple[date, list[SlotChoice]]]:
    """The week's seven days, each with its slots as the buttons show them."""
    by_day: dict[date, list[SlotChoice]] = {monday + timedelta(days=i): [] for i in range(7)}
    # Django's own words for a.m. and p.m. in the active language, as its date filter's "A" gives them.
    am, pm = (date_format(datetime(2000, 1, 1, hour), "A").lower() for hour in (9, 15))
    day_names: dict[date, str] = {}
    for slot in slots:
        local = slot.start.astimezone(tz)
        day = local.date()
        if day not in day_names:
            day_names[day] = date_format(day, "l j F Y")
        by_day.setdefault(day, []).append(
            SlotChoice(
                value=slot.start.isoformat(),
                # As the date filter's "g:iA", lower case: formatted here once, not per slot and filter.
                time=f"{local.hour % 12 or 12}:{local.minute:02d}{pm if local.hour > 11 else am}",
                day=day_names[day],
                seats_left=slot.seats_left,
                recommended=slot.recommended,
            )
        )
    return sorted(by_day.items())


def _requested_week(
    value: str | None, this_monday: date, week: datetime | None, tz: Any, *, horizon: date
) -> tuple[date, str]:
    """The Monday of the week to show, and a problem to show with it when the request named no usable week.

    Only weeks from this one to the booking horizon have slots; anything else (including dates near the end
    of the calendar, where the week after would overflow) falls back to this week with a message.
    """
    if week is not None:
        day = week.astimezone(tz).date()
        return day - timedelta(days=day.weekday()), ""
    if not value:
        return this_monday, ""
    try:
        day = date.fromisoformat(value)
    except ValueError:
        return this_monday, _("That date is not valid. Here are this week's times.")
    monday = day - timedelta(days=day.weekday())
    if monday < this_monday:
        return this_monday, _("That week has passed. Here are this week's times.")
    if monday > horizon:
        return this_monday, _("That week is too far ahead to book yet. Here are this week's times.")
    return monday, ""


def visit_place(
    data: Any, appointment_type: AppointmentType, *, tenant_id: int
) -> tuple[VisitPlaceForm | None, Place | None]:
    """For a visit at the customer's address, the postcode form (bound when `data` has a postcode) and
    the place the geocoder finds for it; a postcode it cannot find is an error on the form. (None, None)
    for other types."""
    if appointment_type.location_mode != LocationMode.CUSTOMER_ADDRESS or appointment_type.is_group_session:
        return None, None
    form = VisitPlaceForm(data if "postcode" in data else None)
    if not form.is_bound or not form.is_valid():
        return form, None
    place = place_of(form.cleaned_data["postcode"], tenant_id=tenant_id)
    if place is None:
        form.add_error(
            "postcode",
            _("We cannot find that postcode in the area we cover. Check it, or call us to book."),
        )
    return form, place


def place_of(query: str, *, tenant_id: int) -> Place | None:
    """The place the geocoder finds for an address or postcode; None when it finds none or fails (a
    geocoding service that is down must not break booking)."""
    if not query.strip():
        return None
    try:
        return geocoder().geocode(tenant_id=tenant_id, query=query)
    except Exception:
        logger.warning("geocoder failed: the place is taken as unknown", exc_info=True)
        return None


def visit_place_of(booking: Booking) -> Place | None:
    point = booking_point(booking)
    return Place(booking.location, point) if point is not None else None


def customer_may_change(booking: Booking, now: datetime | None = None) -> bool:
    """Customers may move or cancel a confirmed booking until the type's cut-off before it starts."""
    now = now or timezone.now()
    cutoff = booking.starts_at - timedelta(hours=booking.appointment_type.cancellation_cutoff_hours)
    return booking.status == BookingStatus.CONFIRMED and now < cutoff


def _manage_context(booking: Booking, token: str) -> dict[str, Any]:
    return {"booking": booking, "token": token, "may_change": customer_may_change(booking)}


def _live_hold(
    request: HttpRequest, appointment_type: AppointmentType, starts_at: datetime
) -> Booking | None:
    """A second click on the same slot finds the hold the first click made."""
    return live_hold(
        references=request.session.get(HOLDS, []),
        appointment_type=appointment_type,
        starts_at=starts_at,
        now=timezone.now(),
    )


def _release_other_holds(request: HttpRequest, *, keep: Booking) -> None:
    """One browser holds one slot at a time: choosing another time frees the previous one."""
    for other in holds_among(request.session.get(HOLDS, [])):
        if other.pk != keep.pk:
            booking_cancel(booking=other, reason="Customer chose another time")


def _case_of(token: str | None, request: HttpRequest) -> tuple[str, str]:
    """The case (reference, kind) a signed case link names, or ("", "").

    A forged, expired or other tenant's token is ignored on purpose: the customer sees no error and the
    booking is simply made without a case (staff can still link it on the appointment page). Anyone can
    type anything into a public URL, so nothing unsigned ever reaches the booking.
    """
    if not token or len(token) > 1000:
        return "", ""
    try:
        return case_from_link(token, tenant_id=request.tenant.pk)
    except BadLink:
        return "", ""


def _case_token(token: str | None, request: HttpRequest) -> str:
    """The token itself when it is valid here (to carry through the pages), else ""."""
    return token if token and _case_of(token, request)[0] else ""


def _case_keep(request: HttpRequest, reference: str, case_token: str) -> None:
    """Remembers the case link a hold was made from, keyed by the hold's reference (the last ten)."""
    if not case_token:
        return
    cases = request.session.get(CASES, {})
    request.session[CASES] = {**dict(list(cases.items())[-9:]), reference: case_token}


def _draft(data: Any) -> dict[str, Any]:
    return {key: data.get(key) for key in data if key not in ("csrfmiddlewaretoken", "submission")}


def _confirm_key(request: HttpRequest, reference: str) -> str:
    """The idempotency key for confirming this hold: issued by the server once per hold and kept in the
    session, so a double submission reuses it whatever the page sent."""
    keys = request.session.get(CONFIRM_KEYS, {})
    if reference not in keys:
        keys = {**dict(list(keys.items())[-9:]), reference: uuid.uuid4().hex}
        request.session[CONFIRM_KEYS] = keys
    return keys[reference]


def too_many_requests(
    request: HttpRequest, *, retry_at: datetime | None = None, reason: str = ""
) -> HttpResponse:
    """429, saying what was too much and when to try again (also as Retry-After, in seconds)."""
    response = render(
        request, "bookings/portal/too_many.html", {"retry_at": retry_at, "reason": reason}, status=429
    )
    if retry_at is not None:
        response["Retry-After"] = str(max(1, int((retry_at - timezone.now()).total_seconds())))
    if request.htmx:
        # A partial swap cannot hold a whole page: htmx loads the full page, which answers 429 itself.
        response["HX-Redirect"] = request.get_full_path()
    return response


def bad_link(request: HttpRequest, error: BadLink) -> HttpResponse:
    return render(request, "bookings/portal/bad_link.html", {"expired": error.expired}, status=400)
