"""Table downloads (CSV and XLSX) and the monthly printable summary: what the files hold, that the filters
reach them, that typed text cannot become a formula, and who may have them."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.conf import settings
from django.urls import resolve, reverse
from django.utils import timezone
from django_scopes import scope
from openpyxl import load_workbook

from accounts.models import Role, Tenant
from bookings.models import BookingStatus, Channel
from reporting.exports import csv_cell, describe_filters, table_csv_rows, table_xlsx
from reporting.selectors.dashboard import dashboard
from reporting.selectors.filters import ReportFilters
from reporting.services import daily_summaries_refresh
from reporting.tables import Column, Table
from reporting.views.exports import export_links, monthly_link
from scheduling.models import Category
from tests.builders import appointment_type
from tests.factories import OfficerFactory, TeamFactory
from tests.reporting.test_summaries import make_booking

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2027, 4, 2, 11, 0, tzinfo=UTC)  # 2 April, so March is the last complete month
MARCH = (date(2027, 3, 1), date(2027, 3, 31))
MARCH_QUERY = {"start": "2027-03-01", "end": "2027-03-31"}
DESCRIBED = [("Period", "2027-03-01 to 2027-03-31"), ("Team", "All teams")]
GENERATED = datetime(2027, 4, 2, 12, 0, tzinfo=LONDON)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


# --- the files, from a hand-built table -------------------------------------------------------------------


def every_kind() -> Table:
    return Table(
        slug="every-kind",
        title="Every kind of column",
        columns=(
            Column("name", "Name"),
            Column("count", "Count", "int"),
            Column("mean", "Mean", "number"),
            Column("rate", "Rate", "percent"),
            Column("hours", "Hours", "hours"),
            Column("days", "Days", "days"),
            Column("day", "Day", "date"),
        ),
        rows=[
            ("Inspection", 1234, 2.345, 0.125, 7.5, Decimal("3.25"), date(2027, 3, 31)),
            ("Café visit", -3, None, None, None, None, None),
            ("Nobody", 0, 0.0, 1.0, 0, 0, date(2027, 3, 1)),
        ],
        note="Counted by start time.",
    )


def test_csv_holds_the_header_block_labels_and_machine_readable_values() -> None:
    with timezone.override(LONDON):  # as in a request: the tenant's zone
        rows = list(table_csv_rows(every_kind(), filters_description=DESCRIBED, generated_at=GENERATED))
    assert rows[0] == ["Table", "Every kind of column"]
    assert rows[1:3] == [list(pair) for pair in DESCRIBED]
    assert rows[3] == ["Generated", "2027-04-02T12:00+01:00"]
    assert rows[4] == ["Note", "Counted by start time."]
    assert rows[5] == []
    assert rows[6] == ["Name", "Count", "Mean", "Rate (fraction)", "Hours", "Days", "Day"]
    assert rows[7] == ["Inspection", "1234", "2.35", "0.1250", "7.50", "3.25", "2027-03-31"]
    assert rows[8] == ["Café visit", "-3", "", "", "", "", ""]  # a negative number is not a formula
    assert rows[9] == ["Nobody", "0", "0.00", "1.0000", "0.00", "0.00", "2027-03-01"]
    assert len(rows) == 10


def sheet_rows(content: bytes) -> tuple[Any, list[list[Any]]]:
    sheet = load_workbook(io.BytesIO(content)).active
    return sheet, [[cell for cell in row] for row in sheet.iter_rows()]


def test_xlsx_holds_numbers_as_numbers_and_dates_as_dates() -> None:
    with timezone.override(LONDON):
        content = table_xlsx(every_kind(), filters_description=DESCRIBED, generated_at=GENERATED)
    sheet, rows = sheet_rows(content)
    values = [[cell.value for cell in row] for row in rows]
    assert values[0][:2] == ["Table", "Every kind of column"]
    assert values[1][:2] == ["Period", "2027-03-01 to 2027-03-31"]
    assert values[3][:2] == ["Generated", datetime(2027, 4, 2, 12, 0)]  # local wall time
    assert values[6] == ["Name", "Count", "Mean", "Rate", "Hours", "Days", "Day"]
    assert all(cell.font.b for cell in rows[6])
    assert sheet.freeze_panes == "A8"  # the labels stay in view
    first = rows[7]
    assert [cell.value for cell in first[:6]] == ["Inspection", 1234, 2.345, 0.125, 7.5, 3.25]
    assert isinstance(first[1].value, int) and isinstance(first[2].value, float)
    assert [cell.number_format for cell in first[1:6]] == ["#,##0", "#,##0.0", "0.0%", "#,##0.0", "#,##0.0"]
    assert first[6].is_date and first[6].value.date() == date(2027, 3, 31)
    assert [cell.value for cell in rows[8]] == ["Café visit", -3, None, None, None, None, None]
    assert sheet.column_dimensions["A"].width >= len("Café visit")


INJECTIONS = ['=HYPERLINK("http://x")', "+1+2", "-2-3", "@SUM(A1)", "\tTab", "\rReturn"]


def test_typed_text_never_becomes_a_formula() -> None:
    table = Table(
        slug="types",
        title="=cmd|' /C calc'!A0",
        columns=(Column("type", "Type"), Column("count", "=1+1", "int")),
        rows=[(text, -1) for text in INJECTIONS],
    )
    described = [("Appointment type", "@bad")]
    rows = list(table_csv_rows(table, filters_description=described, generated_at=GENERATED))
    assert rows[0][1] == "'=cmd|' /C calc'!A0"
    assert rows[1] == ["Appointment type", "'@bad"]
    assert rows[4] == ["Type", "'=1+1"]
    assert [row[0] for row in rows[5:]] == ["'" + text for text in INJECTIONS]
    assert [row[1] for row in rows[5:]] == ["-1"] * len(INJECTIONS)

    _sheet, cells = sheet_rows(table_xlsx(table, filters_description=described, generated_at=GENERATED))
    written = [cell for row in cells for cell in row if cell.value is not None]
    assert not [cell for cell in written if cell.data_type == "f"]
    assert cells[0][1].value == "'=cmd|' /C calc'!A0"
    assert [row[0].value for row in cells[5:]] == ["'" + text for text in INJECTIONS]
    assert [row[1].value for row in cells[5:]] == [-1] * len(INJECTIONS)


def test_text_that_is_not_a_formula_is_left_alone() -> None:
    assert csv_cell("O'Brien - visits", "text") == "O'Brien - visits"
    assert csv_cell("Emergency (= urgent)", "text") == "Emergency (= urgent)"


# --- a seeded world --------------------------------------------------------------------------------------


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant, member_of) -> dict[str, Any]:
    """Two types in two categories and an officer in a team; in March bookings of both types by both
    channels, and a late evening booking on the last days of February and March; summaries refreshed as
    the nightly job would have."""
    team = TeamFactory(tenant=tenant, name="North team")
    officer = OfficerFactory(tenant=tenant, team=team)
    inspection = appointment_type(tenant, name="Inspection")
    with scope(tenant=tenant):
        advice = Category.objects.create(tenant=tenant, name="Advice desk")
    call = appointment_type(tenant, name="Advice call", category=advice, duration_minutes=30)
    march = []
    for n in range(12):
        day = date(2027, 3, 2 + n * 2)
        kind = inspection if n % 3 else call
        channel = Channel.PORTAL if n % 2 else Channel.STAFF
        status = BookingStatus.COMPLETED if n % 4 else BookingStatus.NO_SHOW
        march.append(
            make_booking(
                tenant, kind, local(day, 10), channel=channel, status=status, officers=[(officer, True)]
            )
        )
    last_evening = make_booking(tenant, inspection, local(date(2027, 3, 31), 23, 30))
    make_booking(tenant, inspection, local(date(2027, 4, 1), 0, 30))  # April, in London
    make_booking(tenant, call, local(date(2027, 2, 28), 23, 30))
    make_booking(tenant, call, local(date(2027, 2, 10), 9, 0))
    other_team = TeamFactory(tenant=other_tenant, name="Southvale secret team")
    elsewhere = appointment_type(other_tenant, name="Southvale secret type")
    make_booking(other_tenant, elsewhere, local(date(2027, 3, 10), 10))
    for each in (tenant, other_tenant):
        with scope(tenant=each):
            daily_summaries_refresh(tenant=each, first_day=date(2027, 1, 1), last_day=date(2027, 4, 1))
    return {
        "manager": member_of(tenant, Role.MANAGER),
        "team": team,
        "officer": officer,
        "inspection": inspection,
        "call": call,
        "march": [*march, last_evening],
        "other_team": other_team,
    }


def download(client, slug: str, query: dict[str, Any], file_format: str = "csv"):
    return client.get(f"/staff/reports/{slug}.{file_format}?{urlencode(query)}")


def csv_of(response) -> list[list[str]]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:])))


def data_rows(rows: list[list[str]]) -> list[list[str]]:
    return rows[rows.index([]) + 2 :]


@pytest.mark.usefixtures("frozen")
def test_every_table_downloads_as_the_dashboard_computes_it(tenant, world, client_for) -> None:
    """Whatever tables the dashboard has, each one's CSV and XLSX hold its rows for the same filters."""
    client = client_for(tenant, world["manager"])
    query = {**MARCH_QUERY, "appointment_type": world["inspection"].pk}
    with scope(tenant=tenant):
        filters = ReportFilters(*MARCH, appointment_type=world["inspection"])
        tables = dashboard(tenant=tenant, filters=filters, now=NOW).tables
    assert tables
    for slug, table in tables.items():
        rows = data_rows(csv_of(download(client, slug, query)))
        assert rows == [
            [csv_cell(v, c.kind) for c, v in zip(table.columns, row, strict=True)] for row in table.rows
        ]
        _sheet, cells = sheet_rows(download(client, slug, query, "xlsx").content)
        assert len(cells) == len(describe_filters(filters)) + 4 + bool(table.note) + len(table.rows)


