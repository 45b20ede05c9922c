"""Reassignment, conflict detection and resolution, the overdue flag, and the displacement query bound."""

from __future__ import annotations

from datetime import timedelta

import pytest

from accounts.models import Role
from bookings.availability import displacement_options
from bookings.errors import SlotUnavailable
from bookings.models import Booking, BookingAssignment, BookingStatus, ConflictCause, ConflictItem
from bookings.services import (
    NotEligible,
    booking_create,
    booking_create_displacing,
    booking_reassign,
    conflict_resolve,
    conflicts_flag_overdue,
)
from bookings.services import reassign as reassign_module
from notifications.models import Message
from scheduling.models import Absence, Priority, StaffingRequirement
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import MembershipFactory, SkillFactory


@pytest.fixture
def world(in_tenant):
    tenant = in_tenant
    skill = SkillFactory(tenant=tenant, name="Food hygiene")
    first = b.officer(tenant, skills=[skill])
    kind = b.appointment_type(tenant)
    StaffingRequirement.objects.create(tenant=tenant, appointment_type=kind, skill=skill, count=1)
    actor = MembershipFactory(tenant=tenant, role=Role.MANAGER).user
    return tenant, skill, first, kind, actor


def book(kind, hour, n=1, day=MONDAY, **kwargs) -> Booking:
    return booking_create(
        appointment_type=kind,
        starts_at=at(day, hour),
        customer=b.customer(kind.tenant, n),
        now=NOW,
        **kwargs,
    )


def officers_of(booking: Booking) -> list[int]:
    return sorted(
        BookingAssignment.objects.filter(booking=booking, is_active=True).values_list("officer_id", flat=True)
    )


def test_reassign_to_an_eligible_officer_swaps_and_audits(world) -> None:
    tenant, skill, first, kind, actor = world
    booking = book(kind, 10, officer_ids=[first.pk])
    second = b.officer(tenant, skills=[skill])
    moved = booking_reassign(booking=booking, to_officer=second, actor=actor, now=NOW)
    assert officers_of(moved) == [second.pk]
    event = moved.events.last()
    assert event.action == "reassigned" and event.actor == actor
    assert event.before["officers"] == [first.pk] and event.after["officers"] == [second.pk]
    # The officer is not something this customer chose: no message beyond the confirmation.
    assert Message.objects.filter(kind="rescheduled").count() == 0


def test_reassign_refuses_an_officer_without_the_skill(world) -> None:
    tenant, _skill, first, kind, actor = world
    booking = book(kind, 10, officer_ids=[first.pk])
    unskilled = b.officer(tenant)
    with pytest.raises(NotEligible):
        booking_reassign(booking=booking, to_officer=unskilled, actor=actor, now=NOW)
    assert officers_of(booking) == [first.pk]


def test_reassign_refuses_a_busy_or_absent_officer(world) -> None:
    tenant, skill, first, kind, actor = world
    booking = book(kind, 10, officer_ids=[first.pk])
    second = b.officer(tenant, skills=[skill])
    book(kind, 10, n=2, officer_ids=[second.pk])
    with pytest.raises(NotEligible):
        booking_reassign(booking=booking, to_officer=second, actor=actor, now=NOW)
    third = b.officer(tenant, skills=[skill])
    Absence.objects.create(tenant=tenant, officer=third, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 12))
    with pytest.raises(NotEligible):
        booking_reassign(booking=booking, to_officer=third, actor=actor, now=NOW)
    assert officers_of(booking) == [first.pk]


def test_reassign_lost_race_changes_nothing(world, monkeypatch) -> None:
    tenant, skill, first, kind, actor = world
    booking = book(kind, 10, officer_ids=[first.pk])
    second = b.officer(tenant, skills=[skill])
    real_check = reassign_module.reassign_check

    def check_then_someone_books(*args, **kwargs):
        real_check(*args, **kwargs)
        book(kind, 10, n=7, officer_ids=[second.pk])  # lands between the check and the write

    monkeypatch.setattr(reassign_module, "reassign_check", check_then_someone_books)
    with pytest.raises(SlotUnavailable, match="a moment ago"):
        booking_reassign(booking=booking, to_officer=second, actor=actor, now=NOW)
    assert officers_of(booking) == [first.pk]
    assert not booking.events.filter(action="reassigned").exists()


def test_absence_over_bookings_opens_items_once_and_keeps_them_confirmed(world) -> None:
    tenant, _skill, first, kind, _actor = world
    booked = [book(kind, 10, officer_ids=[first.pk]), book(kind, 14, n=2, officer_ids=[first.pk])]
    later = book(kind, 10, n=3, day=MONDAY + timedelta(days=1), officer_ids=[first.pk])
    absence = Absence.objects.create(
        tenant=tenant, officer=first, starts_at=at(MONDAY, 0), ends_at=at(MONDAY, 23)
    )
    items = ConflictItem.objects.open()
    assert sorted(items.values_list("booking_id", flat=True)) == sorted(x.pk for x in booked)
    assert set(items.values_list("cause", "officer_id")) == {(ConflictCause.ABSENCE, first.pk)}
    absence.note = "Flu"
    absence.save()  # saved again: still one open item per booking
    assert ConflictItem.objects.count() == 2
    assert ConflictItem.objects.filter(booking=later).count() == 0
    assert set(Booking.objects.filter(pk__in=[x.pk for x in booked]).values_list("status", flat=True)) == {
        BookingStatus.CONFIRMED
    }


