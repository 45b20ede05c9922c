"""Booking services against real PostgreSQL: lifecycle, no double-booking, idempotency, audit, urgency."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone

from accounts.models import Role
from bookings.availability import (
    allocate,
    available_slots,
    displacement_options,
    earliest_slot,
    slots_at,
    week_of,
)
from bookings.errors import BookingError, InvalidTransition, SlotUnavailable
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingStatus,
    Customer,
    IdempotencyKey,
)
from bookings.services import (
    booking_cancel,
    booking_complete,
    booking_confirm,
    booking_create,
    booking_create_displacing,
    booking_hold,
    booking_mark_no_show,
    booking_reschedule,
    customer_find_or_create,
    holds_expire,
)
from scheduling.models import AllocationStrategy, Priority, StaffingRequirement
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import MembershipFactory, SkillFactory


@pytest.fixture
def world(in_tenant):
    tenant = in_tenant
    officer = b.officer(tenant)
    kind = b.appointment_type(tenant)
    return tenant, officer, kind


def book(kind, hour, n=1, **kwargs) -> Booking:
    return booking_create(
        appointment_type=kind,
        starts_at=at(MONDAY, hour),
        customer=b.customer(kind.tenant, n),
        now=NOW,
        **kwargs,
    )


def test_hold_then_confirm_records_history_with_actor(world) -> None:
    tenant, officer, kind = world
    actor = MembershipFactory(tenant=tenant, role=Role.CUSTOMER_SERVICE).user
    hold = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW, actor=actor)
    assert hold.status == BookingStatus.HELD and hold.hold_expires_at == NOW + timedelta(minutes=10)
    assert hold.reference.startswith("BK-") and len(hold.reference) == 10
    booking = booking_confirm(
        booking=hold, customer=b.customer(tenant), answers={"staff": "4"}, actor=actor, now=NOW
    )
    assert booking.status == BookingStatus.CONFIRMED and booking.hold_expires_at is None
    assert [a.officer_id for a in booking.assignments.all()] == [officer.pk]
    events = list(booking.events.values_list("action", "actor", "after__status"))
    assert events == [("held", actor.pk, "held"), ("confirmed", actor.pk, "confirmed")]


def test_the_database_refuses_overlapping_assignments_whatever_writes_them(world) -> None:
    tenant, officer, kind = world
    first = book(kind, 10)
    second = book(kind, 12, n=2)
    with pytest.raises(IntegrityError) as error, transaction.atomic():
        BookingAssignment.objects.create(
            tenant=tenant,
            booking=second,
            officer=officer,
            session_key=second.session_key,
            occupied=DateTimeTZRange(at(MONDAY, 10, 30), at(MONDAY, 11, 30)),
        )
    assert error.value.__cause__.sqlstate == "23P01"
    assert first.assignments.get().is_active


def test_back_to_back_bookings_touch_without_overlapping(world) -> None:
    _, _, kind = world
    book(kind, 10)
    assert book(kind, 11, n=2).status == BookingStatus.CONFIRMED


def test_taken_slot_answers_with_nearest_alternatives_and_changes_nothing(world) -> None:
    _tenant, _, kind = world
    book(kind, 10)
    before = (Booking.objects.count(), BookingEvent.objects.count())
    with pytest.raises(SlotUnavailable) as error:
        booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    alternatives = [slot.start for slot in error.value.alternatives]
    assert alternatives and at(MONDAY, 10) not in alternatives
    assert at(MONDAY, 9) in alternatives and at(MONDAY, 11) in alternatives
    assert (Booking.objects.count(), BookingEvent.objects.count()) == before


def test_same_idempotency_key_books_once(world) -> None:
    tenant, _, kind = world
    customer = b.customer(tenant)
    first = booking_create(
        appointment_type=kind, starts_at=at(MONDAY, 10), customer=customer, now=NOW, idempotency_key="req-1"
    )
    again = booking_create(
        appointment_type=kind, starts_at=at(MONDAY, 10), customer=customer, now=NOW, idempotency_key="req-1"
    )
    assert again.pk == first.pk
    assert Booking.objects.count() == 1
    assert IdempotencyKey.objects.filter(key="req-1", operation="booking.create").count() == 1
    assert BookingEvent.objects.filter(action="confirmed").count() == 1


@pytest.mark.parametrize(
    ("start", "message"),
    [
        (lambda: at(MONDAY, 10, 10), "every 30 minutes"),
        (lambda: NOW - timedelta(days=1), "in the past"),
        (lambda: NOW + timedelta(days=400), "at most 365 days ahead"),
    ],
)
def test_bad_starts_are_refused_with_a_reason(world, start, message) -> None:
    _, _, kind = world
    with pytest.raises(BookingError, match=message):
        booking_hold(appointment_type=kind, starts_at=start(), now=NOW)
    assert Booking.objects.count() == 0


def test_outside_working_hours_is_unavailable(world) -> None:
    _, _, kind = world
    with pytest.raises(SlotUnavailable):
        booking_hold(appointment_type=kind, starts_at=at(MONDAY, 20), now=NOW)
    assert Booking.objects.count() == 0


def test_minimum_notice_is_enforced(world) -> None:
    tenant, _, _ = world
    kind = b.appointment_type(tenant, min_notice_minutes=48 * 60)
    with pytest.raises(BookingError, match="more notice"):
        booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=at(MONDAY, 8))


def test_reschedule_frees_the_old_slot_in_the_same_transaction(world) -> None:
    _, _, kind = world
    booking = book(kind, 10)
    moved = booking_reschedule(booking=booking, starts_at=at(MONDAY, 14), now=NOW)
    assert moved.starts_at == at(MONDAY, 14) and moved.status == BookingStatus.CONFIRMED
    assert at(MONDAY, 10) in [s.start for s in available_slots(kind, at(MONDAY, 0), at(MONDAY, 23), now=NOW)]
    assert moved.events.last().action == "rescheduled"
    assert moved.events.last().before["starts_at"] == at(MONDAY, 10).isoformat()


def test_reschedule_by_half_an_hour_may_overlap_its_own_old_time(world) -> None:
    _, _, kind = world
    booking = book(kind, 10)
    assert booking_reschedule(booking=booking, starts_at=at(MONDAY, 10, 30), now=NOW).starts_at == at(
        MONDAY, 10, 30
    )


def test_reschedule_into_a_taken_slot_changes_nothing(world) -> None:
    _, _, kind = world
    booking = book(kind, 10)
    book(kind, 14, n=2)
    with pytest.raises(SlotUnavailable) as error:
        booking_reschedule(booking=booking, starts_at=at(MONDAY, 14), now=NOW)
    booking.refresh_from_db()
    assert booking.starts_at == at(MONDAY, 10) and booking.assignments.filter(is_active=True).count() == 1
    assert error.value.alternatives


def test_cancel_frees_the_slot_and_is_idempotent(world) -> None:
    _, _, kind = world
    booking = book(kind, 10)
    cancelled = booking_cancel(booking=booking, reason="Moved away", now=NOW)
    again = booking_cancel(booking=booking, reason="Moved away", now=NOW)
    assert cancelled.status == again.status == BookingStatus.CANCELLED
    assert cancelled.cancellation_reason == "Moved away"
    assert booking.events.filter(action="cancelled").count() == 1
    assert book(kind, 10, n=2).status == BookingStatus.CONFIRMED


def test_outcomes_only_after_the_start(world) -> None:
    _, _, kind = world
    booking = book(kind, 10)
    with pytest.raises(InvalidTransition, match="not started"):
        booking_complete(booking=booking, now=NOW)
    done = booking_complete(booking=booking, notes="All good", now=at(MONDAY, 11))
    assert done.status == BookingStatus.COMPLETED and done.notes == "All good"
    with pytest.raises(InvalidTransition):
        booking_cancel(booking=done, now=at(MONDAY, 12))
    other = book(kind, 14, n=2)
    assert booking_mark_no_show(booking=other, now=at(MONDAY, 15)).status == BookingStatus.NO_SHOW


def test_expired_hold_releases_the_slot_and_sweeping_twice_is_harmless(world) -> None:
    _, _, kind = world
    first = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    later = NOW + timedelta(minutes=11)
    second = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=later)
    first.refresh_from_db()
    assert first.status == BookingStatus.EXPIRED and second.status == BookingStatus.HELD
    assert first.events.last().action == "hold_expired"
    assert holds_expire(now=later + timedelta(minutes=11)) == 1  # the second hold lapses too
    assert holds_expire(now=later + timedelta(minutes=11)) == 0


def test_confirming_a_lapsed_hold_succeeds_while_the_slot_is_free(world) -> None:
    tenant, _, kind = world
    hold = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    holds_expire(now=NOW + timedelta(minutes=20))
    booking = booking_confirm(booking=hold, customer=b.customer(tenant), now=NOW + timedelta(minutes=21))
    assert (
        booking.status == BookingStatus.CONFIRMED and booking.assignments.filter(is_active=True).count() == 1
    )


def test_confirming_a_lapsed_hold_whose_slot_went_offers_alternatives(world) -> None:
    tenant, _, kind = world
    hold = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    later = NOW + timedelta(minutes=15)
    booking_create(appointment_type=kind, starts_at=at(MONDAY, 10), customer=b.customer(tenant, 2), now=later)
    with pytest.raises(SlotUnavailable, match="ran out") as error:
        booking_confirm(booking=hold, customer=b.customer(tenant), now=later)
    assert error.value.alternatives


def test_group_session_fills_to_capacity(world) -> None:
    tenant, _, _ = world
    kind = b.appointment_type(tenant, capacity=2)
    first, second = book(kind, 10), book(kind, 10, n=2)
    assert first.session_key == second.session_key and {first.seat, second.seat} == {1, 2}
    with pytest.raises(SlotUnavailable):
        book(kind, 10, n=3)
    booking_cancel(booking=first, now=NOW)
    assert book(kind, 10, n=4).seat == first.seat


def test_least_loaded_allocation_explains_itself(in_tenant) -> None:
    tenant = in_tenant
    busy, idle = b.officer(tenant), b.officer(tenant)
    kind = b.appointment_type(tenant)
    booking_create(
        appointment_type=kind,
        starts_at=at(MONDAY, 9),
        customer=b.customer(tenant),
        now=NOW,
        officer_ids=[busy.pk],
    )
    booking = book(kind, 14, n=2)
    assert booking.assignments.get().officer_id == idle.pk
    assert "least loaded" in booking.allocation_reason and idle.user.full_name in booking.allocation_reason


def test_round_robin_takes_turns(in_tenant) -> None:
    tenant = in_tenant
    officers = [b.officer(tenant), b.officer(tenant)]
    kind = b.appointment_type(tenant, allocation_strategy=AllocationStrategy.ROUND_ROBIN)
    taken = [book(kind, hour, n=hour).assignments.get().officer_id for hour in (9, 11, 13, 15)]
    assert taken[0] != taken[1] and taken[0] == taken[2] and taken[1] == taken[3]
    assert set(taken) == {o.pk for o in officers}


def test_named_officer_strategy(in_tenant) -> None:
    tenant = in_tenant
    b.officer(tenant)
    named = b.officer(tenant)
    kind = b.appointment_type(
        tenant, allocation_strategy=AllocationStrategy.NAMED_OFFICER, named_officer=named
    )
    assert book(kind, 10).assignments.get().officer_id == named.pk
    with pytest.raises(SlotUnavailable):
        book(kind, 10, n=2)


def test_multi_officer_booking_takes_every_officer(in_tenant) -> None:
    tenant = in_tenant
    food, safety = SkillFactory(tenant=tenant), SkillFactory(tenant=tenant)
    cook, guard = b.officer(tenant, skills=[food]), b.officer(tenant, skills=[food, safety])
    kind = b.appointment_type(tenant)
    StaffingRequirement.objects.create(tenant=tenant, appointment_type=kind, skill=food, count=1)
    StaffingRequirement.objects.create(tenant=tenant, appointment_type=kind, skill=safety, count=1)
    booking = book(kind, 10)
    assert sorted(a.officer_id for a in booking.assignments.all()) == sorted([cook.pk, guard.pk])
    assert allocate(kind, available_slots(kind, at(MONDAY, 11), at(MONDAY, 12), now=NOW)[0]).officer_ids == (
        cook.pk,
        guard.pk,
    )


def test_customers_are_found_again_by_email_or_phone(in_tenant) -> None:
    tenant = in_tenant
    first = customer_find_or_create(
        tenant=tenant, full_name="Ann", email="Ann@Example.org", phone="07700 900123", consent=True, now=NOW
    )
    by_email = customer_find_or_create(tenant=tenant, full_name="Ann Smith", email="ann@example.org")
    by_phone = customer_find_or_create(tenant=tenant, full_name="Ann Smith", phone="+447700900123")
    assert first.pk == by_email.pk == by_phone.pk
    assert Customer.objects.count() == 1
    assert by_phone.full_name == "Ann" and by_phone.consent_given_at == NOW
    with pytest.raises(BookingError):
        customer_find_or_create(tenant=tenant, full_name="Nobody")


# --- urgency -----------------------------------------------------------------------------------------------


def test_urgent_earliest_slot_ignores_minimum_notice(world) -> None:
    tenant, _, _ = world
    kind = b.appointment_type(tenant, min_notice_minutes=3 * 24 * 60)
    now = at(MONDAY, 8)
    assert earliest_slot(kind, now=now).start == at(MONDAY + timedelta(days=3), 9)
    assert earliest_slot(kind, priority=Priority.URGENT, now=now).start == at(MONDAY, 9)


def test_urgent_booking_displaces_lower_priority_ones_atomically(world) -> None:
    tenant, _officer, kind = world
    urgent = b.appointment_type(tenant, urgent_target_hours=4, duration_minutes=60)
    routine = [book(kind, hour, n=hour) for hour in range(9, 17)]  # the whole day is booked
    now = at(MONDAY, 8)
    options = displacement_options(urgent, priority=Priority.URGENT, now=now)
    assert options, "expected displacement options"
    option = options[0]
    assert option.slot.start == at(MONDAY, 9) and option.displaced_booking_ids == (routine[0].pk,)

    booking = booking_create_displacing(
        appointment_type=urgent,
        starts_at=option.slot.start,
        customer=b.customer(tenant, 99),
        displace_booking_ids=option.displaced_booking_ids,
        officer_ids=option.allocation.officer_ids,
        reason="Gas leak reported",
        priority=Priority.URGENT,
        now=now,
    )
    routine[0].refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED and booking.priority == Priority.URGENT
    assert routine[0].status == BookingStatus.NEEDS_REBOOKING
    assert routine[0].events.last().reason == "Gas leak reported"
    # A displaced booking can be put back by rescheduling it.
    moved = booking_reschedule(booking=routine[0], starts_at=at(MONDAY + timedelta(days=1), 9), now=now)
    assert moved.status == BookingStatus.CONFIRMED


def test_displacement_never_touches_equal_or_higher_priority(world) -> None:
    tenant, _, kind = world
    urgent = b.appointment_type(tenant, urgent_target_hours=4)
    for hour in range(9, 17):
        book(kind, hour, n=hour, priority=Priority.URGENT)
    assert displacement_options(urgent, priority=Priority.URGENT, now=at(MONDAY, 8)) == []
    with pytest.raises(BookingError, match="lower priority"):
        booking_create_displacing(
            appointment_type=urgent,
            starts_at=at(MONDAY, 9),
            customer=b.customer(tenant, 99),
            displace_booking_ids=list(Booking.objects.values_list("pk", flat=True)[:1]),
            officer_ids=[],
            reason="x",
            priority=Priority.URGENT,
            now=at(MONDAY, 8),
        )
    assert not Booking.objects.filter(status=BookingStatus.NEEDS_REBOOKING).exists()


def test_expiry_task_runs_in_each_tenants_scope(world, other_tenant) -> None:
    from bookings.tasks import expire_holds, expire_holds_everywhere

    tenant, _, kind = world
    hold = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    Booking.objects.filter(pk=hold.pk).update(hold_expires_at=timezone.now() - timedelta(minutes=1))
    assert expire_holds.apply(kwargs={"tenant_id": tenant.pk}).get() == 1
    assert expire_holds.apply(kwargs={"tenant_id": tenant.pk}).get() == 0
    hold.refresh_from_db()
    assert hold.status == BookingStatus.EXPIRED
    from unittest import mock

    with mock.patch.object(expire_holds, "apply_async") as send:
        assert expire_holds_everywhere() == 2
    assert {c.kwargs["kwargs"]["tenant_id"] for c in send.call_args_list} == {tenant.pk, other_tenant.pk}


def test_changes_queue_messages_in_the_same_transaction(world) -> None:
    from notifications.models import Message

    tenant, _, kind = world
    customer = b.customer(tenant)
    customer.contact_by_sms, customer.phone = True, "+447700900123"
    customer.save()
    booking = booking_create(appointment_type=kind, starts_at=at(MONDAY, 10), customer=customer, now=NOW)
    booking_reschedule(booking=booking, starts_at=at(MONDAY, 11), now=NOW)
    with pytest.raises(SlotUnavailable):
        booking_reschedule(booking=booking, starts_at=at(MONDAY, 20), now=NOW)
    booking_cancel(booking=booking, now=NOW)
    told = Message.objects.filter(topic=f"booking:{booking.reference}").exclude(kind="reminder")
    sent = list(told.values_list("kind", "channel"))  # reminders: tests/bookings/test_reminders.py
    assert sent == [
        ("confirmation", "email"),
        ("confirmation", "sms"),
        ("rescheduled", "email"),
        ("rescheduled", "sms"),
        ("cancelled", "email"),
        ("cancelled", "sms"),
    ]


def test_rescheduling_to_the_same_time_changes_and_tells_nothing(world) -> None:
    from notifications.models import Message

    _, _, kind = world
    booking = book(kind, 10)
    events, messages = booking.events.count(), Message.objects.count()
    assert booking_reschedule(booking=booking, starts_at=at(MONDAY, 10), now=NOW).starts_at == at(MONDAY, 10)
    assert (booking.events.count(), Message.objects.count()) == (events, messages)


def test_a_portal_match_never_changes_someone_elses_details_not_even_blanks(in_tenant) -> None:
    tenant = in_tenant
    first = customer_find_or_create(tenant=tenant, full_name="Ann", email="ann@example.org", town="Northtown")
    again = customer_find_or_create(
        tenant=tenant,
        full_name="Mallory",
        email="ann@example.org",
        phone="07700 900666",
        town="Elsewhere",
        postcode="NT1 1AA",
        contact_by_sms=True,
        preferred_language="cy",
    )
    assert again.pk == first.pk
    stored = Customer.objects.get()
    assert (stored.full_name, stored.phone, stored.town, stored.postcode) == ("Ann", "", "Northtown", "")
    assert (stored.contact_by_sms, stored.preferred_language) == (False, "en-gb")


def test_the_week_loads_read_with_the_booked_time_are_the_officers_loads(in_tenant) -> None:
    """A hold reads each candidate's load for the least-loaded strategy in the same query as the booked
    time: the same seconds as summing every active assignment overlapping the week, held ones included."""
    tenant = in_tenant
    officers = [b.officer(tenant, days=range(7)) for _ in range(3)]
    kind = b.appointment_type(tenant)
    for officer, hours in zip(officers, [(9, 11, 13), (10,), ()], strict=True):
        for hour in hours:
            booking_create(
                appointment_type=kind,
                starts_at=at(MONDAY, hour),
                customer=b.customer(tenant, hour),
                now=NOW,
                officer_ids=[officer.pk],
            )
    cancelled = booking_create(
        appointment_type=kind,
        starts_at=at(MONDAY, 15),
        customer=b.customer(tenant, 15),
        now=NOW,
        officer_ids=[officers[2].pk],
    )
    booking_cancel(booking=cancelled, now=NOW)
    booking_hold(appointment_type=kind, starts_at=at(MONDAY, 16), now=NOW, officer_ids=[officers[1].pk])
    booking_create(  # the week before: not counted
        appointment_type=kind,
        starts_at=at(MONDAY - timedelta(days=1), 10),
        customer=b.customer(tenant, 30),
        now=NOW,
        officer_ids=[officers[2].pk],
    )

    week = week_of(kind, at(MONDAY, 12))
    _slots, _lapsed, loads = slots_at(kind, at(MONDAY + timedelta(days=2), 12), now=NOW, load_week=week)
    expected = {
        officer.pk: sum(
            (a.occupied.upper - a.occupied.lower).total_seconds()
            for a in BookingAssignment.objects.filter(officer=officer, is_active=True)
            if a.occupied.lower < week[1] and week[0] < a.occupied.upper
        )
        for officer in officers
    }
    assert (
        {o: loads.get(o, 0) for o in expected}
        == expected
        == {officers[0].pk: 3 * 3600, officers[1].pk: 2 * 3600, officers[2].pk: 0}
    )
