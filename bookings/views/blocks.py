"""Block booking for staff: choose the type, the customers and the period, preview the plan, confirm it,
and read (or download as CSV) what was booked and what was not.

The previewed plan is kept in the session under a key the server issues; confirming posts that key only,
so what is written is what was shown (re-checked at commit by `block_book`), and the key doubles as the
idempotency key: a second submission books nothing twice and shows the first one's result.
"""

from __future__ import annotations

import csv
import uuid
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from accounts.models import Officer
from accounts.permissions import role_required
from bookings.access import SCHEDULER_ROLES
from bookings.errors import BookingError
from bookings.forms.blocks import PROGRAMME, BlockConfirmForm, BlockForm, block_max_items
from bookings.models import Booking, Customer
from bookings.selectors.customer_search import customers_in_area
from bookings.services.blocks import (
    BlockItem,
    BlockOutcome,
    BlockPlan,
    block_book,
    block_check,
)
from scheduling.models import AppointmentType

BLOCK_ROLES = SCHEDULER_ROLES
PLANS, RESULTS = "block_plans", "block_results"
KEPT = 3  # previews and results kept per session (the newest)
TEMPLATE = "bookings/staff/blocks/block.html"


@dataclass(frozen=True)
class Row:
    """One item as a page or the CSV shows it."""

    index: int
    customer: str
    customer_id: int
    start: datetime | None
    officers: str
    reference: str
    reason: str
    alternatives: list[datetime]
    when: str  # the start, in the tenant's zone
    instead: list[str]  # the alternatives, likewise


@require_http_methods(["GET", "POST"])
@role_required(*BLOCK_ROLES)
def block_start(request: HttpRequest) -> HttpResponse:
    form = _form(request, request.POST if request.method == "POST" else None)
    if request.method == "GET":
        return render(request, TEMPLATE, {"form": form})
    if not form.is_valid():
        return render(request, TEMPLATE, {"form": form}, status=422)
    items, period = _items(form)
    if form.errors:
        return render(request, TEMPLATE, {"form": form}, status=422)
    kind = form.cleaned_data["appointment_type"]
    try:
        plan = block_check(appointment_type=kind, items=items, period=period)
    except BookingError as error:
        form.add_error(None, error.message)
        return render(request, TEMPLATE, {"form": form}, status=422)
    key = uuid.uuid4().hex
    _keep(
        request.session,
        PLANS,
        key,
        {
            "type": kind.pk,
            "mode": form.cleaned_data["mode"],
            "tell": form.cleaned_data["tell_customers"],
            "checked_at": plan.checked_at.timestamp(),
            "outcomes": [o.as_data() for o in plan.outcomes],
        },
    )
    context = {
        "form": form,
        "plan": plan,
        "key": key,
        "rows": _rows(plan.outcomes, {}, request),
        "placed": len(plan.placed),
        "conflicts": len(plan.conflicts),
        "mode": form.cleaned_data["mode"],
        "tell": form.cleaned_data["tell_customers"],
    }
    return render(request, TEMPLATE, context)


@require_POST
@role_required(*BLOCK_ROLES)
def block_confirm(request: HttpRequest) -> HttpResponse:
    confirm = BlockConfirmForm(request.POST)
    key = confirm.cleaned_data["plan"] if confirm.is_valid() else ""
    kept = request.session.get(PLANS, {}).get(key)
    if kept is None:
        if key and key in request.session.get(RESULTS, {}):
            return _to_result(key)
        return _again(request, _("That plan is no longer available. Check the block again."), 409)
    kind = AppointmentType.objects.select_related("tenant").filter(pk=kept["type"]).first()
    if kind is None:
        return _again(request, _("That type of appointment is no longer available."), 409)
    plan = BlockPlan(
        appointment_type=kind,
        outcomes=[BlockOutcome.from_data(o) for o in kept["outcomes"]],
        checked_at=datetime.fromtimestamp(kept["checked_at"], tz=timezone.get_current_timezone()),
    )
    try:
        result = block_book(
            plan=plan,
            mode=kept["mode"],
            tell_customers=kept["tell"],
            actor=request.user,
            idempotency_key=f"staff-block:{key}",
        )
    except BookingError as error:
        return _again(request, error.message, 409)
    outcomes = [{**o.as_data(), "booking": o.booking.pk if o.booking else None} for o in result.outcomes]
    _keep(request.session, RESULTS, key, {"mode": result.mode, "saved": result.saved, "outcomes": outcomes})
    return _to_result(key)


@role_required(*BLOCK_ROLES)
def block_result(request: HttpRequest) -> HttpResponse:
    kept, key = _result_kept(request)
    if kept is None:
        return _again(request, _("That result is no longer available."), 404)
    rows = _rows(*_outcomes(kept), request)
    booked = [r for r in rows if r.reference]
    context = {
        "key": key,
        "saved": kept["saved"],
        "mode": kept["mode"],
        "booked": booked,
        "conflicts": [r for r in rows if r.reason],
        "unbooked": [r for r in rows if not r.reference and not r.reason],
    }
    return render(request, "bookings/staff/blocks/result.html", context)


