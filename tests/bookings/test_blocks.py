"""Block booking services against real PostgreSQL: plans, all-or-nothing and best-effort writes, buffers,
races between the check and the write, audit events, messages, tenancy and idempotency."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from bookings.models import Booking, BookingAssignment, BookingEvent, BookingStatus
from bookings.services import booking_create
from bookings.services.blocks import BlockItem, BlockMode, block_book, block_check, block_customers_tell
from bookings.services.blocks import plan as block_plan
from notifications.models import Message, MessageKind
from scheduling.models import AllocationStrategy
from tests import builders as b
from tests.builders import MONDAY, NOW, at

MONDAY_ONLY = (at(MONDAY, 0), at(MONDAY + timedelta(days=1), 0))
# 09:00-17:00, one hour and 15-minute buffers on a 30-minute grid: 09:00, 10:30, 12:00, 13:30, 15:00.
STARTS_PER_OFFICER_A_DAY = 5


@pytest.fixture
def world(in_tenant):
    tenant = in_tenant
    officers = [b.officer(tenant), b.officer(tenant)]
    kind = b.appointment_type(tenant, buffer_before_minutes=15, buffer_after_minutes=15)
    customers = [b.customer(tenant, n) for n in range(1, 13)]
    return tenant, officers, kind, customers


def programme(customers, kind, **kwargs):
    return block_check(
        appointment_type=kind,
        items=[BlockItem(customer_id=c.pk) for c in customers],
        period=MONDAY_ONLY,
        now=NOW,
        **kwargs,
    )


def write(plan, mode=BlockMode.BEST_EFFORT, **kwargs):
    return block_book(plan=plan, mode=mode, tell_customers=kwargs.pop("tell", False), now=NOW, **kwargs)


def occupied_by_officer() -> dict[int, list[tuple[datetime, datetime]]]:
    spans: dict[int, list[tuple[datetime, datetime]]] = {}
    for officer_id, occupied in BookingAssignment.objects.filter(is_active=True).values_list(
        "officer_id", "occupied"
    ):
        spans.setdefault(officer_id, []).append((occupied.lower, occupied.upper))
    return spans


def test_a_programme_fills_the_day_earliest_first_without_overlaps(world) -> None:
    _tenant, officers, kind, customers = world
    capacity = STARTS_PER_OFFICER_A_DAY * len(officers)

    plan = programme(customers, kind)
    result = write(plan)

    assert result.saved
    assert len(result.booked) == capacity
    assert [o.index for o in result.conflicts] == list(range(capacity, len(customers)))
    assert all("Nothing is free" in o.reason for o in result.conflicts)
    # The first free starts after the period are offered (Tuesday morning).
    assert result.conflicts[0].alternatives[0] == at(MONDAY + timedelta(days=1), 9)
    starts = sorted(o.booking.starts_at for o in result.booked)
    assert starts[:2] == [at(MONDAY, 9)] * 2
    assert starts[-1] == at(MONDAY, 15)
    spans = occupied_by_officer()
    assert set(spans) == {o.pk for o in officers}
    for officer_spans in spans.values():
        officer_spans.sort()
        assert len(officer_spans) == STARTS_PER_OFFICER_A_DAY
        for (_lo, hi), (next_lo, _hi) in itertools.pairwise(officer_spans):
            assert hi <= next_lo  # buffers included: no two appointments within 30 minutes
    assert Booking.objects.filter(status=BookingStatus.CONFIRMED).count() == capacity


def test_all_or_nothing_with_one_impossible_item_saves_nothing_and_says_why(world) -> None:
    _tenant, _officers, kind, customers = world
    items = [BlockItem(customer_id=c.pk, starts_at=at(MONDAY, 9 + n)) for n, c in enumerate(customers[:3])]
    items.append(BlockItem(customer_id=customers[3].pk, starts_at=at(MONDAY, 20)))  # after hours
    plan = block_check(appointment_type=kind, items=items, now=NOW)

    result = write(plan, BlockMode.ALL_OR_NOTHING)

    assert not result.saved
    assert Booking.objects.count() == 0
    assert BookingEvent.objects.count() == 0
    [conflict] = result.conflicts
    assert conflict.index == 3
    assert conflict.reason
    assert 1 <= len(conflict.alternatives) <= 3
    assert all(a.weekday() < 5 and 9 <= a.hour < 17 for a in conflict.alternatives)


def test_best_effort_books_the_rest(world) -> None:
    _tenant, _officers, kind, customers = world
    items = [BlockItem(customer_id=customers[0].pk, starts_at=at(MONDAY, 9))]
    items.append(BlockItem(customer_id=customers[0].pk, starts_at=at(MONDAY, 9, 30)))  # same customer
    items.append(BlockItem(customer_id=customers[0].pk, starts_at=at(MONDAY, 12)))
    plan = block_check(appointment_type=kind, items=items, now=NOW)

    result = write(plan)

    assert result.saved
    assert [o.index for o in result.booked] == [0, 2]
    assert [o.index for o in result.conflicts] == [1]
    assert Booking.objects.filter(customer=customers[0]).count() == 2


def test_buffers_are_respected_around_existing_bookings(in_tenant) -> None:
    tenant = in_tenant
    officer = b.officer(tenant)
    kind = b.appointment_type(tenant, buffer_before_minutes=15, buffer_after_minutes=15)
    booking_create(appointment_type=kind, starts_at=at(MONDAY, 10), customer=b.customer(tenant, 1), now=NOW)
    someone = b.customer(tenant, 2)
    items = [
        BlockItem(customer_id=someone.pk, starts_at=at(MONDAY, 11)),  # 10:45 buffer meets 11:15
        BlockItem(customer_id=someone.pk, starts_at=at(MONDAY, 11, 30)),
    ]
    plan = block_check(appointment_type=kind, items=items, now=NOW)

    assert [o.index for o in plan.conflicts] == [0]
    assert at(MONDAY, 11) not in plan.conflicts[0].alternatives
    assert write(plan).booked[0].booking.starts_at == at(MONDAY, 11, 30)
    assert BookingAssignment.objects.filter(is_active=True, officer=officer).count() == 2


def test_a_booking_taken_between_check_and_write_is_reported_not_double_booked(world) -> None:
    _tenant, _officers, kind, customers = world
    plan = programme(customers[:4], kind)
    first = plan.placed[0]
    taken = booking_create(
        appointment_type=kind,
        starts_at=first.starts_at,
        customer=customers[10],
        now=NOW,
        officer_ids=first.officer_ids,
    )

    nothing = write(plan, BlockMode.ALL_OR_NOTHING)
    assert not nothing.saved
    assert Booking.objects.count() == 1
    [lost] = nothing.conflicts
    assert lost.index == first.index
    assert "taken" in lost.reason
    assert lost.alternatives

    result = write(plan, BlockMode.BEST_EFFORT)
    assert len(result.booked) == 3
    assert [o.index for o in result.conflicts] == [first.index]
    assert (
        BookingAssignment.objects.filter(
            is_active=True, officer_id=first.officer_ids[0], booking__starts_at=first.starts_at
        )
        .get()
        .booking_id
        == taken.pk
    )


def test_bookings_get_audit_events_and_messages_when_chosen(world) -> None:
    _tenant, _officers, kind, customers = world
    told = write(programme(customers[:2], kind), tell=True)
    silent = write(programme(customers[2:4], kind), tell=False)

    for outcome in [*told.booked, *silent.booked]:
        [event] = outcome.booking.events.all()
        assert event.action == "block_booked"
        assert event.after["officers"] == list(outcome.officer_ids)
    told_refs = {f"booking:{o.booking.reference}" for o in told.booked}
    silent_refs = {f"booking:{o.booking.reference}" for o in silent.booked}
    confirmations = Message.objects.filter(kind=MessageKind.CONFIRMATION)
    assert set(confirmations.values_list("topic", flat=True)) == told_refs
    assert not Message.objects.filter(topic__in=silent_refs).exists()


def test_another_tenants_customers_are_refused(world, other_tenant) -> None:
    _tenant, _officers, kind, customers = world
    stranger = b.customer(other_tenant, 99)
    items = [BlockItem(customer_id=customers[0].pk), BlockItem(customer_id=stranger.pk)]
    plan = block_check(appointment_type=kind, items=items, period=MONDAY_ONLY, now=NOW)

    result = write(plan)

    assert [o.index for o in result.conflicts] == [1]
    assert result.conflicts[0].reason == "No such customer."
    assert len(result.booked) == 1
    with scope(tenant=other_tenant):
        assert not Booking.objects.filter(customer=stranger).exists()


def test_the_same_block_sent_twice_books_once(world) -> None:
    _tenant, _officers, kind, customers = world
    plan = programme(customers[:3], kind)

    first = write(plan, idempotency_key="block-1")
    again = write(plan, idempotency_key="block-1")

    assert again.replayed
    assert [o.booking.pk for o in again.booked] == [o.booking.pk for o in first.booked]
    assert Booking.objects.count() == 3


def test_item_by_item_writer_gives_the_same_bookings(world) -> None:
    _tenant, _officers, kind, customers = world
    plan = programme(customers[:4], kind)

    result = write(plan, writer="each")

    assert [(o.booking.starts_at, o.officer_ids) for o in result.booked] == [
        (o.starts_at, o.officer_ids) for o in plan.placed
    ]
    assert BookingEvent.objects.filter(action="block_booked").count() == 4


def test_round_robin_takes_officers_in_turn(in_tenant) -> None:
    tenant = in_tenant
    officers = [b.officer(tenant) for _ in range(3)]
    kind = b.appointment_type(tenant, allocation_strategy=AllocationStrategy.ROUND_ROBIN)
    customers = [b.customer(tenant, n) for n in range(6)]

    plan = programme(customers, kind)

    taken = [o.officer_ids[0] for o in plan.placed]
    assert sorted(taken[:3]) == sorted(o.pk for o in officers)
    assert taken[3:] == taken[:3]


def test_past_and_off_grid_starts_are_conflicts(world) -> None:
    _tenant, _officers, kind, customers = world
    items = [
        BlockItem(customer_id=customers[0].pk, starts_at=NOW - timedelta(days=1)),
        BlockItem(customer_id=customers[1].pk, starts_at=datetime(2027, 3, 1, 9, 10, tzinfo=UTC)),
    ]
    plan = block_check(appointment_type=kind, items=items, now=NOW)

    assert "past" in plan.conflicts[0].reason
    assert "every 30 minutes" in plan.conflicts[1].reason
    assert plan.placed == []


def test_when_the_recheck_misses_a_clash_the_constraints_refuse_it_and_it_is_reported(
    world, monkeypatch
) -> None:
    _tenant, _officers, kind, customers = world
    plan = programme(customers[:3], kind)
    first = plan.placed[0]
    booking_create(
        appointment_type=kind,
        starts_at=first.starts_at,
        customer=customers[10],
        now=NOW,
        officer_ids=first.officer_ids,
    )
    # As if the booking above had committed after the re-check read the diary.
    monkeypatch.setattr(block_plan.Diary, "free_for", lambda self, start, officers, resources: True)

    result = write(plan, BlockMode.BEST_EFFORT)

    assert [o.index for o in result.conflicts] == [first.index]
    assert len(result.booked) == 2
    assert Booking.objects.count() == 3
    nothing = write(programme(customers[3:6], kind), BlockMode.ALL_OR_NOTHING)
    assert nothing.saved


def test_a_lapsed_hold_in_the_way_is_expired_and_its_time_booked(world) -> None:
    _tenant, officers, kind, customers = world
    from bookings.services import booking_hold

    for officer in officers:
        booking_hold(
            appointment_type=kind,
            starts_at=at(MONDAY, 9),
            now=NOW - timedelta(hours=1),
            officer_ids=[officer.pk],
        )
    plan = programme(customers[:2], kind)
    assert [o.starts_at for o in plan.placed] == [at(MONDAY, 9)] * 2

    result = write(plan)

    assert len(result.booked) == 2
    assert Booking.objects.filter(status=BookingStatus.EXPIRED).count() == 2


def test_check_and_write_read_a_fixed_number_of_queries_whatever_the_items(world) -> None:
    _tenant, _officers, kind, customers = world

    def counted(block):
        with CaptureQueriesContext(connection) as checked:
            plan = programme(block, kind)
        with CaptureQueriesContext(connection) as written:
            result = write(plan)
        return len(checked.captured_queries), len(written.captured_queries), len(result.booked)

    few, many = counted(customers[:2]), counted(customers[2:10])

    assert (few[2], many[2]) == (2, 8)
    assert few[:2] == many[:2]


def test_a_big_block_is_told_by_workers_once_it_commits_and_never_twice(
    world, settings, django_capture_on_commit_callbacks
) -> None:
    _tenant, _officers, kind, customers = world
    settings.BLOCK_TELL_INLINE_ITEMS = 2
    settings.BLOCK_TELL_CHUNK = 2
    with (
        mock.patch("bookings.tasks.block_customers_tell") as task,
        django_capture_on_commit_callbacks(execute=True),
    ):
        told = write(programme(customers[:3], kind), tell=True)
    assert len(told.booked) == 3
    assert not Message.objects.exists()  # nothing told in the request
    chunks = [c.kwargs["event_ids"] for c in task.delay.call_args_list]
    assert [len(chunk) for chunk in chunks] == [2, 1]
    assert {c.kwargs["tenant_id"] for c in task.delay.call_args_list} == {kind.tenant_id}

    event_ids = [pk for chunk in chunks for pk in chunk]
    assert block_customers_tell(event_ids=event_ids, now=NOW) == 3
    assert block_customers_tell(event_ids=event_ids, now=NOW) == 0  # a retried task sends nothing twice
    confirmations = Message.objects.filter(kind=MessageKind.CONFIRMATION)
    assert set(confirmations.values_list("topic", flat=True)) == {
        f"booking:{o.booking.reference}" for o in told.booked
    }
    assert confirmations.count() == len(set(confirmations.values_list("dedupe_key", flat=True)))
