"""A portal hold checks one slot, not a month: its query count is fixed, whatever is booked around it, and
a lapsed hold in the way is expired only when there is one."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.db import IntegrityError, connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from bookings.models import Booking, BookingStatus
from bookings.services import booking_hold
from tests import builders as b
from tests.builders import MONDAY, NOW, at

# A first hold from a new browser, end to end, as a running portal pays it (committed configuration, so the
# type and the slot's open time come from the cache): the tenant (with its supply version), the client's
# cap (an advisory lock, then the count), the slot's booked time with the week's loads, the chosen
# officers' row locks with their names, the booking, its assignments with the audit event (one
# statement), and the new session.
HOLD_QUERIES = 8

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def food(tenant):
    with scope(tenant=tenant):
        for _ in range(5):
            b.officer(tenant)
        return b.appointment_type(tenant, slug="food")


def statements(queries: CaptureQueriesContext) -> list[str]:
    """What the request sent, without transaction control (BEGIN, COMMIT and savepoints)."""
    control = ("BEGIN", "COMMIT", "SAVEPOINT", "RELEASE")
    return [q["sql"] for q in queries.captured_queries if not q["sql"].strip().startswith(control)]


def hold_from_new_browser(tenant, client_for, start) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = client_for(tenant).post("/services/food/hold/", {"start": start.isoformat()})
    return response.status_code, statements(queries)


def test_portal_hold_query_count_is_fixed(food, tenant, client_for) -> None:
    with time_machine.travel(NOW, tick=False):
        assert hold_from_new_browser(tenant, client_for, at(MONDAY, 16))[0] == 302  # reads the open time
        status, few = hold_from_new_browser(tenant, client_for, at(MONDAY, 9))
        assert status == 302
        with scope(tenant=tenant):
            for day in range(1, 5):
                for hour in (9, 10, 11, 12):
                    booking_hold(appointment_type=food, starts_at=at(MONDAY + timedelta(days=day), hour))
        status, many = hold_from_new_browser(tenant, client_for, at(MONDAY, 14))
    assert status == 302
    assert len(few) == len(many) <= HOLD_QUERIES, "\n".join(many)
    with scope(tenant=tenant):
        assert Booking.objects.filter(status=BookingStatus.HELD).count() == 19
        held = Booking.objects.get(starts_at=at(MONDAY, 14))
        [event] = held.events.all()
        officer_id = held.assignments.get().officer_id
        assert (event.action, event.actor_id, event.before) == ("held", None, {})
        assert event.after == {
            "status": "held",
            "starts_at": at(MONDAY, 14).isoformat(),
            "ends_at": at(MONDAY, 15).isoformat(),
            "officers": [officer_id],
            "resources": [],
        }


def test_a_lapsed_hold_in_the_way_is_expired_and_the_time_held_again(food, tenant, client_for) -> None:
    with scope(tenant=tenant):
        food.allocation_strategy = "named_officer"
        food.named_officer = b.officer(tenant)
        food.save()
    with time_machine.travel(NOW, tick=False):
        assert hold_from_new_browser(tenant, client_for, at(MONDAY, 10))[0] == 302
    with time_machine.travel(NOW + timedelta(hours=1), tick=False):
        status, sent = hold_from_new_browser(tenant, client_for, at(MONDAY, 10))
    assert status == 302
    assert len(sent) > HOLD_QUERIES  # the expiry's own queries, spent only now
    with scope(tenant=tenant):
        statuses = sorted(Booking.objects.filter(starts_at=at(MONDAY, 10)).values_list("status", flat=True))
    assert statuses == [BookingStatus.EXPIRED, BookingStatus.HELD]


def test_a_reference_the_tenant_already_has_is_drawn_again(food, tenant) -> None:
    """References are not looked up before the insert: the unique constraint refuses a repeat and the
    hold draws another."""
    with scope(tenant=tenant), time_machine.travel(NOW, tick=False):
        first = booking_hold(appointment_type=food, starts_at=at(MONDAY, 9))
        draws = iter([first.reference, first.reference, "BK-2345-67"])
        with mock.patch("bookings.services.lifecycle.reference_new", lambda: next(draws)):
            second = booking_hold(appointment_type=food, starts_at=at(MONDAY, 10))
        assert second.reference == "BK-2345-67"
        assert Booking.objects.filter(status=BookingStatus.HELD).count() == 2

        always = mock.patch("bookings.services.lifecycle.reference_new", lambda: first.reference)
        with always, pytest.raises(IntegrityError):  # never passed off as "that time is taken"
            booking_hold(appointment_type=food, starts_at=at(MONDAY, 11))
        assert Booking.objects.filter(status=BookingStatus.HELD).count() == 2
