"""Customer service: find a customer, see and correct their record, book, move or cancel for a caller.

Booking for a caller is the portal's flow with staff in charge: any active type (staff-only ones too), the
same week-by-week slot picker and engine, a staff hold (`booking_hold`, channel "staff"), then the details
and `booking_confirm_for_caller` with an idempotency key the server issued for that hold. Staff are held to
the type's minimum notice like the portal; urgent work goes through the emergency booking screen.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from accounts.models import Role
from accounts.permissions import role_required
from bookings.access import DESK_ROLES, access_booking, access_customer
from bookings.availability import earliest_slot
from bookings.errors import BookingError, ContactRefused, IdempotencyConflict, SlotUnavailable
from bookings.forms import SlotForm
from bookings.forms.customer_service import (
    CallerDetailsForm,
    CustomerEditForm,
    CustomerSearchForm,
    StaffCancelForm,
)
from bookings.models import Booking, BookingStatus, Channel, Customer
from bookings.selectors.customer_search import PAGE_SIZE, CustomerQuery, customers_matching
from bookings.selectors.messages import customer_messages
from bookings.services import (
    booking_cancel,
    booking_confirm_for_caller,
    booking_hold,
    booking_reschedule,
    customer_update,
)
from scheduling.locations import Place
from scheduling.models import AppointmentType, LocationMode

from .portal import place_of, slot_picker_response, visit_place, visit_place_of

BOOKING_ROLES = (Role.CUSTOMER_SERVICE, Role.ADMINISTRATOR, Role.MANAGER)
STAFF_HOLDS = "staff_holds"  # references of the holds this member made for callers
STAFF_CONFIRM_KEYS = "staff_confirm_keys"  # reference -> the idempotency key issued for confirming it
STAFF_PLACES = "staff_places"  # hold reference -> the postcode its times were chosen for (visits on site)
CARRIED = ("customer", "follow_up_of")  # what the booking flow carries from step to step


# --- customers -------------------------------------------------------------------------------------------


@role_required(*DESK_ROLES)
def customer_search(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET if "q" in request.GET else None)
    context: dict[str, Any] = {"form": form, "page": None}
    if form.is_bound and form.is_valid():
        query = CustomerQuery.parse(form.cleaned_data["q"])
        paginator = Paginator(customers_matching(query), PAGE_SIZE)
        context["page"] = paginator.get_page(request.GET.get("page"))
        context["query"] = urlencode({"q": form.cleaned_data["q"]})
    status = 422 if form.is_bound and not form.is_valid() else 200
    return render(request, "bookings/staff/customer_search.html", context, status=status)


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def customer_detail(request: HttpRequest, customer_id: int) -> HttpResponse:
    customer = access_customer(customer_id)
    if request.method == "POST":
        form = CustomerEditForm(request.POST)
        if form.is_valid():
            try:
                customer_update(
                    customer=customer,
                    actor=request.user,
                    reason=_("Identity checked by %(name)s") % {"name": request.user.full_name},
                    **form.changes(),
                )
            except ContactRefused as error:
                form.add_error(error.field, error.message)
            except BookingError as error:
                form.add_error(None, error.message)
            else:
                return HttpResponseRedirect(
                    reverse("bookings:customer", args=[customer.pk]) + "?saved=1", status=303
                )
        return render(
            request, "bookings/staff/customer_detail.html", _customer_context(customer, form), status=422
        )
    names = [name for name in CustomerEditForm.base_fields if name != "identity_checked"]
    form = CustomerEditForm(initial={name: getattr(customer, name) for name in names})
    return render(request, "bookings/staff/customer_detail.html", _customer_context(customer, form))


def _customer_context(customer: Customer, form: CustomerEditForm) -> dict[str, Any]:
    now = timezone.now()
    bookings = list(
        Booking.objects.filter(customer=customer)
        .exclude(status__in=[BookingStatus.HELD, BookingStatus.EXPIRED])
        .select_related("appointment_type")
        .order_by("starts_at")[:200]
    )
    upcoming = [b for b in bookings if b.starts_at >= now]
    past = sorted((b for b in bookings if b.starts_at < now), key=lambda b: b.starts_at, reverse=True)
    messages = customer_messages(customer, references=[b.reference for b in bookings])
    events = list(customer.events.select_related("actor").order_by("-created_at", "-pk")[:100])
    return {
        "customer": customer,
        "form": form,
        "upcoming": upcoming,
        "past": past,
        "messages_sent": messages,
        "events": events,
    }


# --- booking for a caller --------------------------------------------------------------------------------


@role_required(*BOOKING_ROLES)
def book_start(request: HttpRequest) -> HttpResponse:
    carried = _carried(request)
    follow_up_of = carried.get("follow_up_of_booking")
    wanted = request.GET.get("type", "") or (follow_up_of.appointment_type.slug if follow_up_of else "")
    if wanted:
        appointment_type = _access_type(wanted)
        params = _carry_params(carried)
        if after := _after(request):
            params["after"] = after.isoformat()
        return redirect(reverse("bookings:staff-book-slots", args=[appointment_type.slug]) + _qs(params))
    types = (
        AppointmentType.objects.active()
        .select_related("category")
        .order_by("category__position", "category__name", "name")
    )
    context = {"types": types, "carry": _qs(_carry_params(carried)), **carried}
    return render(request, "bookings/staff/book_start.html", context)


@role_required(*BOOKING_ROLES)
@require_http_methods(["GET", "POST"])
def book_slots(request: HttpRequest, slug: str) -> HttpResponse:
    """The slot picker; choosing a time (POST) holds it for the caller."""
    if request.method == "POST":
        return book_hold(request, slug)
    appointment_type = _access_type(slug)
    carried = _carried(request)
    week = None
    if not request.GET.get("week") and (after := _after(request)):
        week = _first_week_from(appointment_type, after)
    return _picker(request, appointment_type, carried, week=week)


def book_hold(request: HttpRequest, slug: str) -> HttpResponse:
    appointment_type = _access_type(slug)
    carried = _carried(request)
    form = SlotForm(request.POST)
    if not form.is_valid():
        return _picker(
            request, appointment_type, carried, problem=_("Choose a time from the list."), status=400
        )
    starts_at = form.cleaned_data["start"]
    place = _staff_place(request.POST, appointment_type, carried, tenant_id=request.tenant.pk).place
    same = Booking.objects.filter(
        reference__in=request.session.get(STAFF_HOLDS, []),
        appointment_type=appointment_type,
        starts_at=starts_at,
        status=BookingStatus.HELD,
        hold_expires_at__gt=timezone.now(),
    ).first()
    if same is None:
        try:
            same = booking_hold(
                appointment_type=appointment_type,
                starts_at=starts_at,
                channel=Channel.STAFF,
                actor=request.user,
                point=place.point if place is not None else None,
            )
        except SlotUnavailable as error:
            return _picker(
                request,
                appointment_type,
                carried,
                problem=error.message,
                alternatives=error.alternatives,
                status=409,
                week=starts_at,
            )
        except BookingError as error:
            return _picker(request, appointment_type, carried, problem=error.message, status=400)
        request.session[STAFF_HOLDS] = [*request.session.get(STAFF_HOLDS, [])[-19:], same.reference]
        if place is not None and "customer_record" not in carried:
            places = request.session.get(STAFF_PLACES, {})
            request.session[STAFF_PLACES] = {**dict(list(places.items())[-19:]), same.reference: place.label}
    url = reverse("bookings:staff-book-details", args=[same.reference]) + _qs(_carry_params(carried))
    return HttpResponseRedirect(url, status=303 if request.htmx else 302)


@role_required(*BOOKING_ROLES)
@require_http_methods(["GET", "POST"])
def book_details(request: HttpRequest, reference: str) -> HttpResponse:
    booking = _access_staff_hold(request, reference)
    if booking.status == BookingStatus.CONFIRMED:
        return _booked(booking)
    if booking.status not in (BookingStatus.HELD, BookingStatus.EXPIRED):
        raise Http404
    carried = _carried(request)
    customer, follow_up_of = carried.get("customer_record"), carried.get("follow_up_of_booking")
    appointment_type = booking.appointment_type
    confirm_key = _confirm_key(request, reference)
    search = CustomerSearchForm(request.GET if "q" in request.GET else None)
    found = None
    if customer is None and search.is_bound and search.is_valid():
        found = customers_matching(CustomerQuery.parse(search.cleaned_data["q"]))[:PAGE_SIZE]
    context: dict[str, Any] = {
        "booking": booking,
        "appointment_type": appointment_type,
        "customer": customer,
        "follow_up_of": follow_up_of,
        "search": search,
        "found": found,
        "carry": _qs(_carry_params(carried)),
        "base": reverse("bookings:staff-book-details", args=[reference]),
        "hold_action": reverse("bookings:staff-book-slots", args=[appointment_type.slug])
        + _qs(_carry_params(carried)),
    }
    form_args = {"appointment_type": appointment_type, "new_customer": customer is None}
    if request.method == "POST":
        form = CallerDetailsForm(request.POST, **form_args)
        context["form"] = form
        if not form.is_valid():
            return render(request, "bookings/staff/book_details.html", context, status=422)
        new_customer = None
        if customer is None:
            new_customer = {
                "full_name": form.cleaned_data["full_name"],
                "email": form.cleaned_data.get("email", ""),
                "phone": form.cleaned_data.get("phone", ""),
                "contact_by_email": form.cleaned_data["contact_by"] in ("email", "both"),
                "contact_by_sms": form.cleaned_data["contact_by"] in ("sms", "both"),
                "consent_given_at": timezone.now() if form.cleaned_data.get("consent") else None,
                "preferred_language": translation.get_language(),
                "accessibility_needs": form.cleaned_data.get("accessibility_needs", ""),
                **form.address(),
            }
        language = customer.preferred_language if customer else translation.get_language()
        try:
            booking = booking_confirm_for_caller(
                booking=booking,
                customer=customer,
                new_customer=new_customer,
                contact=form.contact(language=language),
                answers=form.answers(),
                location=form.location_text(),
                notes=form.cleaned_data.get("notes", ""),
                case_reference=form.cleaned_data.get("case_reference", ""),
                case_kind=form.cleaned_data.get("case_kind", ""),
                follow_up_of=follow_up_of,
                actor=request.user,
                idempotency_key=f"staff-confirm:{confirm_key}",
            )
        except SlotUnavailable as error:
            context.update(problem=error.message, alternatives=error.alternatives)
            return render(request, "bookings/staff/book_details.html", context, status=409)
        except IdempotencyConflict as error:
            form.add_error(None, error.message)
            return render(request, "bookings/staff/book_details.html", context, status=409)
        except ContactRefused as error:
            # Only a new customer's details are checked: show the words beside the field at fault.
            form.add_error(error.field if customer is None else None, error.message)
            return render(request, "bookings/staff/book_details.html", context, status=422)
        except BookingError as error:
            form.add_error(None, error.message)
            return render(request, "bookings/staff/book_details.html", context, status=422)
        return _booked(booking, status=303)
    initial = _details_initial(customer, follow_up_of, confirm_key)
    if customer is None and (postcode := request.session.get(STAFF_PLACES, {}).get(reference)):
        initial["postcode"] = postcode
    context["form"] = CallerDetailsForm(initial=initial, **form_args)
    return render(request, "bookings/staff/book_details.html", context)


# --- changing a booking ----------------------------------------------------------------------------------


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def staff_reschedule(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = access_booking(booking_id)
    action = reverse("bookings:staff-reschedule", args=[booking.pk])

    def picker(**problem: Any) -> HttpResponse:
        return slot_picker_response(
            request,
            booking.appointment_type,
            template="bookings/staff/reschedule.html",
            action=action,
            base=action,
            booking=booking,
            carry="",
            ignore=[booking.pk],
            place=visit_place_of(booking),
            **problem,
        )

    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.NEEDS_REBOOKING):
        return picker(problem=_("Only a confirmed booking can be moved."), status=409)
    if request.method == "GET":
        return picker()
    form = SlotForm(request.POST)
    if not form.is_valid():
        return picker(problem=_("Choose a time from the list."), status=400)
    starts_at = form.cleaned_data["start"]
    try:
        # Keyed on the booking's history so far: a double submission moves it once.
        booking_reschedule(
            booking=booking,
            starts_at=starts_at,
            actor=request.user,
            idempotency_key=f"staff-move:{booking.public_id}:{booking.events.count()}",
        )
    except IdempotencyConflict as error:
        return picker(problem=error.message, status=409)
    except SlotUnavailable as error:
        return picker(problem=error.message, alternatives=error.alternatives, status=409, week=starts_at)
    except BookingError as error:
        return picker(problem=error.message, status=400)
    return _after_change(booking, "moved")


@role_required(*DESK_ROLES)
@require_http_methods(["GET", "POST"])
def staff_cancel(request: HttpRequest, booking_id: int) -> HttpResponse:
    booking = access_booking(booking_id)
    form = StaffCancelForm(request.POST or None)
    status = 200
    if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.NEEDS_REBOOKING, BookingStatus.HELD):
        if not form.is_bound:
            # An unbound form has no cleaned_data to carry the refusal: bind it to nothing, errors only ours.
            form = StaffCancelForm({})
            form.full_clean()
            form._errors.clear()
        form.add_error(None, _("This booking can no longer be cancelled."))
        status = 409
    elif request.method == "POST" and form.is_valid():
        try:
            booking_cancel(
                booking=booking,
                reason=form.cleaned_data["reason"],
                actor=request.user,
                idempotency_key=f"staff-cancel:{booking.public_id}:{booking.events.count()}",
            )
        except BookingError as error:
            form.add_error(None, error.message)
            status = 409
        else:
            return _after_change(booking, "cancelled")
    elif request.method == "POST":
        status = 422
    return render(request, "bookings/staff/cancel.html", {"booking": booking, "form": form}, status=status)


# --- shared pieces ---------------------------------------------------------------------------------------


def _access_type(wanted: str) -> AppointmentType:
    """Any active type of the tenant, staff-only ones included; by slug or by id."""
    types = AppointmentType.objects.active().select_related("tenant", "category")
    if wanted.isdigit():
        return get_object_or_404(types, pk=int(wanted))
    return get_object_or_404(types, slug=wanted)


def _access_staff_hold(request: HttpRequest, reference: str) -> Booking:
    """A booking made by staff (a hold being completed, or done); desk staff may finish each other's."""
    return get_object_or_404(
        Booking.objects.select_related("appointment_type__tenant", "customer").filter(channel=Channel.STAFF),
        reference=reference,
    )


