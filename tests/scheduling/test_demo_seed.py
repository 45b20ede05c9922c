"""`manage.py seed_demo`: the demo tenants get their scheduling configuration and places, once."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from io import StringIO

import time_machine
from django.core.management import call_command
from django_scopes import scope, scopes_disabled

from accounts.models import Officer, Tenant
from integrations.models import GazetteerEntry
from scheduling.locations import geocoder
from scheduling.models import (
    Absence,
    AllocationStrategy,
    AppointmentType,
    Category,
    Holiday,
    Priority,
    Resource,
    ServiceBlock,
    WorkingInterval,
    WorkingPattern,
)
from scheduling.selectors import officer_day_bases

SEEDED_MODELS = [
    Category,
    Resource,
    AppointmentType,
    WorkingPattern,
    WorkingInterval,
    Holiday,
    Absence,
    ServiceBlock,
]
# 00:30 on 1 July in London, still 30 June in UTC: "today" must be the tenant's today.
NOW = datetime(2026, 6, 30, 23, 30, tzinfo=UTC)


def counts() -> dict[str, int]:
    with scopes_disabled():
        return {model.__name__: model.objects.count() for model in SEEDED_MODELS}


def seed() -> None:
    with time_machine.travel(NOW, tick=False):
        # The test settings run with DEBUG off, like production: the tests say they know this is not it.
        call_command("seed_demo", "--i-know-this-is-not-production", "--without-diaries", stdout=StringIO())


def test_seed_demo_twice_creates_the_demo_data_once(db) -> None:
    seed()
    first = counts()
    seed()
    assert counts() == first
    assert first == {
        "Category": 8,
        "Resource": 6,
        "AppointmentType": 12,
        "WorkingPattern": 12,  # four officers and two rooms, per tenant
        "WorkingInterval": 2 * (4 * 10 + 2 * 5),
        "Holiday": 16,
        "Absence": 2,  # the leave in two weeks (the diaries add a training day over booked work)
        "ServiceBlock": 2,
    }


def test_every_demo_tenant_gets_the_default_categories_and_its_configuration(db) -> None:
    seed()
    with scopes_disabled():
        tenants = list(Tenant.objects.order_by("slug"))
    assert [t.slug for t in tenants] == ["northshire", "southvale"]
    for tenant in tenants:
        with scope(tenant=tenant):
            assert [(c.name, c.position) for c in Category.objects.all()] == [
                ("Inspection", 10),
                ("Consultation", 20),
                ("Meeting", 30),
                ("Public service", 40),
            ]
            assert sorted(Resource.objects.values_list("name", flat=True)) == ["Pool car", "Room 1", "Room 2"]
            assert Holiday.objects.filter(date=date(2026, 12, 28)).exists()
            assert Holiday.objects.filter(date__year=2027).count() == 6

            # Officers live and start their days at places of the demo gazetteer: two at the office, two
            # at home, in different towns.
            assert GazetteerEntry.objects.count() > 150
            officers = list(Officer.objects.order_by("pk"))
            assert all(o.home_base and o.home_latitude is not None for o in officers)
            monday = date(2026, 7, 6)
            bases = officer_day_bases([o.pk for o in officers], monday, monday)
            starts = [bases[(o.pk, monday)].start for o in officers]
            office = geocoder().geocode(tenant_id=tenant.pk, query="Council Offices")
            assert office is not None and all(s is not None for s in starts)
            assert [s.point == office.point for s in starts] == [True, False, True, False]
            assert len({s.point for s in starts}) == 3


def test_demo_appointment_types_hold_their_rules(db) -> None:
    seed()
    with scopes_disabled():
        tenant = Tenant.objects.get(slug="northshire")
    with scope(tenant=tenant):
        types = {t.name: t for t in AppointmentType.objects.select_related("category")}

        food = types["Food hygiene inspection"]
        assert (food.category.name, food.location_mode, food.duration_minutes) == (
            "Inspection",
            "customer_address",
            60,
        )
        assert (food.buffer_before_minutes, food.buffer_after_minutes, food.granularity_minutes) == (
            15,
            15,
            30,
        )
        assert food.online_bookable
        assert [(s.count, s.skill.name) for s in food.staffing.all()] == [(1, "Food hygiene")]
        questions = list(food.questions.all())
        assert [q.label for q in questions] == [
            "What kind of food business is it?",
            "How many staff work there?",
        ]
        assert "Takeaway" in questions[0].choice_list()

        joint = types["Joint health and safety visit"]
        assert sorted(s.skill.name for s in joint.staffing.all()) == ["Food hygiene", "Health and safety"]
        assert not joint.online_bookable
        assert (joint.duration_minutes, joint.default_priority, joint.urgent_target_hours) == (
            90,
            Priority.HIGH,
            24,
        )

        licensing = types["Licensing consultation"]
        assert (licensing.location_mode, licensing.duration_minutes) == ("office", 45)
        assert licensing.allocation_strategy == AllocationStrategy.ROUND_ROBIN
        assert [(r.kind, r.count) for r in licensing.resource_needs.all()] == [("room", 1)]
        assert [s.skill.name for s in licensing.staffing.all()] == ["Licensing"]
        assert licensing.documents() == ["Photo ID", "Proof of address"]

        drop_in = types["Premises licence drop-in"]
        assert (
            drop_in.category.name == "Public service" and drop_in.capacity == 6 and drop_in.is_group_session
        )

        call = types["Phone advice call"]
        assert (call.location_mode, call.duration_minutes, call.granularity_minutes) == ("phone", 20, 20)

        block = ServiceBlock.objects.get()
        assert list(block.appointment_types.all()) == [food] and not block.officers.exists()
        assert (block.start, block.end) == (time(9), time(12, 30))
        tuesdays = block.recurrence.between(
            datetime(2026, 9, 1), datetime(2026, 9, 14), dtstart=datetime(2026, 9, 1), inc=True
        )
        assert [d.date() for d in tuesdays] == [date(2026, 9, 1), date(2026, 9, 8)]


def test_demo_working_patterns_and_the_absence(db) -> None:
    seed()
    with scopes_disabled():
        tenant = Tenant.objects.get(slug="northshire")
    with scope(tenant=tenant):
        officer_pattern = WorkingPattern.objects.get(officer__user__email="officer1@northshire.example")
        assert (officer_pattern.valid_from, officer_pattern.valid_until) == (date(2026, 1, 1), None)
        assert [str(i) for i in officer_pattern.intervals.filter(weekday=0)] == [
            "Monday 09:00–12:30",
            "Monday 13:30–17:00",
        ]
        assert not officer_pattern.intervals.filter(weekday__gte=5).exists()
        room_pattern = WorkingPattern.objects.get(resource__name="Room 1")
        assert [str(i) for i in room_pattern.intervals.filter(weekday=4)] == ["Friday 08:30–17:30"]
        assert not WorkingPattern.objects.filter(resource__name="Pool car").exists()

        absence = Absence.objects.get(kind="leave")
        assert absence.officer.user.email == "officer4@northshire.example"
        # "Today" in London is 1 July, so the leave runs from midnight on 15 July to midnight on 22 July.
        assert absence.starts_at == datetime(2026, 7, 14, 23, 0, tzinfo=UTC)
        assert absence.ends_at == datetime(2026, 7, 21, 23, 0, tzinfo=UTC)
