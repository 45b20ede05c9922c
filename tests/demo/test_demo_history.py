"""`seed_demo` adds months of history, so the manager dashboards of the demo tenants show real-looking
figures: varied, consistent with the configuration, summarised, and seeded once."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from io import StringIO
from statistics import mean

import pytest
import time_machine
from django.core.management import call_command
from django.db.models import Sum
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingStatus,
    Channel,
    Customer,
    SurveyResponse,
)
from demo.history import History, seed_history
from demo.history.constants import DEDUPE_PREFIX, REFERENCE_PREFIX
from notifications.models import Message, MessageStatus
from reporting.models import DailySummary, NextSlotSnapshot
from scheduling.models import AppointmentType, Priority

# Wednesday 14 October 2026, 10:30 in London: six months back stay within the demo's working patterns.
NOW = datetime(2026, 10, 14, 9, 30, tzinfo=UTC)
TODAY = date(2026, 10, 14)


@pytest.fixture
def without_diaries(monkeypatch: pytest.MonkeyPatch) -> None:
    """The diaries (a fortnight through the booking services, tested on their own) are left out: history
    does not need them, and they take most of a minute."""
    monkeypatch.setattr("demo.management.commands.seed_demo.seed_diaries", lambda tenant: None)
    monkeypatch.setattr("demo.management.commands.seed_demo.seed_series", lambda tenant: None)


def seed(*flags: str) -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--i-know-this-is-not-production", *flags, stdout=StringIO())


def tenant(slug: str) -> Tenant:
    with scopes_disabled():
        return Tenant.objects.get(slug=slug)


def counts() -> dict[str, int]:
    with scopes_disabled():
        return {
            "bookings": Booking.objects.count(),
            "customers": Customer.objects.count(),
            "events": BookingEvent.objects.count(),
            "messages": Message.objects.count(),
            "surveys": SurveyResponse.objects.count(),
            "summaries": DailySummary.objects.count(),
            "snapshots": NextSlotSnapshot.objects.count(),
        }


def test_seed_demo_adds_months_of_real_looking_history_once(db, without_diaries: None) -> None:
    seed()
    for slug in ["northshire", "southvale"]:
        t = tenant(slug)
        with scope(tenant=t):
            bookings = list(Booking.objects.select_related("appointment_type"))
            assert bookings and all(b.reference.startswith(REFERENCE_PREFIX) for b in bookings)
            days = Counter(b.starts_at.astimezone(t.zone).date() for b in bookings)
            assert len(days) >= 100
            assert max(days) < TODAY and min(days) >= TODAY - timedelta(days=190)
            assert all(day.weekday() < 5 for day in days)

            # Mostly completed, a few no-shows, about a tenth cancelled, a few still to rebook.
            status = Counter(b.status for b in bookings)
            n = len(bookings)
            assert status[BookingStatus.COMPLETED] > 0.7 * n
            assert 0.02 * n < status[BookingStatus.NO_SHOW] < 0.1 * n
            assert 0.05 * n < status[BookingStatus.CANCELLED] < 0.15 * n
            assert 0 < status[BookingStatus.NEEDS_REBOOKING] < 0.05 * n
            assert not status.keys() - {
                BookingStatus.COMPLETED,
                BookingStatus.NO_SHOW,
                BookingStatus.CANCELLED,
                BookingStatus.NEEDS_REBOOKING,
            }
            channels = Counter(b.channel for b in bookings)
            assert channels.most_common(1)[0][0] == Channel.PORTAL
            assert channels[Channel.STAFF] > 0.15 * n and channels[Channel.API] > 0
            assert len({b.appointment_type_id for b in bookings}) == AppointmentType.objects.count()
            assert any(b.priority == Priority.URGENT for b in bookings)

            # Made before they start: same day to about six weeks ahead.
            leads = [b.starts_at - b.created_at for b in bookings]
            assert all(lead > timedelta(0) for lead in leads)
            assert any(lead < timedelta(days=1) for lead in leads)
            assert max(leads) > timedelta(days=30)

            # Reasons as staff typed them.
            reasons = Counter(b.cancellation_reason for b in bookings if b.status == BookingStatus.CANCELLED)
            assert reasons[""] > 0
            assert len({r.strip().lower() for r in reasons if r}) >= 4
            assert len(reasons) > len({r.strip().lower() for r in reasons})

            # A weekly rhythm and a mild upward trend.
            per_weekday = {
                weekday: mean(count for day, count in days.items() if day.weekday() == weekday)
                for weekday in range(5)
            }
            assert per_weekday[4] < min(per_weekday[w] for w in (0, 2, 3))
            first, last = min(days), max(days)
            early = sum(c for d, c in days.items() if d < first + timedelta(days=56))
            late = sum(c for d, c in days.items() if d > last - timedelta(days=56))
            assert late > early

            # The history of each: made, then moved, displaced, cancelled, attended.
            actions = Counter(BookingEvent.objects.values_list("action", flat=True))
            assert actions["confirmed"] == n
            assert (
                actions["rescheduled"] > 0 and actions["displaced"] == status[BookingStatus.NEEDS_REBOOKING]
            )
            assert actions["cancelled"] == status[BookingStatus.CANCELLED]
            assert actions["completed"] + actions["no_show"] == (
                status[BookingStatus.COMPLETED] + status[BookingStatus.NO_SHOW]
            )

            # Within the officers' hours, the rooms the types need, and nobody in two places at once.
            assignments = list(
                BookingAssignment.objects.select_related("booking__appointment_type", "resource")
            )
            assert not [a for a in assignments if a.is_active]
            for a in assignments:
                if a.officer_id:
                    start = a.booking.starts_at.astimezone(t.zone).time()
                    end = a.booking.ends_at.astimezone(t.zone).time()
                    assert time(9) <= start and end <= time(17), a.booking
                    assert end <= time(12, 30) or start >= time(13, 30), a.booking
            licensing = [b for b in bookings if b.appointment_type.name == "Licensing consultation"]
            rooms = {a.booking_id for a in assignments if a.resource_id}
            assert licensing and all(b.pk in rooms for b in licensing)
            attended = [
                a for a in assignments if a.booking.status in (BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
            ]
            by_calendar: dict[tuple, list] = {}
            for a in attended:
                by_calendar.setdefault((a.officer_id, a.resource_id), []).append(a)
            for spans in by_calendar.values():
                spans.sort(key=lambda a: a.occupied.lower)
                for x, y in itertools.pairwise(spans):
                    assert x.occupied.upper <= y.occupied.lower or x.session_key == y.session_key
            # Tuesday mornings are for food inspections (the demo's service block).
            tuesday_mornings = {
                b.appointment_type.name
                for b in bookings
                if b.starts_at.astimezone(t.zone).weekday() == 1
                and b.starts_at.astimezone(t.zone).time() < time(12, 30)
            }
            assert tuesday_mornings == {"Food hygiene inspection"}

            # Survey answers on part of the completed appointments, mostly good, some comments.
            surveys = list(SurveyResponse.objects.select_related("booking"))
            assert len(surveys) > 0.2 * status[BookingStatus.COMPLETED]
            assert all(s.booking.status == BookingStatus.COMPLETED for s in surveys)
            assert all(s.created_at > s.booking.ends_at for s in surveys)
            assert 3.8 < mean(s.score for s in surveys) < 4.7
            assert {s.score for s in surveys} == {1, 2, 3, 4, 5}
            assert any(s.comment for s in surveys)

            # Confirmations and reminders by email and text, mostly delivered, some failed, with fallbacks.
            messages = list(Message.objects.all())
            assert all(m.dedupe_key.startswith(DEDUPE_PREFIX) for m in messages)
            delivery = Counter((m.channel, m.status) for m in messages)
            for channel in ["email", "sms"]:
                assert delivery[(channel, MessageStatus.DELIVERED)] > 0
                assert delivery[(channel, MessageStatus.FAILED)] > 0
            assert delivery[("email", MessageStatus.BOUNCED)] > 0
            assert sum(v for (_c, s), v in delivery.items() if s == MessageStatus.DELIVERED) > 0.7 * len(
                messages
            )
            kinds = Counter(m.kind for m in messages)
            assert kinds["confirmation"] >= n and kinds["reminder"] > n and kinds["survey"] > 0
            by_pk = {m.pk: m for m in messages}
            fallbacks = [m for m in messages if m.fallback_of_id]
            assert fallbacks
            for m in fallbacks:
                original = by_pk[m.fallback_of_id]
                assert original.status in (MessageStatus.BOUNCED, MessageStatus.FAILED)
                assert (m.channel, m.to) == (original.fallback_channel, original.fallback_to)

            # The report summaries were rebuilt from it: every booking counts on its day.
            summaries = DailySummary.objects.filter(day__lt=TODAY)
            assert summaries.aggregate(n=Sum("booked"))["n"] == n
            assert set(summaries.values_list("day", flat=True)) == set(days)
            assert summaries.aggregate(n=Sum("survey_responses"))["n"] == len(surveys)

            # Days to the next free slot of every public type, for every past day.
            public = set(AppointmentType.objects.filter(online_bookable=True).values_list("pk", flat=True))
            snapshots = list(NextSlotSnapshot.objects.all())
            assert {s.appointment_type_id for s in snapshots} == public
            assert len({s.day for s in snapshots}) >= 180 and max(s.day for s in snapshots) < TODAY
            assert all(0 <= s.days_to_next <= 10 for s in snapshots)
            assert len({s.days_to_next for s in snapshots}) >= 5
            assert all(s.next_start.astimezone(t.zone).date() >= s.day for s in snapshots)

    before = counts()
    seed()
    assert counts() == before
    with time_machine.travel(NOW + timedelta(hours=1), tick=False), scope(tenant=tenant("northshire")):
        assert seed_history(tenant("northshire")) == History()
    assert counts() == before


def test_history_can_be_left_out(db, without_diaries: None) -> None:
    seed("--without-history")
    assert counts()["bookings"] == 0 and counts()["snapshots"] == 0