@role_required(*BLOCK_ROLES)
def block_result_csv(request: HttpRequest) -> HttpResponse:
    kept, key = _result_kept(request)
    if kept is None:
        return _again(request, _("That result is no longer available."), 404)
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="block-{key[:8]}.csv"'
    writer = csv.writer(response)
    writer.writerow(["item", "customer_number", "customer", "outcome", "reference", "start", "officers",
                     "reason", "alternatives"])  # fmt: skip
    zone = request.tenant.zone
    for row in _rows(*_outcomes(kept), request):
        writer.writerow(
            [
                row.index + 1,
                row.customer_id,
                _cell(row.customer),
                "booked" if row.reference else ("conflict" if row.reason else "not booked"),
                row.reference,
                row.start.astimezone(zone).strftime("%Y-%m-%d %H:%M") if row.start else "",
                _cell(row.officers),
                _cell(row.reason),
                "; ".join(a.astimezone(zone).strftime("%Y-%m-%d %H:%M") for a in row.alternatives),
            ]
        )
    return response


# --- helpers ------------------------------------------------------------------------------------------------


def _form(request: HttpRequest, data: Any) -> BlockForm:
    now = timezone.now()
    zone = request.tenant.zone
    return BlockForm(data, today=now.astimezone(zone).date(), now=now, zone=zone)


def _items(form: BlockForm) -> tuple[list[BlockItem], tuple[datetime, datetime] | None]:
    """The items the form asks for, with the customers found in the active tenant (a customer that is
    not found, another tenant's included, is a form error naming it)."""
    data = form.cleaned_data
    if data["kind"] != PROGRAMME:
        if not Customer.objects.filter(pk=data["customer"]).exists():
            form.add_error("customer", _("There is no customer number %(n)d.") % {"n": data["customer"]})
        return [BlockItem(customer_id=data["customer"], starts_at=s) for s in data["start_times"]], None
    zone = form.zone
    period = (
        datetime.combine(data["first_day"], time.min, zone),
        datetime.combine(data["last_day"] + timedelta(days=1), time.min, zone),
    )
    ids: list[int] = []
    listed = data["listed_ids"]
    if listed:
        found = set(Customer.objects.filter(pk__in=listed).values_list("pk", flat=True))
        missing = [str(pk) for pk in listed if pk not in found]
        if missing:
            form.add_error(
                "customer_list", _("No such customers: %(ids)s") % {"ids": ", ".join(missing[:10])}
            )
        ids += [pk for pk in listed if pk in found]
    if references := data["listed_references"]:
        of = dict(
            Booking.objects.filter(reference__in=references, customer__isnull=False).values_list(
                "reference", "customer_id"
            )
        )
        if missing := [r for r in references if r not in of]:
            form.add_error(
                "customer_list",
                _("No bookings with these references: %(refs)s") % {"refs": ", ".join(missing[:10])},
            )
        ids += [of[r] for r in references if r in of]
    if text := data["customer_filter"].strip():
        matching = customers_in_area(text)[: block_max_items() + 1]
        if not matching:
            form.add_error(
                "customer_filter", _("No customer's postcode or town matches %(text)s.") % {"text": text}
            )
        ids += matching
    ids = list(dict.fromkeys(ids))
    if len(ids) > block_max_items():
        form.add_error(None, form.too_many(len(ids)))
    return [BlockItem(customer_id=pk) for pk in ids], period


def _keep(session: SessionBase, name: str, key: str, value: dict[str, Any]) -> None:
    kept = dict(session.get(name, {}))
    kept[key] = value
    session[name] = dict(list(kept.items())[-KEPT:])


def _result_kept(request: HttpRequest) -> tuple[dict[str, Any] | None, str]:
    key = request.GET.get("plan", "")[:32]
    return request.session.get(RESULTS, {}).get(key), key


def _outcomes(kept: dict[str, Any]) -> tuple[list[BlockOutcome], dict[int, int]]:
    outcomes = [BlockOutcome.from_data(o) for o in kept["outcomes"]]
    bookings = {o["index"]: o["booking"] for o in kept["outcomes"] if o.get("booking")}
    return outcomes, bookings


def _rows(outcomes: list[BlockOutcome], bookings: dict[int, int], request: HttpRequest) -> list[Row]:
    """Rows with names: customers, officers and bookings read once each."""
    customers = dict(
        Customer.objects.filter(pk__in={o.customer_id for o in outcomes}).values_list("pk", "full_name")
    )
    officers = dict(
        Officer.objects.filter(pk__in={i for o in outcomes for i in o.officer_ids}).values_list(
            "pk", "user__full_name"
        )
    )
    references = dict(Booking.objects.filter(pk__in=bookings.values()).values_list("pk", "reference"))
    zone = request.tenant.zone

    def local(moment: datetime) -> str:
        return formats.date_format(moment.astimezone(zone), "D j M Y H:i")

    return [
        Row(
            index=o.index,
            customer=customers.get(o.customer_id, ""),
            customer_id=o.customer_id,
            start=o.starts_at,
            officers=", ".join(officers.get(i, "") for i in o.officer_ids),
            reference=references.get(bookings.get(o.index, 0), ""),
            reason=o.reason,
            alternatives=list(o.alternatives),
            when=local(o.starts_at) if o.starts_at else "",
            instead=[local(a) for a in o.alternatives],
        )
        for o in outcomes
    ]


def _cell(text: str) -> str:
    """Spreadsheets run a cell that starts like a formula: such text is kept as text."""
    return f"'{text}" if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _to_result(key: str) -> HttpResponse:
    return HttpResponseRedirect(f"{reverse('bookings:block-result')}?plan={key}", status=303)


def _again(request: HttpRequest, problem: str, status: int) -> HttpResponse:
    return render(request, TEMPLATE, {"form": _form(request, None), "problem": problem}, status=status)


urls = [
    path("staff/blocks/", block_start, name="block"),
    path("staff/blocks/confirm/", block_confirm, name="block-confirm"),
    path("staff/blocks/result/", block_result, name="block-result"),
    path("staff/blocks/result.csv", block_result_csv, name="block-result-csv"),
]