@pytest.mark.usefixtures("frozen")
def test_a_type_filter_changes_the_exported_rows(tenant, world, client_for) -> None:
    client = client_for(tenant, world["manager"])
    everything = csv_of(download(client, "outcomes-by-type", MARCH_QUERY))
    only = csv_of(download(client, "outcomes-by-type", {**MARCH_QUERY, "appointment_type": world["call"].pk}))
    assert sorted(row[0] for row in data_rows(everything)) == ["Advice call", "Inspection"]
    assert [row[0] for row in data_rows(only)] == ["Advice call"]
    # Brute force: the calls starting in March, counted one by one.
    calls = [b for b in world["march"] if b.appointment_type_id == world["call"].pk]
    labels = only[only.index([]) + 1]
    assert data_rows(only)[0][labels.index("Appointments")] == str(len(calls))
    assert ["Appointment type", "Advice call"] in only[: only.index([])]
    assert ["Period", "2027-03-01 to 2027-03-31"] in only[: only.index([])]


@pytest.mark.usefixtures("frozen")
def test_downloads_are_private_attachments_with_a_safe_name(tenant, world, client_for) -> None:
    client = client_for(tenant, world["manager"])
    response = download(client, "outcomes-by-type", MARCH_QUERY)
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="northshire-outcomes-by-type-2027-03-01-2027-03-31.csv"'
    )
    assert {"private", "no-store"} <= {part.strip() for part in response["Cache-Control"].split(",")}
    assert ["Generated", "2027-04-02T12:00+01:00"] in csv_of(response)  # the tenant's time, though streamed
    workbook = download(client, "outcomes-by-type", MARCH_QUERY, "xlsx")
    assert workbook["Content-Type"].startswith("application/vnd.openxmlformats-officedocument.spreadsheetml")
    assert workbook["Content-Disposition"].endswith('-2027-03-01-2027-03-31.xlsx"')
    assert "no-store" in workbook["Cache-Control"]
    assert load_workbook(io.BytesIO(workbook.content)).active["B1"].value == "Outcomes by appointment type"


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_unknown_table_is_not_found(tenant, world, client_for, file_format) -> None:
    client = client_for(tenant, world["manager"])
    assert download(client, "no-such-table", MARCH_QUERY, file_format).status_code == 404
    assert client.head(f"/staff/reports/channels.{file_format}").status_code == 405


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("role", [Role.OFFICER, Role.CUSTOMER_SERVICE])
@pytest.mark.parametrize(
    "url", ["/staff/reports/channels.csv", "/staff/reports/channels.xlsx", "/staff/reports/monthly/"]
)
def test_only_managers_and_administrators_get_reports(
    tenant, world, client_for, member_of, role, url
) -> None:
    assert client_for(tenant, member_of(tenant, role)).get(url).status_code == 403


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("url", ["/staff/reports/channels.csv", "/staff/reports/monthly/"])
def test_signed_out_people_are_sent_to_sign_in(tenant, client_for, url) -> None:
    response = client_for(tenant).get(url)
    assert response.status_code == 302
    assert response["Location"] == f"{reverse(settings.LOGIN_URL)}?next={url}"


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    ("query", "problem"),
    [
        ({"start": "2027-02-30"}, "Enter a valid date"),
        ({"start": "2027-03-10", "end": "2027-03-01"}, "The end date must be the same as or after"),
        ({"channel": "carrier-pigeon"}, "Select a valid choice"),
    ],
)
def test_bad_filters_get_a_400_saying_what_is_wrong(tenant, world, client_for, query, problem) -> None:
    response = download(client_for(tenant, world["manager"]), "channels", query)
    assert response.status_code == 400
    assert problem in response.content.decode()


