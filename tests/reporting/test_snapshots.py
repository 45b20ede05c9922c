"""The hourly measurement of how far ahead each type's first free slot is, its tasks and its tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from unittest import mock

import pytest
import time_machine
from django_scopes import scope

from accounts.models import Tenant
from reporting.models import NextSlotSnapshot
from reporting.selectors import ReportFilters
from reporting.selectors.next_slot import next_slot_tables
from reporting.services.snapshots import next_slot_snapshots_take
from reporting.tasks import take_next_slot_snapshots, take_next_slot_snapshots_everywhere
from scheduling.models import StaffingRequirement
from tests import builders as b
from tests.factories import SkillFactory

NOW = b.NOW  # Monday 22 February 2027, 09:00 in London
MONDAY, TUESDAY = date(2027, 2, 22), date(2027, 2, 23)


@pytest.fixture
def kinds(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    """An officer working Tuesdays only; a type anyone can take (free tomorrow), one needing a skill nobody
    has (never free), and two the public cannot book (inactive, staff only). Another tenant's type too."""
    b.officer(tenant, days=[1])
    food = b.appointment_type(tenant, name="Food hygiene inspection")
    licence = b.appointment_type(tenant, name="Licence visit")
    with scope(tenant=tenant):
        StaffingRequirement.objects.create(
            tenant=tenant, appointment_type=licence, skill=SkillFactory(tenant=tenant), count=1
        )
    inactive = b.appointment_type(tenant, name="Old service", is_active=False)
    staff_only = b.appointment_type(tenant, name="Internal review", online_bookable=False)
    b.officer(other_tenant)
    theirs = b.appointment_type(other_tenant, name="Their service")
    return {
        "food": food,
        "licence": licence,
        "inactive": inactive,
        "staff_only": staff_only,
        "theirs": theirs,
    }


def snapshots(tenant: Tenant) -> dict[tuple[date, int], tuple[Any, ...]]:
    with scope(tenant=tenant):
        return {
            (day, type_id): tuple(rest)
            for day, type_id, *rest in NextSlotSnapshot.objects.values_list(
                "day", "appointment_type_id", "measured_at", "next_start", "days_to_next"
            )
        }


def test_each_bookable_type_gets_the_days_to_its_first_free_slot(
    tenant: Tenant, kinds: dict[str, Any]
) -> None:
    food, licence = kinds["food"], kinds["licence"]
    assert next_slot_snapshots_take(tenant=tenant, now=NOW) == 2
    assert snapshots(tenant) == {
        (MONDAY, food.pk): (NOW, datetime(2027, 2, 23, 9, 0, tzinfo=UTC), 1),  # tomorrow
        (MONDAY, licence.pk): (NOW, None, None),  # nobody can take it: no slot
    }
    # Later the same day the day's figure is replaced; the next day is a new row.
    later = NOW + timedelta(hours=5)
    assert next_slot_snapshots_take(tenant=tenant, now=later) == 2
    assert next_slot_snapshots_take(tenant=tenant, now=later) == 2
    tuesday = NOW + timedelta(days=1, hours=-1)  # 08:00 on Tuesday: free from 09:00 today
    next_slot_snapshots_take(tenant=tenant, now=tuesday)
    assert snapshots(tenant) == {
        (MONDAY, food.pk): (later, datetime(2027, 2, 23, 9, 0, tzinfo=UTC), 1),
        (MONDAY, licence.pk): (later, None, None),
        (TUESDAY, food.pk): (tuesday, datetime(2027, 2, 23, 9, 0, tzinfo=UTC), 0),
        (TUESDAY, licence.pk): (tuesday, None, None),
    }
    assert snapshots(kinds["theirs"].tenant) == {}


def test_the_tasks_measure_every_active_tenant(
    tenant: Tenant, other_tenant: Tenant, kinds: dict[str, Any], settings
) -> None:
    with time_machine.travel(NOW, tick=False):
        assert take_next_slot_snapshots.apply(kwargs={"tenant_id": tenant.pk}).get() == 2
        assert take_next_slot_snapshots.apply(kwargs={"tenant_id": tenant.pk}).get() == 2
    assert len(snapshots(tenant)) == 2 and snapshots(tenant)[MONDAY, kinds["food"].pk][2] == 1

    other_tenant.is_active = False
    other_tenant.save()
    with mock.patch.object(take_next_slot_snapshots, "apply_async") as send:
        assert take_next_slot_snapshots_everywhere() == 1
    assert [c.kwargs["kwargs"] for c in send.call_args_list] == [{"tenant_id": tenant.pk}]
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "reporting.take_next_slot_snapshots_everywhere" in scheduled


def test_today_and_trend_tables(
    tenant: Tenant, other_tenant: Tenant, kinds: dict[str, Any], django_assert_num_queries
) -> None:
    licence = kinds["licence"]
    tuesday = NOW + timedelta(days=1, hours=-1)
    for moment in (NOW, tuesday):
        next_slot_snapshots_take(tenant=tenant, now=moment)
    next_slot_snapshots_take(tenant=other_tenant, now=NOW)
    filters = ReportFilters(first_day=date(2027, 2, 20), last_day=date(2027, 2, 28))

    with django_assert_num_queries(2):
        tables = next_slot_tables(tenant=tenant, filters=filters, now=tuesday)
    assert tables["next-slot-today"].rows == [
        ("Food hygiene inspection", "Inspection", 0, "2027-02-23 09:00", "2027-02-23 08:00"),
        ("Licence visit", "Inspection", None, None, "2027-02-23 08:00"),
    ]
    trend = tables["next-slot-trend"]
    assert [c.label for c in trend.columns] == ["Day", "Food hygiene inspection", "Licence visit"]
    assert trend.rows == [  # up to today, blank where not measured
        (date(2027, 2, 20), None, None),
        (date(2027, 2, 21), None, None),
        (MONDAY, 1, None),
        (TUESDAY, 0, None),
    ]

    # Measured yesterday only, as seen from yesterday.
    monday = next_slot_tables(tenant=tenant, filters=filters, now=NOW)
    assert monday["next-slot-today"].values("days_to_next") == [1, None]
    only_licence = ReportFilters(first_day=MONDAY, last_day=TUESDAY, appointment_type=licence)
    with django_assert_num_queries(2):
        tables = next_slot_tables(tenant=tenant, filters=only_licence, now=tuesday)
    assert tables["next-slot-today"].values("appointment_type") == ["Licence visit"]
    assert tables["next-slot-trend"].rows == [(MONDAY, None), (TUESDAY, None)]
    assert [c.key for c in tables["next-slot-trend"].columns] == ["day", f"type-{licence.pk}"]

    theirs = next_slot_tables(tenant=other_tenant, filters=filters, now=tuesday)
    assert theirs["next-slot-today"].values("appointment_type") == ["Their service"]
    empty = next_slot_tables(
        tenant=tenant, filters=ReportFilters(first_day=date(2026, 1, 1), last_day=date(2026, 1, 31))
    )
    assert empty["next-slot-trend"].rows == []
