"""Concurrent requests for one slot against real PostgreSQL, each in its own thread and connection.

Exactly one request may win; every other must hear "taken" with alternatives to offer, never an error
page; and a request retried concurrently under one idempotency key must get the one booking back.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
from django_scopes import scope

from benchmarks.scenarios import (
    Scenario,
    booking_race,
    first_free_start,
    race_scenario_create,
    scratch_tenant_delete,
)
from bookings.errors import SlotUnavailable
from bookings.models import Booking, BookingAssignment

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def race() -> Iterator[Scenario]:
    scenario = race_scenario_create(customers=100)
    yield scenario
    scratch_tenant_delete(tenant=scenario.tenant)


def described(errors: list[BaseException]) -> Counter[str]:
    """Errors by type and SQLSTATE, so a failure says what went wrong (a deadlock is 40P01)."""
    return Counter(f"{type(e).__name__} {getattr(e.__cause__, 'sqlstate', '') or ''}".strip() for e in errors)


def test_a_hundred_requests_for_one_slot_make_exactly_one_booking(race: Scenario) -> None:
    starts_at = first_free_start(race)
    outcome = booking_race(scenario=race, starts_at=starts_at, customer_ids=race.customer_ids)

    assert described([e for e in outcome.errors if not isinstance(e, SlotUnavailable)]) == Counter()
    assert len(outcome.bookings) == 1
    assert len(outcome.errors) == 99
    assert all(error.alternatives for error in outcome.errors)
    assert starts_at not in {slot.start for error in outcome.errors for slot in error.alternatives}
    (winner,) = outcome.bookings
    kind = race.appointment_type
    occupied = (starts_at - kind.buffer_before, starts_at + kind.duration + kind.buffer_after)
    with scope(tenant=race.tenant):
        assert list(Booking.objects.active().values_list("pk", "starts_at")) == [(winner.pk, starts_at)]
        taken = BookingAssignment.objects.filter(is_active=True, occupied__overlap=occupied)
        assert list(taken.values_list("booking_id", flat=True)) == [winner.pk]


def test_twenty_concurrent_retries_with_one_idempotency_key_all_get_the_same_booking(race: Scenario) -> None:
    starts_at = first_free_start(race)
    customer_id = race.customer_ids[0]
    outcome = booking_race(
        scenario=race, starts_at=starts_at, customer_ids=[customer_id] * 20, idempotency_key="retry-42"
    )

    assert described(outcome.errors) == Counter()
    assert len(outcome.bookings) == 20
    assert len({booking.pk for booking in outcome.bookings}) == 1
    with scope(tenant=race.tenant):
        assert list(Booking.objects.values_list("customer_id", "starts_at", "status")) == [
            (customer_id, starts_at, "confirmed")
        ]
