"""`seed_demo` fills the demo diaries: a fortnight of valid, real-looking work for every officer."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django_scopes import scope, scopes_disabled

from accounts.models import Officer, Tenant
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingSeries,
    BookingStatus,
    Customer,
)
from demo.diaries import ABSENCE_NOTE, demo_days
from notifications.models import Message
from scheduling.models import Absence

# Wednesday 1 July 2026, 10:30 in London.
WEDNESDAY = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
# Saturday 4 July 2026, 11:00 in London: the newcomer's day is Monday 6 July.
SATURDAY = datetime(2026, 7, 4, 10, 0, tzinfo=UTC)


def seed(now: datetime) -> None:
    with time_machine.travel(now, tick=False):
        # The months of history (tests/demo/test_demo_history.py) would only hide the fortnight here.
        call_command("seed_demo", "--i-know-this-is-not-production", "--without-history", stdout=StringIO())


def tenant(slug: str) -> Tenant:
    with scopes_disabled():
        return Tenant.objects.get(slug=slug)


def local_day(booking: Booking, tenant: Tenant) -> date:
    return booking.starts_at.astimezone(tenant.zone).date()


def appointments_by_officer_and_day(tenant: Tenant) -> Counter[tuple[str, date]]:
    """One appointment per booking an officer is (or was) assigned to, whatever its status now."""
    rows = BookingAssignment.objects.filter(officer__isnull=False).values_list(
        "officer__user__email", "booking__starts_at", "booking_id"
    )
    seen = {(email, starts_at.astimezone(tenant.zone).date(), pk) for email, starts_at, pk in rows}
    return Counter((email, day) for email, day, _pk in seen)


def test_demo_days_start_at_the_newcomers_day_and_reach_back_two_weekdays() -> None:
    anchor, days = demo_days(date(2026, 7, 1))  # a Wednesday
    assert anchor == date(2026, 7, 1)
    assert (days[0], days[-1], len(days)) == (date(2026, 6, 29), date(2026, 7, 10), 10)
    anchor, days = demo_days(date(2026, 6, 29))  # a Monday: last Thursday and Friday are the past
    assert (anchor, days[0], days[-1]) == (date(2026, 6, 29), date(2026, 6, 25), date(2026, 7, 10))
    anchor, days = demo_days(date(2026, 7, 4))  # a Saturday: Monday is the newcomer's day
    assert (anchor, days[0], days[-1]) == (date(2026, 7, 6), date(2026, 7, 2), date(2026, 7, 17))
    assert all(d.weekday() < 5 for d in days)


@pytest.mark.django_db(transaction=False)
def test_seed_demo_fills_a_fortnight_of_valid_work_once(db) -> None:
    queries = []
    with connection.execute_wrapper(lambda execute, *args: queries.append(1) or execute(*args)):
        seed(WEDNESDAY)
    with scopes_disabled():
        n_bookings = Booking.objects.count()
    # Both tenants, ~400 bookings through the services: bounded work per booking, whatever the load.
    assert 300 < n_bookings < 600
    assert len(queries) < 75 * n_bookings

    for slug in ["northshire", "southvale"]:
        t = tenant(slug)
        with scope(tenant=t):
            today = date(2026, 7, 1)
            per_day = appointments_by_officer_and_day(t)
            officer1 = f"officer1@{slug}.example"
            assert 4 <= per_day[(officer1, today)] <= 6
            _anchor, days = demo_days(today)
            for officer in Officer.objects.select_related("user"):
                for day in days:
                    assert 4 <= per_day[(officer.user.email, day)] <= 6, (officer, day)

            # Nothing overlaps: no two active assignments of one officer (or room) share a moment.
            active = list(
                BookingAssignment.objects.filter(is_active=True).values_list(
                    "officer_id", "resource_id", "occupied"
                )
            )
            by_calendar: dict[tuple[int | None, int | None], list] = {}
            for officer_id, resource_id, occupied in active:
                by_calendar.setdefault((officer_id, resource_id), []).append(occupied)
            for spans in by_calendar.values():
                spans.sort(key=lambda r: r.lower)
                for a, b in itertools.pairwise(spans):
                    assert a.upper <= b.lower

            bookings = list(Booking.objects.select_related("appointment_type"))
            assert not [b for b in bookings if b.status == BookingStatus.HELD]
            past = [b for b in bookings if local_day(b, t) < today]
            assert past and all(b.status in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW) for b in past)
            assert all(b.outcome_notes for b in past)
            assert any(b.status == BookingStatus.NO_SHOW for b in past)
            follow_up = [b for b in bookings if b.follow_up_needed]
            assert len(follow_up) == 1 and follow_up[0].status == BookingStatus.COMPLETED
            assert follow_up[0].appointment_type.name == "Food hygiene inspection"
            assert all(b.status == BookingStatus.CONFIRMED for b in bookings if local_day(b, t) >= today)

            # A joint visit today in officer 1's diary, with a second officer; another next week.
            joint = [b for b in bookings if b.appointment_type.name == "Joint health and safety visit"]
            assert len(joint) == 2
            today_joint = next(b for b in joint if local_day(b, t) == today)
            assert sorted(
                today_joint.assignments.filter(officer__isnull=False).values_list(
                    "officer__user__email", flat=True
                )
            ) == [officer1, f"officer4@{slug}.example"]

            # Real-looking details: cases, addresses, answers, contacts in the reserved ranges.
            kinds = {b.case_kind for b in bookings if b.case_reference}
            assert {"inspection", "licence_application"} <= kinds
            assert all(b.case_kind for b in bookings if b.case_reference)
            food = [b for b in bookings if b.appointment_type.name == "Food hygiene inspection"]
            assert all(b.location and b.answers["What kind of food business is it?"] for b in food)
            # Every visit at a customer's address is placed (its postcode's point in the demo gazetteer).
            on_site = [b for b in bookings if b.appointment_type.location_mode == "customer_address"]
            assert on_site and all(b.latitude is not None and b.longitude is not None for b in on_site)
            assert any(b.accessibility_needs for b in bookings)
            customers = list(Customer.objects.all())
            assert all(c.email.endswith(("@example.org", "@example.com")) for c in customers)
            assert all(c.phone.startswith("+447700900") and len(c.phone) == 13 for c in customers)
            assert len({b.appointment_type.name for b in bookings}) >= 5

            # Every booking has its history and its confirmation in the outbox.
            assert BookingEvent.objects.filter(action="confirmed").count() == len(bookings)
            assert Message.objects.filter(kind="confirmation").count() >= len(bookings)

            # A fortnightly licensing check-in after the seeded fortnight, each occurrence at 14:00 local
            # with the licensing officer (the series page and the officer's feed have a real series).
            series = BookingSeries.objects.get()
            occurrences = list(series.occurrences.filter(status=BookingStatus.CONFIRMED))
            assert len(occurrences) >= 3
            assert all(o.starts_at.astimezone(t.zone).time() == time(14) for o in occurrences)
            assert min(local_day(o, t) for o in occurrences) > max(days)
            assert {o.assignments.get(officer__isnull=False).officer.user.email for o in occurrences} == {
                f"officer3@{slug}.example"
            }

            # A training day next week, added after the bookings it now covers.
            absence = Absence.objects.get(note=ABSENCE_NOTE)
            assert absence.officer.user.email == f"officer2@{slug}.example"
            covered = Booking.objects.filter(
                status=BookingStatus.CONFIRMED,
                assignments__officer=absence.officer,
                starts_at__lt=absence.ends_at,
                ends_at__gt=absence.starts_at,
            )
            assert covered.count() >= 4

    with scopes_disabled():
        before = (Booking.objects.count(), Customer.objects.count(), Absence.objects.count())
    seed(WEDNESDAY + timedelta(hours=2))
    with scopes_disabled():
        assert (Booking.objects.count(), Customer.objects.count(), Absence.objects.count()) == before


def test_at_a_weekend_the_newcomer_sees_monday_full(db) -> None:
    seed(SATURDAY)
    t = tenant("northshire")
    with scope(tenant=t):
        per_day = appointments_by_officer_and_day(t)
        assert 4 <= per_day[("officer1@northshire.example", date(2026, 7, 6))] <= 6
        assert not Booking.objects.filter(starts_at__date=date(2026, 7, 4)).exists()
        # This week's Monday to Friday already happened.
        assert not Booking.objects.filter(
            starts_at__lt=datetime.combine(date(2026, 7, 4), time.min, t.zone), status=BookingStatus.CONFIRMED
        ).exists()