def _int_param(request: HttpRequest, name: str) -> int | None:
    value = request.GET.get(name, "")
    return int(value) if value.isdigit() and len(value) < 12 else None


def _carried(request: HttpRequest) -> dict[str, Any]:
    """The customer and the booking followed up, from the query string; another tenant's ids are 404.
    A follow-up is for the first appointment's customer, whatever else was asked."""
    carried: dict[str, Any] = {}
    if (follow_up_id := _int_param(request, "follow_up_of")) is not None:
        first = access_booking(follow_up_id)
        carried["follow_up_of_booking"] = first
        if first.customer is not None:
            carried["customer_record"] = first.customer
    if "customer_record" not in carried and (customer_id := _int_param(request, "customer")) is not None:
        carried["customer_record"] = access_customer(customer_id)
    return carried


def _carry_params(carried: dict[str, Any]) -> dict[str, str]:
    params = {}
    if first := carried.get("follow_up_of_booking"):
        params["follow_up_of"] = str(first.pk)
    if customer := carried.get("customer_record"):
        params["customer"] = str(customer.pk)
    return params


def _qs(params: dict[str, str]) -> str:
    return "?" + urlencode(params) if params else ""


def _after(request: HttpRequest) -> date | None:
    try:
        return date.fromisoformat(request.GET.get("after", ""))
    except ValueError:
        return None


