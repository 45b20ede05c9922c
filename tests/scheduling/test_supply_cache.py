"""Open time is cached under the tenant's supply version, and every kind of configuration change shows in
the very next slot list: the change raises the version in its own transaction, so nothing read before it
is served after it. These tests commit for real (transaction=True), as requests do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time
from unittest import mock

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_scopes import scope
from redis.exceptions import ConnectionError as RedisConnectionError

from accounts.models import Officer, Tenant
from bookings.availability import available_slots
from scheduling.models import (
    Absence,
    AppointmentType,
    ExternalBusy,
    Holiday,
    StaffingRequirement,
    WorkingInterval,
    WorkingPattern,
)
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import SkillFactory
from tests.scheduling.factories import ServiceBlockFactory

pytestmark = pytest.mark.django_db(transaction=True)
NINE = at(MONDAY, 9)


@pytest.fixture
def setting(tenant: Tenant) -> tuple[AppointmentType, Officer]:
    """One officer with the skill the type needs, working weekdays 9 to 5."""
    skill = SkillFactory(tenant=tenant, name="Food safety")
    officer = b.officer(tenant, skills=[skill])
    food = b.appointment_type(tenant, slug="food")
    with scope(tenant=tenant):
        StaffingRequirement.objects.create(tenant=tenant, appointment_type=food, skill=skill, count=1)
    return reload(food), officer


def reload(appointment_type: AppointmentType) -> AppointmentType:
    return (
        AppointmentType.objects.with_scope(tenant=appointment_type.tenant)
        .select_related("tenant")
        .get(pk=appointment_type.pk)
    )


def starts(appointment_type: AppointmentType) -> set:
    with scope(tenant=appointment_type.tenant):
        found = available_slots(appointment_type, at(MONDAY, 0), at(MONDAY, 23), now=NOW)
    return {slot.start for slot in found}


def absence(officer: Officer) -> None:
    Absence.objects.create(
        tenant=officer.tenant, officer=officer, starts_at=at(MONDAY, 8), ends_at=at(MONDAY, 12)
    )


def holiday(officer: Officer) -> None:
    Holiday.objects.create(tenant=officer.tenant, date=MONDAY, name="Bank holiday")


def hours_changed(officer: Officer) -> None:
    interval = WorkingInterval.objects.get(pattern__officer=officer, weekday=0)
    interval.start = time(13)
    interval.save()


def pattern_deleted(officer: Officer) -> None:
    WorkingPattern.objects.filter(officer=officer).delete()


def service_block(officer: Officer) -> None:
    other = b.appointment_type(officer.tenant, slug="licensing")
    ServiceBlockFactory(
        tenant=officer.tenant, recurrence="RRULE:FREQ=WEEKLY;BYDAY=MO", appointment_types=[other]
    )


def officer_deactivated(officer: Officer) -> None:
    officer.is_active = False
    officer.save()


def skill_removed(officer: Officer) -> None:
    officer.skills.clear()


def staffing_raised(officer: Officer) -> None:
    requirement = StaffingRequirement.objects.get(appointment_type__slug="food")
    requirement.count = 2  # two officers with the skill: there is one
    requirement.save()


def external_busy(officer: Officer) -> None:
    ExternalBusy.objects.create(
        tenant=officer.tenant,
        officer=officer,
        starts_at=at(MONDAY, 8),
        ends_at=at(MONDAY, 10),
        source="caldav",
    )


CHANGES: list[Callable[[Officer], None]] = [
    absence,
    holiday,
    hours_changed,
    pattern_deleted,
    service_block,
    officer_deactivated,
    skill_removed,
    staffing_raised,
    external_busy,
]


@pytest.mark.parametrize("change", CHANGES, ids=[change.__name__ for change in CHANGES])
def test_each_kind_of_change_shows_in_the_next_slot_list(setting, change) -> None:
    food, officer = setting
    assert NINE in starts(food)
    with CaptureQueriesContext(connection) as first:
        assert NINE in starts(food)  # from the caches: only the booked version is read
    with scope(tenant=officer.tenant):
        change(officer)

    # The same type instance, whose tenant was read before the change: still fresh.
    assert NINE not in starts(food)
    assert len(first.captured_queries) == 1, [q["sql"] for q in first.captured_queries]


def test_a_link_added_to_a_service_block_shows_at_once(setting) -> None:
    food, officer = setting
    licensing = b.appointment_type(officer.tenant, slug="licensing")
    block = ServiceBlockFactory(
        tenant=officer.tenant, recurrence="RRULE:FREQ=WEEKLY;BYDAY=MO", appointment_types=[licensing]
    )
    assert NINE not in starts(food)  # Monday mornings are for licensing
    with scope(tenant=officer.tenant):
        block.appointment_types.add(food, through_defaults={"tenant": officer.tenant})
    assert NINE in starts(food)


def test_a_change_of_the_tenants_time_zone_shows_at_once(setting) -> None:
    food, officer = setting
    assert NINE in starts(food)
    tenant = Tenant.objects.get(pk=officer.tenant_id)
    tenant.time_zone = "America/New_York"  # 9:00 in New York is 14:00 UTC
    tenant.save()
    assert NINE not in starts(reload(food))
    assert at(MONDAY, 14) in starts(reload(food))


def test_a_transaction_sees_its_own_change_before_it_commits(setting) -> None:
    food, officer = setting
    assert NINE in starts(food)
    with transaction.atomic():
        with scope(tenant=officer.tenant):
            absence(officer)
        assert NINE not in starts(food)
        transaction.set_rollback(True)
    assert NINE in starts(food)  # rolled back: the officer is free again


def test_another_process_change_shows_once_the_tenant_is_read_again(setting) -> None:
    """A request reads its tenant (and so the version) afresh: a change committed elsewhere, which this
    process never saw, shows from the next request on."""
    food, officer = setting
    assert NINE in starts(food)
    with connection.cursor() as cursor:  # as another process would: no signal reaches this one
        cursor.execute(
            "INSERT INTO scheduling_holiday (tenant_id, date, name) VALUES (%s, %s, 'Bank holiday')",
            [officer.tenant_id, MONDAY],
        )
        cursor.execute(
            "UPDATE accounts_tenant SET supply_version = supply_version + 100 WHERE id = %s",
            [officer.tenant_id],
        )
    assert NINE not in starts(reload(food))


def test_without_redis_open_time_is_read_afresh(setting) -> None:
    food, officer = setting
    unreachable = RedisConnectionError("Connection refused")
    with (
        mock.patch("config.cache.cache.get", side_effect=unreachable),
        mock.patch("config.cache.cache.set", side_effect=unreachable),
    ):
        assert NINE in starts(food)
        with scope(tenant=officer.tenant):
            absence(officer)
        assert NINE not in starts(food)


def test_the_portal_shows_an_edited_type_at_once(setting, client_for) -> None:
    food, officer = setting
    client = client_for(officer.tenant)
    assert "Food hygiene inspection" in client.get("/services/food/").content.decode()
    with scope(tenant=officer.tenant):
        edited = AppointmentType.objects.get(pk=food.pk)
        edited.name = "Food premises inspection"
        edited.save()
    assert "Food premises inspection" in client.get("/services/food/").content.decode()
    with scope(tenant=officer.tenant):
        edited.online_bookable = False
        edited.save()
    assert client.get("/services/food/").status_code == 404
