"""Daily summaries and the period selector against brute force over a seeded set of bookings."""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django_scopes import scope

from accounts.models import Officer, Tenant
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingStatus,
    Channel,
    SurveyResponse,
)
from reporting.models import DailySummary
from reporting.selectors import (
    COUNTED_STATUSES,
    DIMENSIONS,
    FIGURES,
    TIME_TAKING_STATUSES,
    Figures,
    summary_between,
)
from reporting.services import daily_summaries_refresh
from scheduling.models import AppointmentType, Category, Priority
from tests.builders import appointment_type, customer
from tests.factories import OfficerFactory, TeamFactory

FIRST_DAY = date(2027, 1, 20)
LAST_DAY = date(2027, 4, 10)
NOW = datetime(2027, 4, 2, 12, 0, tzinfo=UTC)  # "today" is 2 April: later days are read live
STATUSES = [*BookingStatus.values]


def make_booking(
    tenant: Tenant,
    kind: AppointmentType,
    starts_at: datetime,
    *,
    status: str = BookingStatus.CONFIRMED,
    minutes: int = 30,
    channel: str = Channel.STAFF,
    priority: int = Priority.NORMAL,
    created_at: datetime | None = None,
    officers: Iterable[tuple[Officer, bool]] = (),
) -> Booking:
    starts_at = starts_at.astimezone(UTC)  # local arithmetic would skip the second 01:30 of October
    with scope(tenant=tenant):
        number = Booking.objects.count() + 1
        booking = Booking.objects.create(
            tenant=tenant,
            reference=f"T{tenant.pk}-{number}",
            session_key=f"T{tenant.pk}-{number}",
            appointment_type=kind,
            status=status,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=minutes),
            hold_expires_at=starts_at if status == BookingStatus.HELD else None,
            channel=channel,
            priority=priority,
            created_at=created_at or starts_at - timedelta(days=3),
        )
        for officer, active in officers:
            BookingAssignment.objects.create(
                tenant=tenant,
                booking=booking,
                officer=officer,
                occupied=DateTimeTZRange(booking.starts_at, booking.ends_at),
                session_key=booking.session_key,
                is_active=active,
            )
    return booking


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    """Three officers in two teams, two types in two categories, and 240 bookings of every state over
    ten weeks (never overlapping), some with two officers or none, events and survey answers; and the
    same again, smaller, in another tenant."""
    rng = random.Random(13)
    team_a, team_b = TeamFactory(tenant=tenant), TeamFactory(tenant=tenant)
    officers = [
        OfficerFactory(tenant=tenant, team=team_a),
        OfficerFactory(tenant=tenant, team=team_a),
        OfficerFactory(tenant=tenant, team=team_b),
    ]
    inspection = appointment_type(tenant)
    with scope(tenant=tenant):
        advice = Category.objects.create(tenant=tenant, name="Advice desk")
    call = appointment_type(tenant, name="Advice call", category=advice, duration_minutes=30)
    start = datetime(2027, 1, 25, 6, 0, tzinfo=UTC)
    for n in range(240):
        who = rng.choice([[], [rng.choice(officers)], rng.sample(officers, 2)])
        status = rng.choice(STATUSES)
        booking = make_booking(
            tenant,
            rng.choice([inspection, call]),
            start + n * timedelta(hours=7, minutes=13),
            status=status,
            minutes=rng.choice([30, 45, 60]),
            channel=rng.choice(Channel.values),
            priority=rng.choice([Priority.NORMAL, Priority.HIGH, Priority.URGENT]),
            created_at=start
            + n * timedelta(hours=7, minutes=13)
            - timedelta(minutes=rng.randrange(-90, 40000)),
            officers=[(o, rng.random() < 0.5) for o in who],
        )
        with scope(tenant=tenant):
            for action in rng.choices(["rescheduled", "displaced", "updated"], k=rng.randrange(3)):
                BookingEvent.objects.create(tenant=tenant, booking=booking, action=action)
            if status == BookingStatus.COMPLETED and rng.random() < 0.6:
                SurveyResponse.objects.create(tenant=tenant, booking=booking, score=rng.randint(1, 5))
    stranger = OfficerFactory(tenant=other_tenant)
    elsewhere = appointment_type(other_tenant)
    for n in range(40):
        make_booking(other_tenant, elsewhere, start + n * timedelta(hours=41), officers=[(stranger, True)])
    return {
        "teams": [team_a, team_b],
        "officers": officers,
        "types": [inspection, call],
        "categories": [inspection.category, advice],
    }