def test_officer_leaving_queues_their_future_bookings(world) -> None:
    _tenant, _skill, first, kind, _actor = world
    booking = book(kind, 10, officer_ids=[first.pk])
    first.is_active = False
    first.save()
    first.save()
    item = ConflictItem.objects.get()
    assert item.booking == booking and item.cause == ConflictCause.OFFICER_LEFT


def test_displaced_bookings_land_in_the_queue(world) -> None:
    tenant, _skill, first, kind, actor = world
    urgent = b.appointment_type(tenant, urgent_target_hours=4)
    routine = [book(kind, hour, n=hour) for hour in range(9, 17)]
    now = at(MONDAY, 8)
    option = displacement_options(urgent, priority=Priority.URGENT, now=now)[0]
    booking_create_displacing(
        appointment_type=urgent,
        starts_at=option.slot.start,
        customer=b.customer(tenant, 99),
        displace_booking_ids=option.displaced_booking_ids,
        officer_ids=option.allocation.officer_ids,
        reason="Gas leak",
        priority=Priority.URGENT,
        actor=actor,
        now=now,
    )
    item = ConflictItem.objects.get()
    assert item.booking == routine[0] and item.cause == ConflictCause.DISPLACED
    assert item.officer_id == first.pk and item.detail == "Gas leak"
    assert Message.objects.filter(kind="displaced").count() == 1


def test_accepting_another_officer_resolves_the_item(world) -> None:
    tenant, skill, first, kind, actor = world
    booking = book(kind, 10, officer_ids=[first.pk])
    second = b.officer(tenant, skills=[skill])
    Absence.objects.create(tenant=tenant, officer=first, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 17))
    item = ConflictItem.objects.get()
    resolved = conflict_resolve(item=item, to_officer=second, actor=actor, now=NOW)
    assert resolved.resolved_at == NOW and resolved.resolved_by == actor
    assert "Customer not told" in resolved.resolution
    assert officers_of(booking) == [second.pk]
    assert not ConflictItem.objects.open().exists()


def test_accepting_a_new_time_reschedules_and_tells_the_customer(world) -> None:
    tenant, _skill, first, kind, actor = world
    booking = book(kind, 10, officer_ids=[first.pk])
    Absence.objects.create(tenant=tenant, officer=first, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 12))
    item = ConflictItem.objects.get()
    conflict_resolve(item=item, starts_at=at(MONDAY, 14), actor=actor, now=NOW)
    booking.refresh_from_db()
    assert booking.starts_at == at(MONDAY, 14) and booking.status == BookingStatus.CONFIRMED
    assert Message.objects.filter(kind="rescheduled").exists()
    item.refresh_from_db()
    assert item.resolved_at == NOW and "Customer told" in item.resolution


def test_flagging_overdue_items_twice_changes_nothing_the_second_time(world, settings) -> None:
    tenant, _skill, first, kind, _actor = world
    settings.CONFLICT_FLAG_AFTER_HOURS = 24
    book(kind, 10, officer_ids=[first.pk])
    Absence.objects.create(tenant=tenant, officer=first, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 12))
    item = ConflictItem.objects.get()
    assert conflicts_flag_overdue(now=item.detected_at + timedelta(hours=23)) == 0
    later = item.detected_at + timedelta(hours=25)
    assert conflicts_flag_overdue(now=later) == 1
    assert conflicts_flag_overdue(now=later + timedelta(hours=1)) == 0
    item.refresh_from_db()
    assert item.flagged_at == later


def test_flag_task_runs_in_the_tenant_scope(world) -> None:
    from bookings.tasks import flag_overdue_conflicts

    tenant, *_ = world
    assert flag_overdue_conflicts.apply(kwargs={"tenant_id": tenant.pk}).get() == 0


@pytest.mark.parametrize("officers", [2, 8])
def test_displacement_options_cost_a_fixed_number_of_queries(
    in_tenant, officers, django_assert_max_num_queries
) -> None:
    tenant = in_tenant
    staff = [b.officer(tenant) for _ in range(officers)]
    kind = b.appointment_type(tenant, granularity_minutes=30, duration_minutes=30)
    urgent = b.appointment_type(tenant, urgent_target_hours=48, duration_minutes=60)
    n = 0
    for day in (MONDAY, MONDAY + timedelta(days=1)):
        for officer in staff:
            for half_hour in range(16):  # full days: 30 hour-long urgent starts in 48 h
                n += 1
                start = at(day, 9) + timedelta(minutes=30 * half_hour)
                booking_create(
                    appointment_type=kind,
                    starts_at=start,
                    customer=b.customer(tenant, n),
                    now=NOW,
                    officer_ids=[officer.pk],
                )
    with django_assert_max_num_queries(22):
        options = displacement_options(urgent, priority=Priority.URGENT, now=at(MONDAY, 8), limit=50)
    assert len(options) == 30 and all(len(o.displaced_booking_ids) == 2 for o in options)