def _first_week_from(appointment_type: AppointmentType, after: date) -> datetime | None:
    """The start of the first slot on or after `after`, so the picker opens on its week."""
    now = timezone.now()
    start = datetime.combine(after, time(0), tzinfo=appointment_type.tenant.zone)
    horizon = now + timedelta(days=appointment_type.horizon_days)
    if start >= horizon:
        return None
    slot = earliest_slot(appointment_type, now=max(now, start), until=horizon)
    return slot.start if slot else None


def _picker(
    request: HttpRequest, appointment_type: AppointmentType, carried: dict[str, Any], **problem: Any
) -> HttpResponse:
    carry = _qs(_carry_params(carried))
    data = request.POST if request.method == "POST" else request.GET
    found = _staff_place(data, appointment_type, carried, tenant_id=request.tenant.pk)
    return slot_picker_response(
        request,
        appointment_type,
        template="bookings/staff/book_slots.html",
        action=reverse("bookings:staff-book-slots", args=[appointment_type.slug]) + carry,
        base=reverse("bookings:staff-book-slots", args=[appointment_type.slug]),
        carry="&" + carry[1:] if carry else "",
        customer=carried.get("customer_record"),
        follow_up_of=carried.get("follow_up_of_booking"),
        place_form=found.form,
        place=found.place,
        place_carry=sorted(_carry_params(carried).items()),
        travel_unchecked=found.unchecked,
        **problem,
    )