@pytest.mark.usefixtures("frozen")
def test_another_tenants_team_is_not_a_choice(tenant, world, client_for) -> None:
    client = client_for(tenant, world["manager"])
    for file_format in ("csv", "xlsx"):
        response = download(
            client, "outcomes-by-type", {**MARCH_QUERY, "team": world["other_team"].pk}, file_format
        )
        assert response.status_code == 400
        page = response.content.decode()
        assert "Team: Select a valid choice" in page
        assert "Southvale" not in page
    monthly = client.get(f"/staff/reports/monthly/?team={world['other_team'].pk}")
    assert monthly.status_code == 400
    assert "Southvale" not in monthly.content.decode()


@pytest.mark.usefixtures("frozen")
def test_downloads_stop_at_the_rate_limit(tenant, world, client_for, member_of, settings) -> None:
    settings.REPORT_EXPORT_RATE = "2/m"
    client = client_for(tenant, world["manager"])
    assert download(client, "channels", MARCH_QUERY).status_code == 200
    assert download(client, "channels", MARCH_QUERY, "xlsx").status_code == 200  # one limit for both
    refused = download(client, "channels", MARCH_QUERY)
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    # The limit is per person: another manager still has theirs.
    colleague = client_for(tenant, member_of(tenant, Role.MANAGER))
    assert download(colleague, "channels", MARCH_QUERY).status_code == 200


