"""Booked time is cached under the tenant's booked version, which a database trigger raises in the same
transaction as every change to assignments or to a hold's status or expiry. So every kind of booking change
shows in the very next slot list, whichever code made it, and a hold that lapses frees its time without any
write. These tests commit for real (transaction=True), as requests do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_scopes import scope
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import Officer, Tenant
from bookings.availability import available_slots
from bookings.models import Booking, BookingAssignment
from bookings.services import (
    HOLD_DURATION,
    booking_cancel,
    booking_confirm,
    booking_create,
    booking_hold,
    booking_reassign,
    booking_reschedule,
    holds_expire,
)
from scheduling.models import AppointmentType
from tests import builders as b
from tests.builders import MONDAY, NOW, at

pytestmark = pytest.mark.django_db(transaction=True)
NINE = at(MONDAY, 9)
TEN = at(MONDAY, 10)


@pytest.fixture
def food(tenant: Tenant) -> AppointmentType:
    """One officer, working weekdays 9 to 5, and an hour-long type any officer can take."""
    b.officer(tenant)
    appointment_type = b.appointment_type(tenant, slug="food")
    return (
        AppointmentType.objects.with_scope(tenant=tenant).select_related("tenant").get(pk=appointment_type.pk)
    )


def starts(appointment_type: AppointmentType, now=NOW) -> set:
    with scope(tenant=appointment_type.tenant):
        found = available_slots(appointment_type, at(MONDAY, 0), at(MONDAY, 23), now=now)
    return {slot.start for slot in found}


def booked_version(tenant: Tenant) -> int:
    return Tenant.objects.values_list("booked_version", flat=True).get(pk=tenant.pk)


def booked_at_nine(appointment_type: AppointmentType) -> Booking:
    with scope(tenant=appointment_type.tenant):
        customer = b.customer(appointment_type.tenant)
        return booking_create(appointment_type=appointment_type, starts_at=NINE, customer=customer, now=NOW)


def test_a_warm_slot_list_reads_only_the_booked_version(food) -> None:
    assert NINE in starts(food)
    with CaptureQueriesContext(connection) as warm:
        assert NINE in starts(food)
    assert [q["sql"] for q in warm.captured_queries] == [
        f"SELECT booked_version FROM accounts_tenant WHERE id = {food.tenant_id}"
    ]


def test_a_hold_shows_at_once_and_frees_its_time_when_it_lapses(food) -> None:
    assert NINE in starts(food)
    with scope(tenant=food.tenant):
        booking_hold(appointment_type=food, starts_at=NINE, now=NOW)
    assert NINE not in starts(food)
    assert TEN in starts(food)
    # No write: the cached entry keeps the hold's expiry and the next read at a later moment frees it.
    version = booked_version(food.tenant)
    assert NINE in starts(food, now=NOW + HOLD_DURATION + timedelta(seconds=1))
    assert booked_version(food.tenant) == version


def cancelled(booking: Booking) -> None:
    booking_cancel(booking=booking, reason="No longer needed", now=NOW)


def moved(booking: Booking) -> None:
    booking_reschedule(booking=booking, starts_at=at(MONDAY, 14), now=NOW)


def assignment_freed_in_sql(booking: Booking) -> None:
    """As another process or a hand-written statement would: no Django signal is sent."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {BookingAssignment._meta.db_table} SET is_active = false WHERE booking_id = %s",
            [booking.pk],
        )


FREEING: list[Callable[[Booking], None]] = [cancelled, moved, assignment_freed_in_sql]


@pytest.mark.parametrize("change", FREEING, ids=[change.__name__ for change in FREEING])
def test_each_change_that_frees_booked_time_shows_at_once(food, change) -> None:
    booking = booked_at_nine(food)
    assert NINE not in starts(food)
    assert NINE not in starts(food)  # now from the cache
    with scope(tenant=food.tenant):
        change(booking)
    assert NINE in starts(food)


