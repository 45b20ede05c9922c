"""available_slots against the database: every source of supply and demand, DST, and its query budget."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from bookings.availability import available_slots
from bookings.services import booking_create, booking_hold
from scheduling.errors import InvalidWindow
from scheduling.models import (
    Absence,
    ExternalBusy,
    Holiday,
    ResourceRequirement,
    ServiceBlock,
    StaffingRequirement,
)
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import SkillFactory

TUESDAY = MONDAY + timedelta(days=1)


def starts(slots) -> list[datetime]:
    return [slot.start for slot in slots]


def day_window(day: date) -> tuple[datetime, datetime]:
    return at(day, 0), at(day + timedelta(days=1), 0)


@pytest.fixture
def setup(in_tenant):
    tenant = in_tenant
    officer = b.officer(tenant)
    kind = b.appointment_type(tenant)
    return tenant, officer, kind


def test_slots_follow_the_working_pattern_on_the_granularity_grid(setup) -> None:
    _tenant, officer, kind = setup
    slots = available_slots(kind, *day_window(MONDAY), now=NOW)
    assert starts(slots) == [at(MONDAY, 9) + timedelta(minutes=30 * i) for i in range(15)]  # 09:00 … 16:00
    assert all(slot.officer_seats == ((officer.pk,),) for slot in slots)
    assert slots[0].end == at(MONDAY, 10)


def test_weekend_and_pattern_validity_dates(in_tenant) -> None:
    tenant = in_tenant
    b.officer(tenant, valid_from=MONDAY + timedelta(days=2), valid_until=MONDAY + timedelta(days=2))
    kind = b.appointment_type(tenant)
    slots = available_slots(kind, at(MONDAY, 0), at(MONDAY + timedelta(days=7), 0), now=NOW)
    assert {slot.start.date() for slot in slots} == {MONDAY + timedelta(days=2)}


def test_existing_booking_blocks_its_time_and_buffers(setup) -> None:
    tenant, _officer, _ = setup
    kind = b.appointment_type(tenant, buffer_before_minutes=15, buffer_after_minutes=15)
    booking_create(appointment_type=kind, starts_at=at(MONDAY, 12), customer=b.customer(tenant), now=NOW)
    slots = starts(available_slots(kind, *day_window(MONDAY), now=NOW))
    # Occupied 11:45-13:15; a new one occupies start-15m .. start+75m, so 10:30 (to 11:45) is the last before
    # and 13:30 (from 13:15) the first after.
    assert at(MONDAY, 10, 30) in slots and at(MONDAY, 11) not in slots
    assert at(MONDAY, 13) not in slots and at(MONDAY, 13, 30) in slots
    # Buffers may fall outside working hours, but the appointment itself may not.
    assert slots[0] == at(MONDAY, 9) and slots[-1] == at(MONDAY, 16)


def test_live_hold_blocks_and_a_lapsed_hold_does_not(setup) -> None:
    _tenant, _, kind = setup
    booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    assert at(MONDAY, 10) not in starts(available_slots(kind, *day_window(MONDAY), now=NOW))
    later = NOW + timedelta(minutes=11)
    assert at(MONDAY, 10) in starts(available_slots(kind, *day_window(MONDAY), now=later))


def test_absence_holiday_and_external_busy_close_time(setup) -> None:
    tenant, officer, kind = setup
    Absence.objects.create(tenant=tenant, officer=officer, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 12))
    ExternalBusy.objects.create(
        tenant=tenant, officer=officer, starts_at=at(MONDAY, 14), ends_at=at(MONDAY, 15)
    )
    Holiday.objects.create(tenant=tenant, date=TUESDAY, name="Bank holiday")
    slots = starts(available_slots(kind, at(MONDAY, 0), at(TUESDAY + timedelta(days=1), 0), now=NOW))
    assert slots == [
        at(MONDAY, 12),
        at(MONDAY, 12, 30),
        at(MONDAY, 13),
        at(MONDAY, 15),
        at(MONDAY, 15, 30),
        at(MONDAY, 16),
    ]


def test_service_block_reserves_a_window_for_other_types(setup) -> None:
    tenant, _officer, food = setup
    licensing = b.appointment_type(tenant, name="Licensing")
    block = ServiceBlock.objects.create(
        tenant=tenant,
        name="Tuesday mornings: food",
        start=time(9),
        end=time(12),
        recurrence="RRULE:FREQ=WEEKLY;BYDAY=TU",
    )
    block.appointment_types.set([food], through_defaults={"tenant": tenant})
    food_slots = starts(available_slots(food, *day_window(TUESDAY), now=NOW))
    licensing_slots = starts(available_slots(licensing, *day_window(TUESDAY), now=NOW))
    assert at(TUESDAY, 9) in food_slots
    assert licensing_slots[0] == at(TUESDAY, 12)
    # Monday is not a Tuesday: no block.
    assert starts(available_slots(licensing, *day_window(MONDAY), now=NOW))[0] == at(MONDAY, 9)


def test_minimum_notice_and_horizon(setup) -> None:
    tenant, _, _ = setup
    kind = b.appointment_type(tenant, min_notice_minutes=24 * 60, horizon_days=7)
    now = at(MONDAY, 10)
    slots = starts(available_slots(kind, at(MONDAY, 0), at(MONDAY + timedelta(days=14), 0), now=now))
    assert slots[0] == at(TUESDAY, 10)
    assert slots[-1] <= now + timedelta(days=7)
    assert slots[-1] == at(MONDAY + timedelta(days=7), 10)


def test_skills_and_several_officers_at_once(in_tenant) -> None:
    tenant = in_tenant
    food, safety = SkillFactory(tenant=tenant, name="Food"), SkillFactory(tenant=tenant, name="Safety")
    cook = b.officer(tenant, skills=[food], spans=[(time(9), time(13))])
    guard = b.officer(tenant, skills=[safety], spans=[(time(11), time(17))])
    b.officer(tenant)  # no skills: never eligible
    kind = b.appointment_type(tenant, duration_minutes=60)
    StaffingRequirement.objects.create(tenant=tenant, appointment_type=kind, skill=food, count=1)
    StaffingRequirement.objects.create(tenant=tenant, appointment_type=kind, skill=safety, count=1)
    slots = available_slots(kind, *day_window(MONDAY), now=NOW)
    assert starts(slots) == [at(MONDAY, 11), at(MONDAY, 11, 30), at(MONDAY, 12)]
    assert slots[0].officer_seats == ((cook.pk,), (guard.pk,))


def test_resources_must_be_free_too(setup) -> None:
    tenant, _, kind = setup
    room = b.resource(tenant, spans=[(time(13), time(17))])
    ResourceRequirement.objects.create(tenant=tenant, appointment_type=kind, kind=room.kind, count=1)
    slots = available_slots(kind, *day_window(MONDAY), now=NOW)
    assert slots[0].start == at(MONDAY, 13) and slots[0].resource_seats == ((room.pk,),)


def test_group_session_offers_remaining_seats(setup) -> None:
    tenant, _, _ = setup
    kind = b.appointment_type(tenant, capacity=3)
    booking_create(appointment_type=kind, starts_at=at(MONDAY, 10), customer=b.customer(tenant, 1), now=NOW)
    slots = {slot.start: slot for slot in available_slots(kind, *day_window(MONDAY), now=NOW)}
    assert slots[at(MONDAY, 10)].seats_left == 2 and slots[at(MONDAY, 10)].session_key
    assert at(MONDAY, 10, 30) not in slots  # overlaps the running session with the same officer
    assert slots[at(MONDAY, 11)].seats_left == 3 and slots[at(MONDAY, 11)].session_key is None


def test_bad_windows_are_refused(setup) -> None:
    _, _, kind = setup
    with pytest.raises(InvalidWindow, match="after its start"):
        available_slots(kind, at(MONDAY, 12), at(MONDAY, 9), now=NOW)
    with pytest.raises(InvalidWindow, match="in the past"):
        available_slots(kind, at(MONDAY, 0), at(MONDAY, 9), now=at(TUESDAY, 0))
    with pytest.raises(InvalidWindow, match="time zone"):
        available_slots(kind, datetime(2027, 3, 1), datetime(2027, 3, 2), now=NOW)


# --- daylight saving in Europe/London ---------------------------------------------------------------------

SPRING = date(2027, 3, 28)  # a Sunday: clocks go forward at 01:00 UTC
AUTUMN = date(2027, 10, 31)  # a Sunday: clocks go back at 01:00 UTC


def test_spring_forward_no_slot_in_the_skipped_hour(in_tenant) -> None:
    tenant = in_tenant
    b.officer(tenant, days=[6], spans=[(time(0), time(4))])
    kind = b.appointment_type(tenant, duration_minutes=30)
    slots = available_slots(kind, at(SPRING, 0), at(SPRING, 12), now=NOW)
    local = [slot.start.astimezone(tenant.zone).strftime("%H:%M") for slot in slots]
    assert local == ["00:00", "00:30", "02:00", "02:30", "03:00", "03:30"]


def test_autumn_back_the_repeated_hour_is_offered_once(in_tenant) -> None:
    tenant = in_tenant
    b.officer(tenant, days=[6], spans=[(time(0), time(3))])
    kind = b.appointment_type(tenant, duration_minutes=30)
    now = datetime(2027, 10, 1, tzinfo=UTC)
    slots = available_slots(kind, at(AUTUMN, 0) - timedelta(hours=1), at(AUTUMN, 12), now=now)
    local = [slot.start.astimezone(tenant.zone).strftime("%H:%M") for slot in slots]
    assert local == ["00:00", "00:30", "01:00", "01:30", "02:00", "02:30"]
    assert len({slot.start for slot in slots}) == len(slots)


def test_summer_hours_are_local_wall_clock(in_tenant) -> None:
    tenant = in_tenant
    b.officer(tenant)
    kind = b.appointment_type(tenant)
    june = date(2027, 6, 7)
    slots = available_slots(kind, at(june, 0), at(june, 23), now=NOW)
    assert slots[0].start == datetime(2027, 6, 7, 8, 0, tzinfo=UTC)  # 09:00 BST


# --- query budget -------------------------------------------------------------------------------------------


def count_queries(kind, now) -> int:
    with CaptureQueriesContext(connection) as ctx:
        available_slots(kind, at(MONDAY, 0), at(MONDAY + timedelta(days=14), 0), now=now)
    return len(ctx.captured_queries)


def test_query_count_does_not_grow_with_officers_or_bookings(in_tenant) -> None:
    tenant = in_tenant
    skill = SkillFactory(tenant=tenant)
    kind = b.appointment_type(tenant)
    StaffingRequirement.objects.create(tenant=tenant, appointment_type=kind, skill=skill, count=1)
    Holiday.objects.create(tenant=tenant, date=TUESDAY, name="Holiday")
    block = ServiceBlock.objects.create(
        tenant=tenant, name="Block", start=time(9), end=time(10), recurrence="RRULE:FREQ=WEEKLY;BYDAY=WE"
    )
    b.officer(tenant, skills=[skill])
    small = count_queries(kind, NOW)

    officers = [b.officer(tenant, skills=[skill]) for _ in range(8)]
    block.officers.set(officers[:3], through_defaults={"tenant": tenant})
    for index, officer in enumerate(officers):
        Absence.objects.create(
            tenant=tenant, officer=officer, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 10)
        )
        ExternalBusy.objects.create(
            tenant=tenant, officer=officer, starts_at=at(MONDAY, 15), ends_at=at(MONDAY, 16)
        )
        booking_create(
            appointment_type=kind,
            starts_at=at(MONDAY + timedelta(days=3), 9 + index % 8),
            customer=b.customer(tenant, index),
            now=NOW,
        )
    large = count_queries(kind, NOW)
    assert small == large
    assert large <= 14


def test_scope_keeps_other_tenants_supply_out(tenant, other_tenant) -> None:
    with scope(tenant=other_tenant):
        b.officer(other_tenant)
    with scope(tenant=tenant):
        kind = b.appointment_type(tenant)
        assert available_slots(kind, *day_window(MONDAY), now=NOW) == []


def test_the_database_refuses_overlapping_working_intervals_and_patterns(in_tenant) -> None:
    from django.db import IntegrityError, transaction

    from scheduling.models import WorkingInterval, WorkingPattern

    tenant = in_tenant
    officer = b.officer(tenant, days=[0], spans=[(time(9), time(12))])
    pattern = WorkingPattern.objects.get(officer=officer)
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingInterval.objects.create(
            tenant=tenant, pattern=pattern, weekday=0, start=time(11), end=time(13)
        )
        # Deferred to commit so a form can rearrange a day; made immediate here to see it bite.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS working_intervals_do_not_overlap IMMEDIATE")
    WorkingInterval.objects.create(tenant=tenant, pattern=pattern, weekday=0, start=time(12), end=time(13))
    WorkingInterval.objects.create(tenant=tenant, pattern=pattern, weekday=1, start=time(11), end=time(13))
    with pytest.raises(IntegrityError), transaction.atomic():
        WorkingPattern.objects.create(tenant=tenant, officer=officer, valid_from=date(2027, 1, 1))


def test_another_tenants_officer_ids_find_nothing(tenant, other_tenant) -> None:
    with scope(tenant=other_tenant):
        foreign = b.officer(other_tenant)
    with scope(tenant=tenant):
        b.officer(tenant)
        kind = b.appointment_type(tenant)
        assert available_slots(kind, *day_window(MONDAY), now=NOW, officer_ids=[foreign.pk]) == []
