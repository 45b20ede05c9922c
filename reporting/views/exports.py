"""Downloads of any dashboard table (`/staff/reports/<table>.csv` and `.xlsx`, with the dashboard's filters
in the query string) and the monthly summary for committee reports (`/staff/reports/monthly/`), a page
made to be printed or saved as PDF."""

from __future__ import annotations

import csv
import dataclasses
import re
from collections.abc import Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import path, reverse
from django.utils import dateformat, timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_safe

from accounts.permissions import role_required

from ..charts import cell_text
from ..exports import describe_filters, table_csv_rows, table_xlsx
from ..forms import ReportFilterForm
from ..selectors.dashboard import Dashboard, Headline, Panel, dashboard
from .common import REPORT_ROLES, filter_form, per_person_limit

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The printable summary reads months at most this far from the current one, either way.
MONTHLY_MAX_MONTHS_AWAY = 120
MONTHLY_FILTERS = ("team", "officer", "appointment_type", "category", "channel")


def export_links(table_slug: str, query: Mapping[str, str] | str) -> list[tuple[str, str]]:
    """The (label, href) pairs of a table's downloads, carrying the dashboard's filters (`form.query()` or
    its urlencoded string): what `{% include "reporting/_table.html" with exports=... %}` lists."""
    encoded = query if isinstance(query, str) else urlencode(query)
    suffix = f"?{encoded}" if encoded else ""
    return [
        (_("Download CSV"), reverse("reporting:export-csv", args=[table_slug]) + suffix),
        (_("Download Excel (XLSX)"), reverse("reporting:export-xlsx", args=[table_slug]) + suffix),
    ]


def monthly_link(query: Mapping[str, str] | str) -> str:
    """The monthly summary with the dashboard's filters: of the dashboard's period when that is exactly
    one calendar month, otherwise of the last complete month (the page's default)."""
    given = dict(parse_qsl(query)) if isinstance(query, str) else dict(query)
    params = {name: given[name] for name in MONTHLY_FILTERS if given.get(name)}
    try:
        start, end = date.fromisoformat(given["start"]), date.fromisoformat(given["end"])
    except (KeyError, ValueError):
        start = end = None
    if start is not None and end is not None and start.day == 1 and end == _month_end(start):
        params = {"month": start.strftime("%Y-%m"), **params}
    url = reverse("reporting:monthly")
    return f"{url}?{urlencode(params)}" if params else url


# --- downloads -------------------------------------------------------------------------------------------


class Echo:
    """A file-like object that hands back what csv.writer writes, so rows can be streamed."""

    def write(self, value: str) -> str:
        return value


def _problems(form: forms.Form) -> str:
    """The form's errors as one sentence per error, each naming its field."""
    parts = []
    for name, messages in form.errors.items():
        label = form[name].label if name in form.fields else ""
        parts += [f"{label}: {message}" if label else str(message) for message in messages]
    return " ".join(parts)


@require_GET  # not HEAD, which the limit does not count and which would build the file all the same
@never_cache
@role_required(*REPORT_ROLES)
@per_person_limit("REPORT_EXPORT_RATE", method="GET")
def export_page(request: HttpRequest, table: str, file_format: str) -> HttpResponse:
    """One dashboard table as a download, with the dashboard's filters. Both formats share one limit."""
    form = filter_form(request)
    if not form.is_valid():
        problem = _("These filters cannot be used: %(problems)s Change them on the dashboard and try again.")
        return render(request, "400.html", {"problem": problem % {"problems": _problems(form)}}, status=400)
    filters = form.filters()
    now = timezone.now()
    chosen = dashboard(tenant=request.tenant, filters=filters, now=now).tables.get(table)
    if chosen is None:
        raise Http404(_("There is no report table called that."))
    described = describe_filters(filters)
    name = "-".join(
        slugify(part) for part in (request.tenant.slug, chosen.slug, filters.first_day, filters.last_day)
    )
    if file_format == "xlsx":
        content = table_xlsx(chosen, filters_description=described, generated_at=now)
        response = HttpResponse(content, content_type=XLSX_TYPE)
    else:
        rows = table_csv_rows(chosen, filters_description=described, generated_at=now)
        response = StreamingHttpResponse(_csv_stream(rows), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}.{file_format}"'
    return response


def _csv_stream(rows: Iterator[list[str]]) -> Iterator[str]:
    # The byte order mark tells Excel the file is UTF-8 (names with accents, Welsh).
    yield "\ufeff"
    writer = csv.writer(Echo())
    for row in rows:
        yield writer.writerow(row)


# --- the monthly summary -----------------------------------------------------------------------------------


def _month_end(first: date) -> date:
    return (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)


def last_complete_month(today: date) -> date:
    return (today.replace(day=1) - timedelta(days=1)).replace(day=1)


