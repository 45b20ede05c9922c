"""The portal's rendered week is kept under the tenant's supply and booked versions for as long as its
slots stay right: a booking or a configuration change shows in the next request, a start leaves once it is
within the notice, a hold that lapses gives its time back, and a week the horizon cuts short is not kept.
These tests commit for real (transaction=True), as requests do."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from accounts.models import Officer
from bookings.availability import available_slots_stable
from bookings.services import HOLD_DURATION
from scheduling.models import Absence, AppointmentType
from tests import builders as b
from tests.builders import MONDAY, NOW, at

pytestmark = pytest.mark.django_db(transaction=True)
WEEK = f"/services/food/?week={MONDAY.isoformat()}"
HTMX = {"HX-Request": "true"}


@pytest.fixture
def officer(tenant) -> Officer:
    return b.officer(tenant)


@pytest.fixture
def food(tenant, officer) -> AppointmentType:
    return b.appointment_type(tenant, name="Food hygiene inspection", slug="food", min_notice_minutes=60)


def offered(client, hour: int, minute: int = 0) -> bool:
    html = client.get(WEEK, headers=HTMX).content.decode()
    assert 'id="slot-picker"' in html
    return f'value="{at(MONDAY, hour, minute).isoformat()}"' in html


def test_the_week_is_rendered_once_and_a_hold_elsewhere_shows_at_once(food, tenant, client_for) -> None:
    browsing, other = client_for(tenant), client_for(tenant)
    with time_machine.travel(NOW, tick=False):
        assert offered(browsing, 10)
        with (
            mock.patch("bookings.views.portal.available_slots_stable") as computed,
            CaptureQueriesContext(connection) as kept,
        ):
            assert offered(browsing, 10)
        computed.assert_not_called()
        # The tenant, and the booked version; nothing about slots.
        assert len(kept.captured_queries) == 2, [q["sql"] for q in kept.captured_queries]

        assert other.post("/services/food/hold/", {"start": at(MONDAY, 10).isoformat()}).status_code == 302
        assert not offered(browsing, 10)
        assert offered(browsing, 11)


def test_a_configuration_change_shows_at_once(food, officer, tenant, client_for) -> None:
    client = client_for(tenant)
    with time_machine.travel(NOW, tick=False):
        assert offered(client, 10)
        with scope(tenant=tenant):
            Absence.objects.create(
                tenant=tenant, officer=officer, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 12)
            )
        assert not offered(client, 10)


def test_a_start_leaves_once_it_is_within_the_notice(food, tenant, client_for) -> None:
    client = client_for(tenant)
    with time_machine.travel(at(MONDAY, 9), tick=False):
        assert offered(client, 10) and offered(client, 11)
    with time_machine.travel(at(MONDAY, 9) + timedelta(seconds=1), tick=False):
        assert not offered(client, 10)  # 10:00 is now less than an hour away
        assert offered(client, 11)


def test_a_lapsed_hold_gives_its_time_back_without_any_write(food, tenant, client_for) -> None:
    browsing, holding = client_for(tenant), client_for(tenant)
    with time_machine.travel(NOW, tick=False):
        holding.post("/services/food/hold/", {"start": at(MONDAY, 10).isoformat()})
        assert not offered(browsing, 10)
    with time_machine.travel(NOW + HOLD_DURATION + timedelta(seconds=1), tick=False):
        assert offered(browsing, 10)


def test_english_and_welsh_are_kept_apart(food, tenant, client_for) -> None:
    tenant.welsh_enabled = True
    tenant.save()
    client = client_for(tenant)
    with time_machine.travel(NOW, tick=False):
        english = client.get(WEEK, headers=HTMX).content.decode()
        client.post("/i18n/setlang/", {"language": "cy", "next": "/"})
        welsh = client.get(WEEK, headers=HTMX).content.decode()
        client.post("/i18n/setlang/", {"language": "en-gb", "next": "/"})
        again = client.get(WEEK, headers=HTMX).content.decode()
    assert 'aria-label="Monday 1 March 2027, 10:00am"' in english
    assert 'aria-label="Dydd Llun 1 Mawrth 2027, 10:00yb"' in welsh
    assert again.count('class="slot"') == english.count('class="slot"') > 0
    assert "Dydd Llun" not in again


def test_a_week_the_horizon_cuts_short_is_computed_each_time(tenant, client_for) -> None:
    b.officer(tenant)
    # Eight days ahead: the horizon ends inside the week asked for.
    b.appointment_type(tenant, name="Short notice", slug="food", horizon_days=8)
    client = client_for(tenant)
    with time_machine.travel(NOW, tick=False):
        assert offered(client, 10)
        with mock.patch(
            "bookings.views.portal.available_slots_stable", wraps=available_slots_stable
        ) as computed:
            assert offered(client, 10)
        computed.assert_called_once()
