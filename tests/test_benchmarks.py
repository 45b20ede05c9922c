"""The benchmark commands at tiny sizes: they build valid data, report what they measured as JSON on
their last line, and leave nothing behind. Timings are not asserted; they are the commands' output."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant, User
from benchmarks.scenarios import availability_scenario_create, scratch_tenant_delete
from bookings.models import Booking, BookingAssignment, BookingStatus
from demo.scheduling import OFFICER_HOURS
from scheduling.models import Absence, Holiday

pytestmark = pytest.mark.django_db(transaction=True)

AVAILABILITY_KEYS = {
    "officers",
    "days",
    "bookings",
    "history",
    "median_ms",
    "p95_ms",
    "queries",
    "slots",
    "cold_median_ms",
    "cold_queries",
    "partial_median_ms",
    "partial_p95_ms",
}
RACE_KEYS = {
    "attempts",
    "succeeded",
    "lost_race",
    "errors",
    "active_bookings",
    "alternatives_offered",
    "elapsed_ms",
}


def run(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def scratch_left() -> list[str]:
    with scopes_disabled():
        tenants = list(
            Tenant.objects.filter(domain_set__host__endswith=".bench.invalid").values_list("slug", flat=True)
        )
    return tenants + list(
        User.objects.filter(email__endswith=".bench.invalid").values_list("email", flat=True)
    )


def test_bench_availability_reports_json_and_deletes_its_tenant() -> None:
    result = run("bench_availability", "--officers", "3", "--days", "7", "--bookings", "20", "--repeat", "2")

    assert set(result) == AVAILABILITY_KEYS
    assert (result["officers"], result["days"], result["bookings"]) == (3, 7, 20)
    assert result["slots"] > 0
    assert 0 < result["queries"] < result["cold_queries"]  # warm: the open time comes from the cache
    assert 0 < result["median_ms"] <= result["p95_ms"]
    assert result["cold_median_ms"] > 0
    assert 0 < result["partial_median_ms"] <= result["partial_p95_ms"]
    assert scratch_left() == []


def test_bench_availability_history_adds_past_bookings_and_deletes_them() -> None:
    result = run(
        "bench_availability",
        "--officers",
        "3",
        "--days",
        "7",
        "--bookings",
        "20",
        "--history",
        "50",
        "--repeat",
        "1",
    )

    assert (result["bookings"], result["history"]) == (20, 50)
    assert result["slots"] > 0
    assert scratch_left() == []
    with scopes_disabled():
        assert not Booking.objects.exists()
        assert not BookingAssignment.objects.exists()


def test_scenario_history_lies_in_the_past_and_respects_the_overlap_constraints() -> None:
    scenario = availability_scenario_create(officers=2, days=7, bookings=10, history=60, seed=3)
    try:
        with scope(tenant=scenario.tenant):
            past = list(
                BookingAssignment.objects.filter(booking__starts_at__lt=scenario.now).select_related(
                    "booking"
                )
            )
    finally:
        scratch_tenant_delete(tenant=scenario.tenant)

    assert len(past) == scenario.history == 60
    assert {a.booking.status for a in past} <= {
        BookingStatus.COMPLETED,
        BookingStatus.CANCELLED,
        BookingStatus.CONFIRMED,
    }
    assert all(a.is_active == (a.booking.status == BookingStatus.CONFIRMED) for a in past)
    assert all(a.occupied.upper <= scenario.now for a in past)
    assert min(a.occupied.lower for a in past) < scenario.now - timedelta(days=2 * 365)


def test_bench_availability_keep_leaves_the_tenant_to_inspect() -> None:
    run("bench_availability", "--officers", "2", "--days", "3", "--bookings", "5", "--repeat", "1", "--keep")

    with scopes_disabled():
        (tenant,) = Tenant.objects.filter(slug__startswith="bench-")
        assert Booking.objects.filter(tenant=tenant).count() == 5
    scratch_tenant_delete(tenant=tenant)
    assert scratch_left() == []


def test_bench_booking_race_has_one_winner_and_alternatives_for_the_rest() -> None:
    result = run("bench_booking_race", "--attempts", "5")

    assert set(result) == RACE_KEYS
    assert result["attempts"] == 5
    assert result["succeeded"] == 1
    assert result["active_bookings"] == 1
    assert result["errors"] == 0
    assert result["lost_race"] == result["alternatives_offered"] == 4
    assert result["elapsed_ms"] > 0
    assert scratch_left() == []


def test_scenario_bookings_sit_in_open_hours_clear_of_holidays_and_absences() -> None:
    scenario = availability_scenario_create(officers=6, days=14, bookings=150, seed=7)
    try:
        tz = scenario.tenant.zone
        with scope(tenant=scenario.tenant):
            assignments = list(BookingAssignment.objects.select_related("booking"))
            holidays = set(Holiday.objects.values_list("date", flat=True))
            absences = list(Absence.objects.values_list("officer_id", "starts_at", "ends_at"))
    finally:
        scratch_tenant_delete(tenant=scenario.tenant)

    assert len(assignments) == scenario.bookings == 150
    assert holidays and absences
    for assignment in assignments:
        booking, lower, upper = assignment.booking, assignment.occupied.lower, assignment.occupied.upper
        assert booking.status == BookingStatus.CONFIRMED and booking.customer_id is not None
        assert lower <= booking.starts_at < booking.ends_at <= upper
        assert scenario.start <= lower and upper <= scenario.end
        day = lower.astimezone(tz).date()
        assert day.weekday() < 5 and day not in holidays
        assert any(
            datetime.combine(day, opens, tz) <= lower and upper <= datetime.combine(day, closes, tz)
            for opens, closes in OFFICER_HOURS
        )
        assert not any(
            officer_id == assignment.officer_id and starts_at < upper and lower < ends_at
            for officer_id, starts_at, ends_at in absences
        )


@pytest.mark.worker
def test_bench_notifications_sends_each_message_once_through_real_workers(monkeypatch) -> None:
    # The workers it starts read the spool directories it gives them through the worker test settings.
    monkeypatch.setenv("DJANGO_SETTINGS_MODULE", "tests.worker_settings")

    result = run("bench_notifications", "--messages", "40", "--workers", "1")

    assert set(result) == {"messages", "workers", "seconds", "per_second", "sent", "duplicates", "lost"}
    assert (result["messages"], result["sent"], result["duplicates"], result["lost"]) == (40, 40, 0, 0)
    assert result["per_second"] > 0
    assert scratch_left() == []


def test_bench_block_times_both_phases_and_deletes_its_tenant() -> None:
    result = run(
        "bench_block", "--items", "30", "--officers", "2", "--days", "7", "--bookings", "5", "--repeat", "2"
    )

    assert {"items", "check_seconds", "write_seconds", "booked", "conflicts", "queries"} <= set(result)
    assert result["items"] == 30
    assert result["booked"] + result["conflicts"] == 30
    assert result["booked"] > 0
    assert result["check_seconds"] > 0 and result["write_seconds"] > 0
    assert 0 < result["queries"] < result["write_queries"] < 30  # neither phase is a query per item
    assert scratch_left() == []


def test_bench_reports_refreshes_summaries_times_a_year_and_deletes_its_tenant() -> None:
    result = run("bench_reports", "--bookings", "3000", "--repeat", "3")

    assert {
        "bookings",
        "refresh_seconds",
        "dashboard_median_ms",
        "dashboard_p95_ms",
        "queries",
        "export_rows_per_s",
    } <= set(result)
    assert result["bookings"] == 3000
    assert 0 < result["summary_rows"] <= 3000
    # Three a day, the last month of them still to come: a year ending today has 365 days of three.
    assert result["year_booked"] == 3 * 365
    # The whole dashboard: the same fixed number of queries, filtered to a team or not.
    assert result["queries"] == result["filtered_queries"]
    assert 0 < result["queries"] <= 20
    assert 0 < result["dashboard_median_ms"] <= result["dashboard_p95_ms"]
    assert result["export_rows"] > 0 and result["export_rows_per_s"] > 0
    assert scratch_left() == []
    with scopes_disabled():
        assert not Booking.objects.exists()