class MonthlyForm(ReportFilterForm):
    """A calendar month and the dashboard's filters other than its dates, which the month sets."""

    month = forms.CharField(
        label=gettext_lazy("Month"),
        help_text=gettext_lazy("For example, 2027-03"),
        widget=forms.TextInput(
            attrs={"type": "month", "pattern": r"\d{4}-\d{2}", "aria-describedby": "id_month-hint"}
        ),
    )
    field_order = ["month", *MONTHLY_FILTERS]

    def clean_month(self) -> date:
        value = self.cleaned_data["month"]
        match = re.fullmatch(r"([0-9]{4})-([0-9]{2})", value)
        if match is None or not 1 <= int(match[2]) <= 12:
            raise forms.ValidationError(_("Enter a month as a year and month number, like 2027-03."))
        year, month = int(match[1]), int(match[2])
        if abs(year * 12 + month - (self.today.year * 12 + self.today.month)) > MONTHLY_MAX_MONTHS_AWAY:
            raise forms.ValidationError(_("Choose a month within 10 years of this one."))
        return date(year, month, 1)

    def clean(self) -> dict[str, Any]:
        month = self.cleaned_data.get("month")
        if month is None:
            return self.cleaned_data
        self.cleaned_data["start"], self.cleaned_data["end"] = month, _month_end(month)
        data = super().clean()
        # The dates are the month's: a complaint about them is about the month.
        for name in ("start", "end"):
            for message in self.errors.pop(name, []):
                self.add_error("month", message)
        return data


@dataclasses.dataclass(frozen=True)
class Compared:
    """A headline figure beside the previous month's."""

    headline: Headline
    previous: Any
    change: str


def _change(value: Any, previous: Any, kind: str) -> str:
    numbers = (int, float, Decimal)
    if not isinstance(value, numbers) or not isinstance(previous, numbers):
        return ""
    difference = Decimal(str(value)) - Decimal(str(previous))
    size = cell_text(abs(difference), kind)
    if size == cell_text(Decimal(0), kind):
        return _("no change")
    if kind == "percent":
        size = _("%(points)s percentage points") % {"points": size.rstrip("%")}
    return (_("up %(size)s") if difference > 0 else _("down %(size)s")) % {"size": size}


def _compared(headlines: tuple[Headline, ...], before: tuple[Headline, ...]) -> list[Compared]:
    previous = {headline.label: headline.value for headline in before}
    return [
        Compared(h, previous.get(h.label), _change(h.value, previous.get(h.label), h.kind)) for h in headlines
    ]


def monthly_panels(
    board: Dashboard, before: Dashboard, query: str
) -> list[tuple[Panel, list[Compared], Any]]:
    """Each panel with its headlines beside the previous month's, and its tables with their downloads."""
    earlier = {panel.slug: panel.headlines for panel in before.panels}
    return [
        (
            panel,
            _compared(panel.headlines, earlier.get(panel.slug, ())),
            [(table, export_links(table.slug, query)) for table in panel.tables],
        )
        for panel in board.panels
    ]


@require_safe
@role_required(*REPORT_ROLES)
def monthly_page(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    today = now.astimezone(request.tenant.zone).date()
    data = {name: request.GET[name] for name in ("month", *MONTHLY_FILTERS) if name in request.GET}
    if not data.get("month"):
        data["month"] = last_complete_month(today).strftime("%Y-%m")
    form = MonthlyForm(data, today=today)
    context: dict[str, Any] = {"form": form, "fields": [form[name] for name in ("month", *MONTHLY_FILTERS)]}
    if not form.is_valid():
        return render(request, "reporting/monthly.html", context, status=400)
    filters = form.filters()
    previous = last_complete_month(filters.first_day)
    before = dashboard(
        tenant=request.tenant,
        filters=dataclasses.replace(filters, first_day=previous, last_day=_month_end(previous)),
        now=now,
    )
    board = dashboard(tenant=request.tenant, filters=filters, now=now)
    query = urlencode(form.query())
    context |= {
        "board": board,
        "month": filters.first_day,
        "month_name": dateformat.format(filters.first_day, "F Y"),
        "previous_name": dateformat.format(previous, "F Y"),
        "filters": describe_filters(filters)[1:],  # the month says the period
        "panels": monthly_panels(board, before, query),
        "generated_at": now,
        "dashboard_query": query,
        "incomplete": filters.last_day >= today,
    }
    return render(request, "reporting/monthly.html", context)


urls = [
    path("staff/reports/monthly/", monthly_page, name="monthly"),
    path("staff/reports/<slug:table>.csv", export_page, {"file_format": "csv"}, name="export-csv"),
    path("staff/reports/<slug:table>.xlsx", export_page, {"file_format": "xlsx"}, name="export-xlsx"),
]