class _StaffPlace(NamedTuple):
    form: Any  # VisitPlaceForm | None
    place: Place | None
    unchecked: str  # why travel was not checked, for the page


def _staff_place(
    data: Any, appointment_type: AppointmentType, carried: dict[str, Any], *, tenant_id: int
) -> _StaffPlace:
    """Where a visit at the customer's address happens, for the staff flow: the postcode typed on the
    page, else the caller's record (postcode, then the whole address). Staff may book without a place:
    the times are then all free times, with a warning that travel was not checked."""
    if appointment_type.location_mode != LocationMode.CUSTOMER_ADDRESS or appointment_type.is_group_session:
        return _StaffPlace(None, None, "")
    form, place = visit_place(data, appointment_type, tenant_id=tenant_id)
    customer = carried.get("customer_record")
    if form is not None and not form.is_bound and customer is not None:
        for query in (customer.postcode, customer.address):
            if place := place_of(query, tenant_id=tenant_id):
                form = form.__class__(initial={"postcode": customer.postcode})
                return _StaffPlace(form, Place(customer.postcode or place.label, place.point), "")
    if place is not None and form is not None:
        return _StaffPlace(form, Place(form.cleaned_data["postcode"], place.point), "")
    if form is not None and form.is_bound:
        why = _("That postcode was not found, so these are all free times.")
    elif customer is not None:
        why = _("The caller's address was not found, so these are all free times.")
    else:
        why = _("Enter the postcode of the visit to see the times an officer can travel to.")
    return _StaffPlace(form, None, why)


