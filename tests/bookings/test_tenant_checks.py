"""Booking and customer services refuse objects of another tenant, whatever the caller looked up."""

from __future__ import annotations

import pytest
from django_scopes import scope

from accounts.tenancy import TenantMismatch
from bookings.models import Booking, BookingEvent, BookingStatus
from bookings.services import (
    booking_cancel,
    booking_confirm,
    booking_create,
    booking_hold,
    booking_reschedule,
    customer_update,
)
from notifications.models import Message
from tests import builders as b
from tests.builders import MONDAY, NOW, at


@pytest.fixture
def foreign(other_tenant):
    """Another tenant's customer, officer, type and booking."""
    officer = b.officer(other_tenant)
    kind = b.appointment_type(other_tenant)
    with scope(tenant=other_tenant):
        customer = b.customer(other_tenant, 7)
        booking = booking_create(appointment_type=kind, starts_at=at(MONDAY, 10), customer=customer, now=NOW)
    return {"customer": customer, "officer": officer, "kind": kind, "booking": booking}


@pytest.fixture
def world(in_tenant):
    tenant = in_tenant
    b.officer(tenant)
    return tenant, b.appointment_type(tenant)


def test_confirming_with_another_tenants_customer_raises_and_changes_nothing(world, foreign) -> None:
    _tenant, kind = world
    hold = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    with pytest.raises(TenantMismatch):
        booking_confirm(booking=hold, customer=foreign["customer"], now=NOW)
    hold.refresh_from_db()
    assert hold.status == BookingStatus.HELD and hold.customer_id is None
    assert list(BookingEvent.objects.values_list("action", flat=True)) == ["held"]
    assert not Message.objects.exists()


def test_every_booking_service_refuses_foreign_objects(world, foreign) -> None:
    tenant, kind = world
    own_customer = b.customer(tenant)
    attempts = [
        lambda: booking_create(
            appointment_type=kind, starts_at=at(MONDAY, 11), customer=foreign["customer"], now=NOW
        ),
        lambda: booking_create(
            appointment_type=foreign["kind"], starts_at=at(MONDAY, 11), customer=own_customer, now=NOW
        ),
        lambda: booking_create(
            appointment_type=kind,
            starts_at=at(MONDAY, 11),
            customer=own_customer,
            officer_ids=[foreign["officer"].pk],
            now=NOW,
        ),
        lambda: booking_hold(appointment_type=foreign["kind"], starts_at=at(MONDAY, 11), now=NOW),
        lambda: booking_reschedule(booking=foreign["booking"], starts_at=at(MONDAY, 14), now=NOW),
        lambda: booking_cancel(booking=foreign["booking"], now=NOW),
        lambda: customer_update(customer=foreign["customer"], actor=None, full_name="Renamed"),
    ]
    for attempt in attempts:
        with pytest.raises(TenantMismatch):
            attempt()
    assert not Booking.objects.exists()
    with scope(tenant=foreign["booking"].tenant):
        untouched = Booking.objects.get()
        assert (untouched.status, untouched.starts_at) == (BookingStatus.CONFIRMED, at(MONDAY, 10))
        assert untouched.customer.full_name == "Customer 7"