# --- brute force ---------------------------------------------------------------------------------------


def lead_officer_id(booking: Booking) -> int | None:
    officer_assignments = [a for a in booking.assignments.all() if a.officer_id is not None]
    if not officer_assignments:
        return None
    return min(officer_assignments, key=lambda a: (not a.is_active, a.officer_id)).officer_id


def brute_rows(tenant: Tenant) -> dict[tuple[Any, ...], Counter[str]]:
    """Every (day, type, officer, channel) figure, computed booking by booking in Python."""
    zone = ZoneInfo(tenant.time_zone)
    rows: dict[tuple[Any, ...], Counter[str]] = {}
    with scope(tenant=tenant):
        bookings = Booking.objects.prefetch_related("assignments", "events").select_related("survey_response")
        for booking in bookings:
            if booking.status not in COUNTED_STATUSES:
                continue
            key = (
                booking.starts_at.astimezone(zone).date(),
                booking.appointment_type_id,
                lead_officer_id(booking),
                booking.channel,
            )
            row = rows.setdefault(key, Counter())
            row["booked"] += 1
            row[booking.status] += 1
            if booking.status in TIME_TAKING_STATUSES:
                row["booked_minutes"] += int((booking.ends_at - booking.starts_at).total_seconds() // 60)
            row["emergency"] += booking.priority == Priority.URGENT
            actions = [e.action for e in booking.events.all()]
            row["displaced"] += "displaced" in actions
            row["reschedules"] += actions.count("rescheduled")
            row["lead_time_minutes_sum"] += max(
                0, int((booking.starts_at - booking.created_at).total_seconds() // 60)
            )
            if booking.status in TIME_TAKING_STATUSES:
                for days in (7, 14, 21, 28):
                    row[f"late_{days}d"] += booking.starts_at - booking.created_at < timedelta(days=days)
            survey = getattr(booking, "survey_response", None)
            if survey is not None:
                row["survey_responses"] += 1
                row["survey_score_sum"] += survey.score
                row[f"survey_score_{survey.score}"] += 1
    return rows


def brute_figures(tenant: Tenant, first_day: date, last_day: date, **filters: Any) -> Figures:
    with scope(tenant=tenant):
        officer_team = dict(Officer.objects.values_list("pk", "team_id"))
        type_category = dict(AppointmentType.objects.values_list("pk", "category_id"))
    total: Counter[str] = Counter()
    for (day, type_id, officer_id, channel), row in brute_rows(tenant).items():
        wanted = {
            "officer": officer_id,
            "team": officer_team.get(officer_id),
            "appointment_type": type_id,
            "category": type_category[type_id],
        }
        if not first_day <= day <= last_day:
            continue
        if any(
            value is not None and value.pk != wanted[name]
            for name, value in filters.items()
            if name != "channel"
        ):
            continue
        if filters.get("channel") not in (None, channel):
            continue
        total.update(row)
    return Figures(**{name: total[name] for name in FIGURES})


def stored_rows(tenant: Tenant) -> dict[tuple[Any, ...], Counter[str]]:
    with scope(tenant=tenant):
        return {
            row[:4]: Counter({name: value for name, value in zip(FIGURES, row[4:], strict=True) if value})
            for row in DailySummary.objects.values_list(*DIMENSIONS, *FIGURES)
        }


# --- tests ---------------------------------------------------------------------------------------------


def test_refresh_writes_exactly_the_brute_force_rows(tenant: Tenant, world: dict[str, Any]) -> None:
    written = daily_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)

    expected = {key: +row for key, row in brute_rows(tenant).items()}
    assert stored_rows(tenant) == expected
    assert written == len(expected) > 100
    assert sum(row["displaced"] for row in expected.values()) > 0  # the seed covers every figure
    assert sum(row["survey_responses"] for row in expected.values()) > 0


def test_selector_matches_brute_force_for_every_filter(tenant: Tenant, world: dict[str, Any]) -> None:
    daily_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    team, officer, kind, category = (
        world["teams"][0],
        world["officers"][2],
        world["types"][1],
        world["categories"][0],
    )
    combinations = [
        {},
        {"team": team},
        {"officer": officer},
        {"appointment_type": kind},
        {"category": category},
        {"channel": Channel.PORTAL},
        {"team": team, "category": category, "channel": Channel.STAFF},
        {"officer": officer, "appointment_type": kind},
    ]
    periods = [
        (FIRST_DAY, LAST_DAY),
        (date(2027, 2, 1), date(2027, 2, 28)),
        (date(2027, 3, 30), date(2027, 4, 5)),
    ]
    for filters, (first_day, last_day) in product(combinations, periods):
        got = summary_between(tenant=tenant, first_day=first_day, last_day=last_day, now=NOW, **filters)
        assert got == brute_figures(tenant, first_day, last_day, **filters), (filters, first_day)
    assert summary_between(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW).booked > 150


def test_a_period_costs_one_query_however_long(
    tenant: Tenant, world: dict[str, Any], django_assert_num_queries
) -> None:
    with django_assert_num_queries(1):
        summary_between(tenant=tenant, first_day=date(2027, 4, 2), last_day=date(2027, 4, 2), now=NOW)
    with django_assert_num_queries(1):
        summary_between(
            tenant=tenant,
            first_day=date(2024, 1, 1),
            last_day=date(2028, 1, 1),
            now=NOW,
            team=world["teams"][0],
        )


def test_refreshing_twice_leaves_the_same_rows(tenant: Tenant, world: dict[str, Any]) -> None:
    daily_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    with scope(tenant=tenant):
        first = Counter(DailySummary.objects.values_list(*DIMENSIONS, *FIGURES))
    daily_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    with scope(tenant=tenant):
        assert Counter(DailySummary.objects.values_list(*DIMENSIONS, *FIGURES)) == first
        assert first and max(first.values()) == 1


def test_another_tenants_bookings_never_count(
    tenant: Tenant, other_tenant: Tenant, world: dict[str, Any]
) -> None:
    daily_summaries_refresh(tenant=other_tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    daily_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    daily_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)  # keeps theirs

    assert summary_between(tenant=other_tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW).booked == 40
    ours = summary_between(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    assert ours == brute_figures(tenant, FIRST_DAY, LAST_DAY)
    with scope(tenant=other_tenant):
        assert sum(DailySummary.objects.values_list("booked", flat=True)) == 40  # our refreshes kept theirs


def test_today_is_read_fresh_and_closed_days_after_a_refresh(tenant: Tenant, world: dict[str, Any]) -> None:
    kind = world["types"][0]
    today, yesterday = date(2027, 4, 2), date(2027, 4, 1)
    live = make_booking(tenant, kind, datetime(2027, 4, 2, 15, 0, tzinfo=UTC))
    closed = make_booking(tenant, kind, datetime(2027, 4, 1, 15, 0, tzinfo=UTC))
    daily_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=LAST_DAY, now=NOW)
    before_today = summary_between(tenant=tenant, first_day=today, last_day=today, now=NOW)
    before_yesterday = summary_between(tenant=tenant, first_day=yesterday, last_day=yesterday, now=NOW)

    with scope(tenant=tenant):
        Booking.objects.filter(pk__in=[live.pk, closed.pk]).update(status=BookingStatus.CANCELLED)

    after_today = summary_between(tenant=tenant, first_day=today, last_day=today, now=NOW)
    assert (after_today.confirmed, after_today.cancelled) == (
        before_today.confirmed - 1,
        before_today.cancelled + 1,
    )
    # A closed day is the summary's until the next refresh rewrites it.
    assert (
        summary_between(tenant=tenant, first_day=yesterday, last_day=yesterday, now=NOW) == before_yesterday
    )
    daily_summaries_refresh(tenant=tenant, first_day=yesterday, last_day=yesterday, now=NOW)
    after_yesterday = summary_between(tenant=tenant, first_day=yesterday, last_day=yesterday, now=NOW)
    assert after_yesterday.cancelled == before_yesterday.cancelled + 1
    assert after_yesterday == brute_figures(tenant, yesterday, yesterday)


@pytest.mark.parametrize(
    ("zone", "local_starts", "day"),
    [
        # 23:30 on the last day of January in New York is 04:30 UTC on 1 February: it counts in January.
        ("America/New_York", [(1, 31, 23, 30), (1, 31, 0, 0)], date(2027, 1, 31)),
        # London in summer: 00:30 on 1 June is 23:30 UTC on 31 May, and counts in June; 23:30 on 31 May too.
        ("Europe/London", [(5, 31, 23, 30), (5, 31, 0, 15)], date(2027, 5, 31)),
        # The clocks go forward on 28 March 2027 (a 23-hour day) in London.
        ("Europe/London", [(3, 28, 0, 30), (3, 28, 3, 0), (3, 28, 23, 59)], date(2027, 3, 28)),
        # ... and back on 31 October (a 25-hour day): 01:30 happens twice, both count.
        ("Europe/London", [(10, 31, 0, 0), (10, 31, 1, 30), (10, 31, 23, 30)], date(2027, 10, 31)),
    ],
)
def test_a_booking_counts_on_its_local_day(
    tenant: Tenant, zone: str, local_starts: list[tuple[int, ...]], day: date
) -> None:
    tenant.time_zone = zone
    tenant.save()
    kind = appointment_type(tenant)
    tz = ZoneInfo(zone)
    starts = [datetime(2027, *parts, tzinfo=tz) for parts in local_starts]
    if day.month == 10:  # the second 01:30 (fold=1) is an hour after the first
        starts.append(datetime(2027, 10, 31, 1, 30, fold=1, tzinfo=tz))
    for starts_at in starts:
        make_booking(tenant, kind, starts_at, minutes=15)
    # Just outside the day on either side: the local midnights that open and close it.
    make_booking(
        tenant, kind, datetime.combine(day, datetime.min.time(), tz) - timedelta(minutes=1), minutes=1
    )
    make_booking(tenant, kind, datetime.combine(day + timedelta(days=1), datetime.min.time(), tz), minutes=15)
    month_end = (day.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    now = datetime(2028, 1, 1, tzinfo=UTC)

    daily_summaries_refresh(
        tenant=tenant, first_day=day - timedelta(days=3), last_day=day + timedelta(days=3)
    )

    with scope(tenant=tenant):
        assert dict(DailySummary.objects.filter(day=day).values_list("day", "booked")) == {day: len(starts)}
        assert DailySummary.objects.get(day=day).booked_minutes == 15 * len(starts)
    assert summary_between(tenant=tenant, first_day=day, last_day=day, now=now).booked == len(starts)
    month = summary_between(tenant=tenant, first_day=day.replace(day=1), last_day=month_end, now=now)
    next_month = day == month_end
    assert month.booked == len(starts) + 1 + (0 if next_month else 1)
    # Read live (the day is "today"), the same day has the same figures.
    live_now = datetime.combine(day, datetime.min.time(), tz) + timedelta(hours=12)
    assert summary_between(tenant=tenant, first_day=day, last_day=day, now=live_now).booked == len(starts)


def test_holds_and_lapsed_holds_never_count(tenant: Tenant) -> None:
    kind = appointment_type(tenant)
    when = datetime(2027, 3, 3, 10, 0, tzinfo=UTC)
    make_booking(tenant, kind, when, status=BookingStatus.HELD)
    make_booking(tenant, kind, when + timedelta(hours=1), status=BookingStatus.EXPIRED)
    make_booking(tenant, kind, when + timedelta(hours=2), status=BookingStatus.NO_SHOW, minutes=45)
    customer(tenant)

    daily_summaries_refresh(tenant=tenant, first_day=date(2027, 3, 3), last_day=date(2027, 3, 3))

    got = summary_between(tenant=tenant, first_day=date(2027, 3, 1), last_day=date(2027, 3, 31), now=NOW)
    assert (got.booked, got.no_show, got.booked_minutes, got.no_show_rate) == (1, 1, 45, 1.0)