def _details_initial(
    customer: Customer | None, follow_up_of: Booking | None, confirm_key: str
) -> dict[str, Any]:
    initial: dict[str, Any] = {"submission": confirm_key}
    if customer is not None:
        by_email, by_sms = customer.contact_by_email, customer.contact_by_sms
        initial.update(
            full_name=customer.full_name,
            email=customer.email,
            phone=customer.phone,
            address_line_1=customer.address_line_1,
            address_line_2=customer.address_line_2,
            town=customer.town,
            postcode=customer.postcode,
            accessibility_needs=customer.accessibility_needs,
            contact_by=(
                "both" if by_email and by_sms else "sms" if by_sms else "email" if by_email else "none"
            ),
            consent=customer.consent_given_at is not None,
        )
    if follow_up_of is not None:
        initial.update(
            location=follow_up_of.location,
            case_reference=follow_up_of.case_reference,
            case_kind=follow_up_of.case_kind,
        )
    return initial


def _confirm_key(request: HttpRequest, reference: str) -> str:
    """Issued by the server once per hold and kept in the session, so a double submission confirms once."""
    keys = request.session.get(STAFF_CONFIRM_KEYS, {})
    if reference not in keys:
        keys = {**dict(list(keys.items())[-19:]), reference: uuid.uuid4().hex}
        request.session[STAFF_CONFIRM_KEYS] = keys
    return keys[reference]


def _booked(booking: Booking, status: int = 302) -> HttpResponse:
    url = (
        reverse("bookings:customer", args=[booking.customer_id])
        + "?"
        + urlencode({"booked": booking.reference})
    )
    return HttpResponseRedirect(url, status=status)


def _after_change(booking: Booking, what: str) -> HttpResponse:
    if booking.customer_id is None:
        return HttpResponseRedirect(f"/staff/bookings/{booking.pk}/", status=303)
    url = (
        reverse("bookings:customer", args=[booking.customer_id]) + "?" + urlencode({what: booking.reference})
    )
    return HttpResponseRedirect(url, status=303)


urls = [
    path("staff/customers/", customer_search, name="customer-search"),
    path("staff/customers/<int:customer_id>/", customer_detail, name="customer"),
    path("staff/book/", book_start, name="staff-book"),
    path("staff/book/<slug:slug>/", book_slots, name="staff-book-slots"),
    path("staff/book/hold/<str:reference>/", book_details, name="staff-book-details"),
    path("staff/bookings/<int:booking_id>/reschedule/", staff_reschedule, name="staff-reschedule"),
    path("staff/bookings/<int:booking_id>/cancel/", staff_cancel, name="staff-cancel"),
]