def test_a_lapsed_hold_expired_by_the_sweeper_stays_free_and_a_confirmed_hold_stays_taken(food) -> None:
    with scope(tenant=food.tenant):
        lapsing = booking_hold(appointment_type=food, starts_at=NINE, now=NOW)
        kept = booking_hold(appointment_type=food, starts_at=TEN, now=NOW)
    later = NOW + timedelta(minutes=1)
    assert not {NINE, TEN} & starts(food, now=later)
    with scope(tenant=food.tenant):
        booking_confirm(booking=kept, customer=b.customer(food.tenant), now=later)
    after_expiry = NOW + HOLD_DURATION + timedelta(seconds=1)
    assert NINE in starts(food, now=after_expiry)
    assert TEN not in starts(food, now=after_expiry)  # confirmed: its hold expiry no longer frees it
    with scope(tenant=food.tenant):
        holds_expire(now=after_expiry)
    lapsing.refresh_from_db()
    assert lapsing.status == "expired"
    assert NINE in starts(food, now=after_expiry)


def test_a_transaction_sees_its_own_booking_before_it_commits(food) -> None:
    assert NINE in starts(food)
    assert NINE in starts(food)  # cached
    with transaction.atomic():
        with scope(tenant=food.tenant):
            booking_hold(appointment_type=food, starts_at=NINE, now=NOW)
        assert NINE not in starts(food)
        transaction.set_rollback(True)
    assert NINE in starts(food)


def test_the_version_rises_once_per_transaction_and_not_for_other_edits(food) -> None:
    booking = booked_at_nine(food)
    version = booked_version(food.tenant)
    with scope(tenant=food.tenant):
        Booking.objects.filter(pk=booking.pk).update(notes="Gate code 1234")
    assert booked_version(food.tenant) == version  # nothing booked time depends on changed
    with transaction.atomic(), scope(tenant=food.tenant):
        for hour in (11, 12, 13):
            booking_hold(appointment_type=food, starts_at=at(MONDAY, hour), now=NOW)
    assert booked_version(food.tenant) == version + 1


def test_another_tenants_bookings_leave_this_tenants_version_alone(food, other_tenant) -> None:
    version = booked_version(food.tenant)
    b.officer(other_tenant)
    theirs = b.appointment_type(other_tenant, slug="food")
    with scope(tenant=other_tenant):
        booking_hold(appointment_type=theirs, starts_at=NINE, now=NOW)
    assert booked_version(food.tenant) == version
    assert booked_version(other_tenant) == 1


def test_without_redis_booked_time_is_read_afresh(food) -> None:
    unreachable = RedisConnectionError("Connection refused")
    with (
        mock.patch("config.cache.cache.get", side_effect=unreachable),
        mock.patch("config.cache.cache.set", side_effect=unreachable),
    ):
        assert NINE in starts(food)
        booked_at_nine(food)
        assert NINE not in starts(food)


def test_saving_a_tenant_read_before_a_booking_keeps_the_newer_versions(food) -> None:
    stale = Tenant.objects.get(pk=food.tenant_id)
    booked_at_nine(food)
    raised = booked_version(food.tenant)
    stale.name = "Northshire District Council"
    stale.save()
    fresh = Tenant.objects.get(pk=food.tenant_id)
    assert fresh.name == "Northshire District Council"
    assert fresh.booked_version == raised > stale.booked_version
    assert fresh.supply_version > stale.supply_version  # the save itself raised it


def test_a_reassignment_frees_one_officer_and_takes_the_other(food) -> None:
    first = Officer.objects.with_scope(tenant=food.tenant).get()
    second = b.officer(food.tenant)
    booking = booked_at_nine(food)
    with scope(tenant=food.tenant):
        assert booking.assignments.get().officer_id == first.pk  # equal loads: the lower id is first

    def free_at_nine(officer: Officer) -> bool:
        with scope(tenant=food.tenant):
            found = available_slots(food, at(MONDAY, 0), at(MONDAY, 23), now=NOW, officer_ids=[officer.pk])
        return NINE in {slot.start for slot in found}

    assert (free_at_nine(first), free_at_nine(second)) == (False, True)
    with scope(tenant=food.tenant):
        booking_reassign(booking=booking, to_officer=second, actor=None, now=NOW, reason="Cover")
    assert (free_at_nine(first), free_at_nine(second)) == (True, False)
