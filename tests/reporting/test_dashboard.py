"""The dashboard's booking figures and forecast against brute force over the seeded world of
test_summaries; its query count, whatever the period."""

from __future__ import annotations

from collections import Counter
from datetime import date, timedelta
from itertools import product
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from accounts.models import Officer, Tenant
from bookings.models import BookingStatus, Channel
from reporting.selectors import FIGURES, Figures, ReportFilters, booking_breakdown
from reporting.selectors.dashboard import buckets, dashboard, forecast_table
from reporting.services import reports_refresh
from scheduling.models import AppointmentType
from tests.reporting.test_summaries import FIRST_DAY, LAST_DAY, NOW, brute_rows, make_booking, world  # noqa: F401

PERIODS = [
    (FIRST_DAY, LAST_DAY),  # 81 days: by week, whole weeks from the weekly rollup, edges and today live
    (date(2027, 2, 3), date(2027, 3, 31)),  # 57 days: by day, all stored
    (date(2027, 3, 30), date(2027, 4, 5)),  # by day, across today
    (date(2027, 2, 10), date(2027, 4, 2)),  # 52 days ending today
    (date(2026, 12, 1), date(2027, 4, 1)),  # 122 days, ending yesterday: the last stored week is whole
]


def brute_breakdown(tenant: Tenant, filters: ReportFilters) -> dict[str, dict[tuple[Any, ...], Counter[str]]]:
    with scope(tenant=tenant):
        officer_team = dict(Officer.objects.values_list("pk", "team_id"))
        type_category = dict(AppointmentType.objects.values_list("pk", "category_id"))
    out: dict[str, dict[tuple[Any, ...], Counter[str]]] = {
        name: {} for name in ("total", "bucket_channel", "bucket_type", "type", "officer", "channel")
    }
    for (day, type_id, officer_id, channel), row in brute_rows(tenant).items():
        if not filters.first_day <= day <= filters.last_day:
            continue
        wanted = {
            "officer": officer_id,
            "team": officer_team.get(officer_id),
            "appointment_type": type_id,
            "category": type_category[type_id],
        }
        if any(
            getattr(filters, name) is not None and getattr(filters, name).pk != value
            for name, value in wanted.items()
        ):
            continue
        if filters.channel not in (None, channel):
            continue
        bucket = day - timedelta(days=day.weekday()) if filters.weekly else day
        for name, key in (
            ("total", ()),
            ("bucket_channel", (bucket, channel)),
            ("bucket_type", (bucket, type_id)),
            ("type", (type_id,)),
            ("officer", (officer_id,)),
            ("channel", (channel,)),
        ):
            out[name].setdefault(key, Counter()).update(row)
    return out


def as_figures(counter: Counter[str]) -> Figures:
    return Figures(**{name: counter[name] for name in FIGURES})


def test_every_breakdown_matches_brute_force(tenant: Tenant, world: dict[str, Any]) -> None:  # noqa: F811
    reports_refresh(tenant=tenant, first_day=date(2026, 11, 1), last_day=LAST_DAY, now=NOW)
    filter_sets = [
        {},
        {"team": world["teams"][0]},
        {"officer": world["officers"][1]},
        {"category": world["categories"][1], "channel": Channel.PORTAL},
    ]
    for extra, (first_day, last_day) in product(filter_sets, PERIODS):
        filters = ReportFilters(first_day=first_day, last_day=last_day, **extra)
        with scope(tenant=tenant):
            got = booking_breakdown(tenant=tenant, filters=filters, now=NOW)
        expected = brute_breakdown(tenant, filters)
        assert got.total == as_figures(expected["total"].get((), Counter())), (extra, first_day)
        for name, rows in expected.items():
            if name == "total":
                continue
            assert got.by[name] == {key: as_figures(row) for key, row in rows.items()}, (
                name,
                extra,
                first_day,
            )
        for bucket, _channel in got.by["bucket_channel"]:
            assert bucket in buckets(filters)
    long = ReportFilters(first_day=FIRST_DAY, last_day=LAST_DAY)
    with scope(tenant=tenant):
        assert booking_breakdown(tenant=tenant, filters=long, now=NOW).total.booked > 150


def test_the_forecast_is_booked_so_far_plus_typical_late_demand(
    tenant: Tenant,
    world: dict[str, Any],  # noqa: F811
) -> None:
    kind = world["types"][0]
    today = NOW.astimezone(tenant.zone).date()  # Friday 2 April 2027
    next_monday = today + timedelta(days=7 - today.weekday())
    # Two confirmed and one cancelled appointment in the second week ahead, after the seeded ones.
    start = next_monday + timedelta(days=10)
    for n, status in enumerate([BookingStatus.CONFIRMED, BookingStatus.CONFIRMED, BookingStatus.CANCELLED]):
        make_booking(
            tenant,
            kind,
            NOW.replace(year=2027, month=start.month, day=start.day, hour=9 + n),
            status=status,
            created_at=NOW,
        )
    reports_refresh(tenant=tenant, first_day=date(2026, 11, 1), last_day=today, now=NOW)
    with scope(tenant=tenant):
        table = forecast_table(
            tenant=tenant, filters=ReportFilters(first_day=today, last_day=today), today=today
        )

    # Brute force: confirmed bookings per week ahead, and the late share of the last eight whole weeks.
    this_monday = today - timedelta(days=today.weekday())
    history = (this_monday - timedelta(weeks=8), this_monday - timedelta(days=1))
    rows = brute_rows(tenant)
    late = Counter()
    for (day, *_), row in rows.items():
        if history[0] <= day <= history[1]:
            late.update({k: v for k, v in row.items() if k.startswith("late_")})
    weeks = [next_monday + timedelta(weeks=n) for n in range(4)]
    booked = Counter()
    for (day, *_), row in rows.items():
        monday = day - timedelta(days=day.weekday())
        if monday in weeks:
            booked[monday] += row["confirmed"]
    assert [row[0] for row in table.rows] == weeks
    for n, (week, so_far, still, forecast, _offered) in enumerate(table.rows):
        assert so_far == booked[week]
        assert still == round(late[f"late_{7 * (n + 1)}d"] / 8, 1)
        assert forecast == round(so_far + still, 1)
    assert table.rows[1][1] >= 2
    assert sum(late.values()) > 0


def test_the_dashboard_costs_the_same_queries_for_a_week_and_for_a_year(
    tenant: Tenant,
    world: dict[str, Any],  # noqa: F811
) -> None:
    reports_refresh(tenant=tenant, first_day=date(2026, 4, 1), last_day=LAST_DAY, now=NOW)
    counts = []
    for first_day, last_day in [(date(2027, 3, 29), date(2027, 4, 4)), (date(2026, 4, 3), date(2027, 4, 2))]:
        with scope(tenant=tenant), CaptureQueriesContext(connection) as queries:
            board = dashboard(
                tenant=tenant, filters=ReportFilters(first_day=first_day, last_day=last_day), now=NOW
            )
            assert board.totals.booked > 0
        counts.append(len(queries))
    assert counts[0] == counts[1]