# --- the monthly summary ---------------------------------------------------------------------------------


def headline(response, panel_slug: str, label: str) -> Any:
    for panel, compared, _tables in response.context["panels"]:
        if panel.slug == panel_slug:
            for item in compared:
                if item.headline.label == label:
                    return item
    raise AssertionError(f"no headline {label!r} in {panel_slug!r}")


@pytest.mark.usefixtures("frozen")
def test_the_monthly_summary_defaults_to_the_last_complete_month(tenant, world, client_for) -> None:
    response = client_for(tenant, world["manager"]).get("/staff/reports/monthly/")
    assert response.status_code == 200
    assert response.context["month"] == date(2027, 3, 1)
    page = response.content.decode()
    assert "Monthly summary: March 2027" in page
    assert "Northshire Council" in page
    with scope(tenant=tenant):
        tables = dashboard(tenant=tenant, filters=ReportFilters(*MARCH), now=NOW).tables
    for table in tables.values():
        assert f"{table.title}</caption>" in page  # every table, whatever the dashboard has
        href = f"/staff/reports/{table.slug}.xlsx?start=2027-03-01&amp;end=2027-03-31"
        assert f'<a href="{href}">' in page  # its download, for the same month


@pytest.mark.usefixtures("frozen")
def test_a_late_booking_on_the_last_day_counts_in_its_month(tenant, world, client_for) -> None:
    """23:30 in London on 31 March is 22:30 UTC (summer time): March's. 23:30 on 28 February is February's;
    00:30 on 1 April is April's."""
    response = client_for(tenant, world["manager"]).get("/staff/reports/monthly/?month=2027-03")
    appointments = headline(response, "demand", "Appointments")
    assert appointments.headline.value == len(world["march"]) == 13
    assert appointments.previous == 2
    assert appointments.change == "up 11"
    assert '<td class="report-cell--int" data-headline="Appointments">13</td>' in response.content.decode()


@pytest.mark.usefixtures("frozen")
def test_the_monthly_summary_applies_the_filters(tenant, world, client_for) -> None:
    query = {"month": "2027-03", "appointment_type": world["call"].pk}
    response = client_for(tenant, world["manager"]).get(f"/staff/reports/monthly/?{urlencode(query)}")
    calls = [b for b in world["march"] if b.appointment_type_id == world["call"].pk]
    assert headline(response, "demand", "Appointments").headline.value == len(calls)
    assert "Advice call" in response.content.decode()
    assert ("Appointment type", "Advice call") in response.context["filters"]


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    ("month", "problem"),
    [
        ("2027-13", "Enter a month as a year and month number"),
        ("March", "Enter a month as a year and month number"),
        ("0000-01", "Choose a month within 10 years"),
        ("2037-05", "Choose a month within 10 years"),
        ("2017-03", "Choose a month within 10 years"),
    ],
)
def test_a_bad_month_gets_a_400_saying_what_is_wrong(tenant, world, client_for, month, problem) -> None:
    response = client_for(tenant, world["manager"]).get(f"/staff/reports/monthly/?month={month}")
    assert response.status_code == 400
    assert problem in response.content.decode()


