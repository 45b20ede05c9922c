"""/staff/reports/: who may see it, filters in the URL, htmx swaps, bad input, a fixed query count, and
"recalculate now"."""

from __future__ import annotations

from typing import Any
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from accounts.models import Role, Tenant
from bookings.models import Channel
from reporting import tasks
from tests.factories import TeamFactory
from tests.reporting.test_summaries import NOW, world  # noqa: F401

URL = "/staff/reports/"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def manager(tenant: Tenant, member_of: Any, client_for: Any) -> Any:
    return client_for(tenant, member_of(tenant, Role.MANAGER))


@pytest.mark.parametrize("role", [Role.OFFICER, Role.CUSTOMER_SERVICE])
def test_only_managers_and_administrators_see_reports(tenant, member_of, client_for, role) -> None:
    assert client_for(tenant, member_of(tenant, role)).get(URL).status_code == 403
    assert client_for(tenant, member_of(tenant, Role.ADMINISTRATOR)).get(URL).status_code == 200
    signed_out = client_for(tenant).get(URL)
    assert signed_out.status_code == 302 and "/login" in signed_out["Location"]


def test_the_default_period_is_the_last_four_weeks(tenant, manager) -> None:
    page = manager.get(URL)
    assert page.status_code == 200
    text = page.content.decode()
    assert "Figures for 6 March 2027 to 2 April 2027" in text
    for title in ("Demand and capacity", "Service delivery", "Customer experience"):
        assert title in text


def test_filters_in_the_url_change_the_figures(tenant, manager, world) -> None:  # noqa: F811
    everything = manager.get(URL, {"start": "2027-01-20", "end": "2027-04-10"})
    portal = manager.get(URL, {"start": "2027-01-20", "end": "2027-04-10", "channel": Channel.PORTAL})
    team = world["teams"][0]
    by_team = manager.get(URL, {"start": "2027-01-20", "end": "2027-04-10", "team": team.pk})
    assert everything.status_code == portal.status_code == by_team.status_code == 200
    total = everything.context["board"].totals.booked
    assert 0 < portal.context["board"].totals.booked < total
    assert 0 < by_team.context["board"].totals.booked < total
    assert team.name in by_team.context["describe"]
    assert f"team={team.pk}" in by_team.context["query"]


def test_htmx_gets_only_the_panels(tenant, manager) -> None:
    page = manager.get(URL, {"start": "2027-03-01", "end": "2027-03-31"}, HTTP_HX_REQUEST="true")
    text = page.content.decode()
    assert page.status_code == 200
    assert text.lstrip().startswith('<div id="report"')
    assert "<form" in text  # recalculate, but not the filter form
    assert 'name="start"' not in text
    assert "HX-Request" in page["Vary"]


@pytest.mark.parametrize(
    "query",
    [
        {"start": "2027-02-30"},
        {"start": "yesterday"},
        {"start": "2027-03-10", "end": "2027-03-01"},
        {"start": "2000-01-01", "end": "2027-01-01"},
        {"end": "2099-01-01"},
        {"channel": "fax"},
        {"officer": "x"},
        {"team": "99999999"},
    ],
)
def test_bad_filters_get_a_clear_error_and_no_figures(tenant, manager, query) -> None:
    page = manager.get(URL, query)
    assert page.status_code == 400
    assert "There is a problem" in page.content.decode()
    assert "board" not in page.context


def test_another_tenants_team_is_not_a_choice(tenant, other_tenant, manager) -> None:
    stranger = TeamFactory(tenant=other_tenant)
    page = manager.get(URL, {"team": stranger.pk})
    assert page.status_code == 400
    assert stranger.name not in page.content.decode()


def test_the_page_costs_the_same_queries_for_a_week_and_a_year(tenant, manager, world) -> None:  # noqa: F811
    assert manager.get(URL).status_code == 200  # the session's first write is not the page's
    counts = []
    for start, end in [("2027-03-29", "2027-04-04"), ("2026-04-03", "2027-04-02")]:
        with CaptureQueriesContext(connection) as queries:
            assert manager.get(URL, {"start": start, "end": end}).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_recalculate_queues_the_period_and_is_limited(
    tenant, manager, settings, django_capture_on_commit_callbacks
) -> None:
    settings.REPORT_REFRESH_RATE = "2/m"
    page = URL + "recalculate/?start=2027-03-01&end=2027-03-31"
    with mock.patch.object(tasks.refresh_report_period, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=True):
            assert manager.post(page, {}).status_code == 302
        assert send.call_count == 0  # no action field: nothing
        with django_capture_on_commit_callbacks(execute=True):
            answer = manager.post(page, {"action": "recalculate"})
        assert answer.status_code == 302 and "start=2027-03-01" in answer["Location"]
        assert send.call_args.kwargs["kwargs"] == {
            "tenant_id": tenant.pk,
            "first_day": "2027-03-01",
            "last_day": "2027-03-31",
        }
        with django_capture_on_commit_callbacks(execute=True):
            assert manager.post(URL + "recalculate/", {"action": "recalculate"}).status_code == 429
    assert send.call_count == 1


def test_the_recalculate_task_rewrites_the_period(tenant, world) -> None:  # noqa: F811
    from reporting.models import DailySummary

    tasks.refresh_report_period.apply(
        kwargs={"tenant_id": tenant.pk, "first_day": "2027-02-01", "last_day": "2027-02-28"}
    ).get()
    with scope(tenant=tenant):
        days = set(DailySummary.objects.values_list("day", flat=True))
    assert days and all(d.month == 2 for d in days)
