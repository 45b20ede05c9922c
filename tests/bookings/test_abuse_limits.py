"""Abuse limits that fit real deployments: every limit counts the real client, live holds are capped per
client (cookies or not), the slot picker is throttled, the earliest-slot search has a fixed cost, and
every answer over a limit is a 429 page that says when to try again."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from bookings.availability import available_slots, earliest_slot
from bookings.availability.search import SEARCH_CHUNK
from bookings.models import Booking, BookingStatus
from tests import builders as b
from tests.bookings import test_portal as portal
from tests.builders import MONDAY, NOW, at

frozen = portal.frozen
service = portal.service


@pytest.fixture
def limits(settings):
    settings.PORTAL_HOLD_RATE = "1000/m"
    settings.PORTAL_LIVE_HOLDS_PER_CLIENT = 4
    settings.PORTAL_LIVE_HOLDS_PER_CLIENT_AND_TYPE = 3
    return settings


def hold_as(client_for, tenant, start, *, slug="food", address="198.51.100.7", **headers):
    """A hold from a browser that keeps no cookies: a new client every time."""
    client = client_for(tenant)
    return client.post(
        f"/services/{slug}/hold/", {"start": start.isoformat()}, REMOTE_ADDR=address, **headers
    )


# --- live holds per client ---------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen")
def test_one_client_cannot_hold_a_whole_week_even_without_cookies(
    limits, service, tenant, client_for
) -> None:
    starts = [at(MONDAY, hour) for hour in (9, 10, 11, 12, 13)]
    answers = [hold_as(client_for, tenant, start) for start in starts]
    assert [a.status_code for a in answers] == [302, 302, 302, 429, 429]
    html = answers[3].content.decode()
    assert "You are already holding as many times as you can at once." in html
    assert "You can try again after 9:10am on Monday 22 February 2027." in html  # the first hold lapses
    assert answers[3]["Retry-After"] == str(10 * 60)
    with scope(tenant=tenant):
        assert Booking.objects.filter(status=BookingStatus.HELD).count() == 3
    # Someone else, at another address, is not held up.
    assert hold_as(client_for, tenant, at(MONDAY, 14), address="203.0.113.9").status_code == 302
    # Once the holds lapse, the same client may hold again.
    with time_machine.travel(NOW + timedelta(minutes=11), tick=False):
        assert hold_as(client_for, tenant, at(MONDAY, 15)).status_code == 302


@pytest.mark.usefixtures("frozen")
def test_the_cap_across_services(limits, service, tenant, client_for) -> None:
    with scope(tenant=tenant):
        b.appointment_type(tenant, slug="other", name="Licensing visit")
    assert [hold_as(client_for, tenant, at(MONDAY, h)).status_code for h in (9, 10, 11)] == [302] * 3
    assert hold_as(client_for, tenant, at(MONDAY, 14), slug="other").status_code == 302
    assert hold_as(client_for, tenant, at(MONDAY, 15), slug="other").status_code == 429


@pytest.mark.usefixtures("frozen")
def test_behind_a_trusted_proxy_the_forwarded_client_is_counted(limits, service, tenant, client_for) -> None:
    limits.TRUSTED_PROXIES = ["10.0.0.0/8"]
    via_proxy = {"address": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    assert [hold_as(client_for, tenant, at(MONDAY, h), **via_proxy).status_code for h in (9, 10, 11)] == [
        302
    ] * 3
    assert hold_as(client_for, tenant, at(MONDAY, 12), **via_proxy).status_code == 429
    # The same proxy forwarding another client: a different client.
    other = {"address": "10.0.0.2", "HTTP_X_FORWARDED_FOR": "198.51.100.8"}
    assert hold_as(client_for, tenant, at(MONDAY, 12), **other).status_code == 302
    # A client that forges the header without a trusted proxy is still itself.
    forged = {"address": "198.51.100.9", "HTTP_X_FORWARDED_FOR": "192.0.2.1"}
    for hour in (13, 14, 15):
        hold_as(client_for, tenant, at(MONDAY, hour), **forged)
    forged_again = {"address": "198.51.100.9", "HTTP_X_FORWARDED_FOR": "192.0.2.2"}
    assert hold_as(client_for, tenant, at(MONDAY, 16), **forged_again).status_code == 429


@pytest.mark.usefixtures("frozen")
def test_holds_keep_no_client_address_only_a_keyed_hash(limits, service, tenant, client_for) -> None:
    hold_as(client_for, tenant, at(MONDAY, 9))
    with scope(tenant=tenant):
        stored = Booking.objects.get().client_hash
    assert len(stored) == 64 and "198.51.100.7" not in stored


# --- every portal rate limit keys on the real client, and says when ------------------------------------


def limited_requests():
    """(setting, method, path, data) for every rate-limited portal request."""
    return [
        ("PORTAL_SLOTS_RATE", "get", "/services/food/", {}),
        ("PORTAL_HOLD_RATE", "post", "/services/food/hold/", {"start": "not-a-time"}),
        ("PORTAL_SUBMIT_RATE", "post", "/book/BK-2222-22/details/", {}),
        ("PORTAL_SLOTS_RATE", "get", "/manage/not-a-token/reschedule/", {}),
        ("PORTAL_SUBMIT_RATE", "post", "/manage/not-a-token/reschedule/", {"start": "x"}),
        ("PORTAL_CODE_RATE", "post", "/manage/", {"reference": "nonsense"}),
        ("PORTAL_CODE_RATE", "post", "/manage/code/", {"code": "123456"}),
    ]


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(("setting", "method", "path", "data"), limited_requests(), ids=lambda v: str(v)[:30])
def test_every_portal_limit_counts_the_real_client_and_says_when(
    settings, service, tenant, client_for, setting, method, path, data
) -> None:
    setattr(settings, setting, "2/m")
    settings.TRUSTED_PROXIES = ["10.0.0.0/8"]

    def ask(forwarded: str, address: str = "10.0.0.2"):
        client = client_for(tenant)
        return getattr(client, method)(path, data, REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=forwarded)

    answers = [ask("198.51.100.7").status_code for _ in range(2)]
    assert 429 not in answers
    over = ask("198.51.100.7")
    assert over.status_code == 429
    assert "You can try again after" in over.content.decode() and int(over["Retry-After"]) <= 60
    assert ask("198.51.100.8").status_code != 429  # another client behind the same proxy
    # A direct client cannot escape by forging the forwarded header.
    direct = [ask(f"192.0.2.{n}", address="198.51.100.20").status_code for n in range(3)]
    assert direct[-1] == 429


@pytest.mark.usefixtures("frozen")
def test_the_slot_picker_is_throttled_with_a_page_that_says_when(
    settings, service, tenant, client_for
) -> None:
    settings.PORTAL_SLOTS_RATE = "3/m"
    client = client_for(tenant)
    statuses = [client.get("/services/food/").status_code for _ in range(3)]
    partial = client.get("/services/food/", headers={"HX-Request": "true"})
    assert statuses == [200, 200, 200] and partial.status_code == 429
    assert "You can try again after" in partial.content.decode()
    # htmx cannot swap a whole page into the picker: it is sent to the full page, which says the same.
    assert partial["HX-Redirect"] == "/services/food/"


# --- the earliest-slot search costs a fixed, small number of queries ---------------------------------------


def test_an_empty_diary_costs_two_searches_whatever_the_horizon(
    in_tenant, django_assert_max_num_queries
) -> None:
    tenant = in_tenant
    b.officer(tenant, valid_until=date(2026, 12, 31))  # no working time left: nothing to book, ever
    kind = b.appointment_type(tenant, horizon_days=365)
    with CaptureQueriesContext(connection) as one_search:
        available_slots(kind, NOW, NOW + SEARCH_CHUNK, now=NOW)
    per_search = len(one_search.captured_queries)
    with django_assert_max_num_queries(2 * per_search):
        assert earliest_slot(kind, now=NOW) is None
    with django_assert_max_num_queries(30):
        assert earliest_slot(kind, now=NOW) is None


def test_the_earliest_slot_is_found_in_the_first_weeks_and_beyond_them(in_tenant) -> None:
    tenant = in_tenant
    b.officer(tenant, valid_from=date(2027, 6, 7))  # starts work months after NOW, beyond the first chunk
    kind = b.appointment_type(tenant, horizon_days=365)
    assert earliest_slot(kind, now=NOW).start.date() == date(2027, 6, 7)
    assert earliest_slot(kind, now=NOW, until=NOW + timedelta(days=60)) is None
    b.officer(tenant)
    assert earliest_slot(kind, now=NOW).start.date() == NOW.date()