@pytest.mark.usefixtures("frozen")
def test_ten_years_back_is_still_a_month(tenant, world, client_for) -> None:
    response = client_for(tenant, world["manager"]).get("/staff/reports/monthly/?month=2017-04")
    assert response.status_code == 200
    assert headline(response, "demand", "Appointments").headline.value == 0


@pytest.mark.usefixtures("frozen")
def test_the_monthly_summary_is_made_for_printing(tenant, world, client_for) -> None:
    page = client_for(tenant, world["manager"]).get("/staff/reports/monthly/").content.decode()
    assert 'class="monthly-report"' in page
    assert page.count('class="monthly-report__panel"') == len(dashboard_panels(tenant))
    assert 'class="monthly-report__form no-print"' in page
    css = (Path(settings.BASE_DIR) / "static" / "css" / "app.css").read_text()
    print_rules = css[css.index("/* Reports: print */") :]
    assert ".monthly-report__panel { break-before: page;" in print_rules
    assert ".monthly-report .report-table { break-inside: avoid; }" in print_rules


def dashboard_panels(tenant: Tenant) -> tuple[Any, ...]:
    with scope(tenant=tenant):
        return dashboard(tenant=tenant, filters=ReportFilters(*MARCH), now=NOW).panels


# --- links ------------------------------------------------------------------------------------------------


def test_export_links_carry_the_filters() -> None:
    links = export_links("outcomes-by-type", {"start": "2027-03-01", "end": "2027-03-31", "team": "4"})
    assert [label for label, _href in links] == ["Download CSV", "Download Excel (XLSX)"]
    csv_href, xlsx_href = (href for _label, href in links)
    assert csv_href == "/staff/reports/outcomes-by-type.csv?start=2027-03-01&end=2027-03-31&team=4"
    assert xlsx_href == "/staff/reports/outcomes-by-type.xlsx?start=2027-03-01&end=2027-03-31&team=4"
    assert resolve(csv_href.split("?")[0]).url_name == "export-csv"
    assert export_links("channels", "")[0][1] == "/staff/reports/channels.csv"


def test_the_monthly_link_keeps_a_whole_month_and_the_filters() -> None:
    assert (
        monthly_link("start=2027-03-01&end=2027-03-31&team=4")
        == "/staff/reports/monthly/?month=2027-03&team=4"
    )
    assert monthly_link({"start": "2027-03-05", "end": "2027-03-31", "channel": "portal"}) == (
        "/staff/reports/monthly/?channel=portal"
    )
    assert monthly_link({}) == "/staff/reports/monthly/"


def test_the_filters_in_words(tenant, world) -> None:
    with scope(tenant=tenant):
        filters = ReportFilters(*MARCH, team=world["team"], channel=Channel.PORTAL)
        words = dict(describe_filters(filters))
    assert words["Period"] == "2027-03-01 to 2027-03-31"
    assert words["Team"] == "North team"
    assert words["Officer"] == "All officers"
    assert words["Booked through"] == str(Channel.PORTAL.label)


@pytest.mark.usefixtures("frozen")
def test_a_late_booking_west_of_utc_counts_in_its_local_month(tenant, client_for, member_of) -> None:
    """23:30 on 31 March in New York is 03:30 UTC on 1 April: still March's, for a tenant there."""
    new_york = ZoneInfo("America/New_York")
    tenant.time_zone = "America/New_York"
    tenant.save(update_fields=["time_zone"])
    kind = appointment_type(tenant, name="Inspection")
    make_booking(tenant, kind, datetime(2027, 3, 31, 23, 30, tzinfo=new_york))
    make_booking(tenant, kind, datetime(2027, 3, 1, 0, 30, tzinfo=new_york))  # 05:30 UTC: March either way
    make_booking(tenant, kind, datetime(2027, 2, 28, 23, 30, tzinfo=new_york))  # 1 March in UTC
    with scope(tenant=tenant):
        daily_summaries_refresh(tenant=tenant, first_day=date(2027, 2, 1), last_day=date(2027, 4, 1))
    client = client_for(tenant, member_of(tenant, Role.MANAGER))
    march = headline(client.get("/staff/reports/monthly/?month=2027-03"), "demand", "Appointments")
    assert (march.headline.value, march.previous) == (2, 1)
    april = headline(client.get("/staff/reports/monthly/?month=2027-04"), "demand", "Appointments")
    assert april.headline.value == 0
