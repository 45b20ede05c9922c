"""The manager dashboard, `/staff/reports/`: filters in the query string; htmx swaps the panels."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from urllib.parse import urlencode

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST, require_safe
from django.views.decorators.vary import vary_on_headers

from accounts.permissions import role_required

from ..charts import Chart, bar_chart, line_chart
from ..selectors.dashboard import Dashboard, Panel, dashboard
from ..tables import Table
from ..tasks import refresh_report_period
from .common import REPORT_ROLES, filter_form, per_person_limit
from .exports import export_links, monthly_link


def _presets(today: date) -> list[tuple[str, str]]:
    """Quick periods, as query strings."""
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    periods = [
        (_("Last 4 weeks"), today - timedelta(days=27), today),
        (_("This month"), month_start, today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
        (_("Last 12 months"), today - timedelta(days=364), today),
    ]
    return [(label, urlencode({"start": a.isoformat(), "end": b.isoformat()})) for label, a, b in periods]


@dataclass(frozen=True)
class Figure:
    """A table as the page shows it: with its chart (if it has one) and its downloads."""

    table: Table
    chart: Chart | None
    exports: list[tuple[str, str]]


def _chart(table: Table) -> Chart | None:
    """Which tables are drawn, and how: the rest are shown as tables."""
    keys = [column.key for column in table.columns]
    if table.slug in ("bookings-by-channel", "bookings-by-type"):
        return bar_chart(table, category=keys[0], series=keys[1:-1], title=table.title)
    if table.slug == "forecast":
        return bar_chart(table, category="week", series=["booked", "expected"], title=table.title)
    if table.slug == "next-slot-trend":
        return line_chart(table, category=keys[0], series=keys[1:], title=table.title)
    if table.slug == "utilisation-officers":
        return bar_chart(
            table,
            category=keys[0],
            series=["offered_hours", "booked_hours"],
            title=table.title,
            stacked=False,
        )
    if table.slug == "resources":
        return bar_chart(
            table,
            category=keys[0],
            series=["available_hours", "booked_hours"],
            title=table.title,
            stacked=False,
        )
    if table.slug == "survey-scores":
        return bar_chart(table, category=keys[0], series=["responses"], title=table.title)
    return None


def sections(board: Dashboard, query: str) -> list[tuple[Panel, list[Figure]]]:
    return [
        (panel, [Figure(t, _chart(t), export_links(t.slug, query)) for t in panel.tables])
        for panel in board.panels
    ]


@require_safe
@vary_on_headers("HX-Request")
@role_required(*REPORT_ROLES)
def reports_page(request: HttpRequest) -> HttpResponse:
    form = filter_form(request)
    context = {"form": form, "presets": _presets(form.today)}
    if not form.is_valid():
        return render(request, "reporting/dashboard.html", context, status=400)
    board = dashboard(tenant=request.tenant, filters=form.filters(), now=timezone.now())
    query = urlencode(form.query())
    context |= {
        "board": board,
        "query": query,
        "describe": board.filters.describe(),
        "sections": sections(board, query),
        "monthly": monthly_link(query),
    }
    template = "reporting/dashboard.html#report" if request.htmx else "reporting/dashboard.html"
    return render(request, template, context)


@require_POST
@role_required(*REPORT_ROLES)
@per_person_limit("REPORT_REFRESH_RATE", method="POST")
def reports_refresh_page(request: HttpRequest) -> HttpResponse:
    """Queues a rewrite of the period's stored summaries (the live day never needs one)."""
    form = filter_form(request)
    if request.POST.get("action") != "recalculate" or not form.is_valid():
        return redirect(reverse("reporting:reports"))
    filters = form.filters()
    task_kwargs = {
        "tenant_id": request.tenant.pk,
        "first_day": filters.first_day.isoformat(),
        "last_day": min(filters.last_day, form.today).isoformat(),
    }
    transaction.on_commit(lambda: refresh_report_period.apply_async(kwargs=task_kwargs), robust=True)
    messages.success(
        request, _("The figures for this period are being recalculated. Reload the page in a minute.")
    )
    return redirect(f"{reverse('reporting:reports')}?{urlencode(form.query())}")


urls = [
    path("staff/reports/", reports_page, name="reports"),
    path("staff/reports/recalculate/", reports_refresh_page, name="recalculate"),
]
