"""Cancellation reasons, the conflict queue, message delivery and survey answers against brute force over a
seeded world."""

from __future__ import annotations

import random
import statistics
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django_scopes import scope

from accounts.models import Officer, Tenant
from bookings.models import Booking, BookingStatus, Channel, ConflictCause, ConflictItem, SurveyResponse
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus
from reporting.models import DailyMessageSummary
from reporting.selectors import ReportFilters, summary_between
from reporting.selectors.delivery import TOP_REASONS, cancellation_reasons_table, conflict_queue_table
from reporting.selectors.experience import LATEST_COMMENTS, MESSAGE_FIGURES, messages_table, survey_tables
from reporting.services import daily_summaries_refresh
from reporting.services.cancellations import daily_cancellation_summaries_refresh
from reporting.services.messages import daily_message_summaries_refresh
from scheduling.models import Category
from tests.builders import appointment_type
from tests.factories import OfficerFactory, TeamFactory
from tests.reporting.test_summaries import COUNTED_STATUSES, lead_officer_id, make_booking

FIRST_DAY = date(2027, 5, 1)
LAST_DAY = date(2027, 6, 30)
NOW = datetime(2027, 6, 20, 12, 0, tzinfo=UTC)  # London summer time: today is 20 June
TODAY = date(2027, 6, 20)
LONDON = "Europe/London"
# Eleven reasons given 12, 11, ... 2 times: more than TOP_REASONS, every count distinct.
REASONS = [
    "Customer ill",
    "Officer unavailable",
    "Booked in error",
    "Business closed",
    "Duplicate booking",
    "Weather",
    "Rescheduled by phone",
    "No longer needed",
    "Premises sold",
    "Wrong address",
    "Fire alarm",
]
COMMENTS = ["", "   ", "Very helpful", "Late by ten minutes", "  Friendly officer \n", "<b>bold</b> & more"]


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), ZoneInfo(LONDON)).astimezone(UTC)


def spellings() -> list[str]:
    """Every reason as staff typed it: mostly as written, sometimes shouted or padded; some blank."""
    typed = []
    for n, reason in enumerate(REASONS):
        count = 12 - n
        typed += [reason] * (count - 1 if count >= 4 else count)
        if count >= 4:
            typed.append(f"  {reason.upper()} " if n % 2 else f"{reason.lower()}\n")
    return [*typed, "", "", "", "   ", "\t"]


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant) -> dict[str, Any]:
    rng = random.Random(1313)
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
    reasons = spellings()
    rng.shuffle(reasons)
    start = local(FIRST_DAY, 6) - timedelta(days=3)
    statuses = [BookingStatus.CANCELLED] * len(reasons) + rng.choices(
        [BookingStatus.COMPLETED] * 4 + [BookingStatus.CONFIRMED, BookingStatus.NO_SHOW, BookingStatus.HELD],
        k=110,
    )
    rng.shuffle(statuses)
    bookings = []
    for n, status in enumerate(statuses):
        who = rng.choice([[], [rng.choice(officers)], rng.sample(officers, 2)])
        bookings.append(
            make_booking(
                tenant,
                rng.choice([inspection, call]),
                start + n * timedelta(hours=5, minutes=7),
                status=status,
                channel=rng.choice(Channel.values),
                officers=[(o, rng.random() < 0.5) for o in who],
            )
        )
    # 23:30 on the last day counts in the period; 00:30 on the next day does not.
    for when in (local(LAST_DAY, 23, 30), local(LAST_DAY + timedelta(days=1), 0, 30)):
        bookings.append(make_booking(tenant, inspection, when, status=BookingStatus.CANCELLED))
        reasons += ["Customer ill"]
    with scope(tenant=tenant):
        cancelled = [b for b in bookings if b.status == BookingStatus.CANCELLED]
        for booking, reason in zip(cancelled, reasons, strict=True):
            Booking.objects.filter(pk=booking.pk).update(cancellation_reason=reason)
        # A reason on a booking that is not cancelled never counts.
        kept = next(b for b in bookings if b.status != BookingStatus.CANCELLED)
        Booking.objects.filter(pk=kept.pk).update(cancellation_reason="Customer ill")
        for booking in bookings:
            if booking.status == BookingStatus.COMPLETED and rng.random() < 0.8:
                SurveyResponse.objects.create(
                    tenant=tenant,
                    booking=booking,
                    score=rng.randint(1, 5),
                    comment=rng.choice(COMMENTS),
                    created_at=booking.ends_at + timedelta(minutes=rng.randrange(10, 6000)),
                )
        for booking in rng.sample(bookings, 45):
            detected = NOW - timedelta(minutes=rng.randrange(30, 80 * 24 * 60))
            resolved = (
                None if rng.random() < 0.4 else detected + timedelta(minutes=rng.randrange(20, 15 * 24 * 60))
            )
            ConflictItem.objects.create(
                tenant=tenant,
                booking=booking,
                cause=rng.choice(ConflictCause.values),
                officer=rng.choice([None, *officers]),
                detected_at=detected,
                resolved_at=resolved,
            )
        messages: list[Message] = []
        for n in range(160):
            created = (
                local(TODAY, 0, 5) + timedelta(minutes=rng.randrange(0, 12 * 60))  # today, before NOW
                if n < 25
                else NOW - timedelta(minutes=rng.randrange(12 * 60, 70 * 24 * 60))
            )
            messages.append(
                Message.objects.create(
                    tenant=tenant,
                    kind=rng.choice(MessageKind.values),
                    channel=rng.choice(MessageChannel.values),
                    to="someone@example.org",
                    dedupe_key=f"m{n}",
                    status=rng.choice(MessageStatus.values),
                    created_at=created,
                    fallback_of=rng.choice(messages) if messages and rng.random() < 0.2 else None,
                )
            )
    # Another tenant's, in the same days: they must never count here.
    stranger = OfficerFactory(tenant=other_tenant)
    elsewhere = appointment_type(other_tenant)
    for n in range(12):
        theirs = make_booking(
            other_tenant,
            elsewhere,
            local(FIRST_DAY, 9) + n * timedelta(days=2),
            status=BookingStatus.CANCELLED if n % 2 else BookingStatus.COMPLETED,
            officers=[(stranger, True)],
        )
        with scope(tenant=other_tenant):
            Booking.objects.filter(pk=theirs.pk).update(cancellation_reason="Customer ill")
            if n % 2 == 0:
                SurveyResponse.objects.create(tenant=other_tenant, booking=theirs, score=1, comment="Theirs")
            ConflictItem.objects.create(
                tenant=other_tenant,
                booking=theirs,
                cause=ConflictCause.ABSENCE,
                detected_at=NOW - timedelta(days=1),
            )
            Message.objects.create(
                tenant=other_tenant,
                kind=MessageKind.REMINDER,
                channel=MessageChannel.SMS,
                to="+447700900000",
                dedupe_key=f"theirs{n}",
                status=MessageStatus.FAILED,
                created_at=NOW - timedelta(days=n),
            )
    # Closed days' cancellations are read from their summaries (as the nightly refresh leaves them).
    for each in (tenant, other_tenant):
        daily_cancellation_summaries_refresh(
            tenant=each, first_day=FIRST_DAY - timedelta(days=60), last_day=TODAY - timedelta(days=1)
        )
    return {
        "teams": [team_a, team_b],
        "officers": officers,
        "types": [inspection, call],
        "categories": [inspection.category, advice],
    }


def filter_combinations(world: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {},
        {"team": world["teams"][0]},
        {"officer": world["officers"][2]},
        {"appointment_type": world["types"][1]},
        {"category": world["categories"][0]},
        {"channel": Channel.PORTAL},
        {"team": world["teams"][1], "category": world["categories"][1], "channel": Channel.STAFF},
    ]


PERIODS = [(FIRST_DAY, LAST_DAY), (date(2027, 5, 10), date(2027, 5, 31)), (TODAY, TODAY)]


# --- brute force ---------------------------------------------------------------------------------------


def teams_of(tenant: Tenant) -> dict[int, int | None]:
    with scope(tenant=tenant):
        return dict(Officer.objects.values_list("pk", "team_id"))


def booking_matches(
    tenant: Tenant,
    booking: Booking,
    first_day: date,
    last_day: date,
    filters: dict[str, Any],
    *,
    officer_team: dict[int, int | None],
    also: int | None = None,
) -> bool:
    """Whether the booking starts in the period and passes the filters, decided in Python."""
    if not first_day <= booking.starts_at.astimezone(tenant.zone).date() <= last_day:
        return False
    officer_ids = {lead_officer_id(booking), *([also] if also else [])} - {None}
    if "officer" in filters and filters["officer"].pk not in officer_ids:
        return False
    if "team" in filters and filters["team"].pk not in {officer_team[o] for o in officer_ids}:
        return False
    if "appointment_type" in filters and booking.appointment_type_id != filters["appointment_type"].pk:
        return False
    if "category" in filters and booking.appointment_type.category_id != filters["category"].pk:
        return False
    return "channel" not in filters or booking.channel == filters["channel"]


def brute_reasons(tenant: Tenant, first_day: date, last_day: date, **filters: Any) -> dict[str, Counter[str]]:
    """Each normalised reason's spellings (trimmed) and how often each was given."""
    reasons: dict[str, Counter[str]] = {}
    officer_team = teams_of(tenant)
    with scope(tenant=tenant):
        bookings = Booking.objects.filter(status=BookingStatus.CANCELLED).prefetch_related("assignments")
        for booking in bookings.select_related("appointment_type"):
            if booking_matches(tenant, booking, first_day, last_day, filters, officer_team=officer_team):
                spelling = booking.cancellation_reason.strip()
                reasons.setdefault(spelling.lower(), Counter())[spelling] += 1
    return reasons


def filters_for(first_day: date, last_day: date, **filters: Any) -> ReportFilters:
    return ReportFilters(first_day=first_day, last_day=last_day, **filters)


# --- cancellation reasons ------------------------------------------------------------------------------


def test_reasons_are_normalised_and_the_commonest_named(tenant: Tenant, world: dict[str, Any]) -> None:
    checked = 0
    for filters, (first_day, last_day) in product(filter_combinations(world), PERIODS):
        table = cancellation_reasons_table(
            tenant=tenant, filters=filters_for(first_day, last_day, **filters), now=NOW
        )
        reasons = brute_reasons(tenant, first_day, last_day, **filters)
        everything = sum(sum(spellings.values()) for spellings in reasons.values())
        counts = {key: sum(spellings.values()) for key, spellings in reasons.items()}
        assert sum(table.values("cancellations")) == everything, filters
        named = table.rows[:TOP_REASONS] if len(counts) > TOP_REASONS else table.rows
        named_keys = []
        for label, cancellations, share in named:
            key = "" if label == "No reason given" else label.lower()
            assert counts[key] == cancellations, (filters, label)
            if key:  # shown as the spelling given most often
                spellings = reasons[key]
                assert spellings[label] == max(spellings.values())
            assert share == pytest.approx(cancellations / everything)
            named_keys.append(key)
        assert table.values("cancellations")[: len(named)] == sorted(
            table.values("cancellations")[: len(named)], reverse=True
        )
        rest = [count for key, count in counts.items() if key not in named_keys]
        if len(counts) > TOP_REASONS:
            assert table.rows[-1][0] == "Other reasons" and len(table.rows) == TOP_REASONS + 1
            assert table.rows[-1][1] == sum(rest) and min(table.values("cancellations")[:-1]) >= max(rest)
            checked += 1
        else:
            assert not rest
    assert checked >= 3  # the seed reaches "Other reasons" often


def test_the_full_period_shows_each_reason_as_mostly_written(tenant: Tenant, world: dict[str, Any]) -> None:
    table = cancellation_reasons_table(tenant=tenant, filters=filters_for(FIRST_DAY, LAST_DAY), now=NOW)
    labels = table.values("reason")
    # The commonest reasons, blank ones together, the rest summed: nothing shouted or padded.
    assert labels[0] == "Customer ill" and "No reason given" in labels and labels[-1] == "Other reasons"
    assert all(label == label.strip() and not label.isupper() for label in labels)
    assert table.rows[0][1] == sum(brute_reasons(tenant, FIRST_DAY, LAST_DAY)["customer ill"].values())
    assert len(table.rows) == TOP_REASONS + 1
    # 23:30 on the last day counts in the period, 00:30 the day after does not.
    last = cancellation_reasons_table(tenant=tenant, filters=filters_for(LAST_DAY, LAST_DAY), now=NOW)
    assert last.rows == [("Customer ill", 1, 1.0)]


# --- conflict queue ------------------------------------------------------------------------------------


def brute_conflicts(
    tenant: Tenant, now: datetime, first_day: date, last_day: date, **filters: Any
) -> dict[str | None, tuple[Any, ...]]:
    start = datetime.combine(first_day, time.min, tenant.zone)
    end = datetime.combine(last_day + timedelta(days=1), time.min, tenant.zone)
    ages: dict[str | None, list[float]] = {}
    took: dict[str | None, list[float]] = {}
    officer_team = teams_of(tenant)
    with scope(tenant=tenant):
        items = ConflictItem.objects.select_related("booking__appointment_type").prefetch_related(
            "booking__assignments"
        )
        for item in items:
            if item.detected_at > now:
                continue
            booking = item.booking
            # The period applies to resolutions only: match the booking's day trivially.
            day = booking.starts_at.astimezone(tenant.zone).date()
            if not booking_matches(
                tenant, booking, day, day, filters, officer_team=officer_team, also=item.officer_id
            ):
                continue
            for key in (item.cause, None):
                if item.resolved_at is None or item.resolved_at > now:
                    ages.setdefault(key, []).append((now - item.detected_at).total_seconds() / 3600)
                elif start <= item.resolved_at < end:
                    took.setdefault(key, []).append(
                        (item.resolved_at - item.detected_at).total_seconds() / 3600
                    )
    return {
        key: (
            len(ages.get(key, [])),
            max(ages[key]) if ages.get(key) else None,
            statistics.median(ages[key]) if ages.get(key) else None,
            len(took.get(key, [])),
            statistics.median(took[key]) if took.get(key) else None,
        )
        for key in [*ConflictCause.values, None]
    }


def test_conflict_ages_match_brute_force_now(tenant: Tenant, world: dict[str, Any]) -> None:
    later = NOW + timedelta(days=3, hours=5)
    for moment in (NOW, later):
        with time_machine.travel(moment, tick=False):
            for filters, (first_day, last_day) in product(filter_combinations(world), PERIODS[:2]):
                table = conflict_queue_table(
                    tenant=tenant, filters=filters_for(first_day, last_day, **filters)
                )
                expected = brute_conflicts(tenant, moment, first_day, last_day, **filters)
                for (cause, *row), key in zip(table.rows, [*ConflictCause.values, None], strict=True):
                    assert row == pytest.approx(list(expected[key]), abs=0.006), (filters, cause)
    with time_machine.travel(NOW, tick=False):
        table = conflict_queue_table(tenant=tenant, filters=filters_for(FIRST_DAY, LAST_DAY))
    assert table.rows[-1][1] > 5 and table.rows[-1][4] > 5  # the seed has open and resolved items
    assert [row[0] for row in table.rows] == [*ConflictCause.labels, "All causes"]


# --- messages ------------------------------------------------------------------------------------------


def brute_messages(tenant: Tenant, first_day: date, last_day: date) -> dict[str | None, Counter[str]]:
    figures: dict[str | None, Counter[str]] = {}
    with scope(tenant=tenant):
        for message in Message.objects.all():
            if first_day <= message.created_at.astimezone(tenant.zone).date() <= last_day:
                for key in (message.channel, None):
                    row = figures.setdefault(key, Counter())
                    row["total"] += 1
                    row[message.status] += 1
                    row["fallbacks"] += message.fallback_of_id is not None
    return figures


def expected_message_row(row: Counter[str]) -> tuple[Any, ...]:
    unreached = row["failed"] + row["bounced"]
    handed = row["sent"] + row["delivered"] + unreached
    return (
        row["total"],
        row["delivered"],
        row["sent"],
        unreached,
        row["pending"],
        row["cancelled"] + row["expired"],
        row["fallbacks"],
        row["delivered"] / handed if handed else None,
        unreached / handed if handed else None,
    )


def test_messages_read_closed_days_from_the_summaries_and_today_live(
    tenant: Tenant, other_tenant: Tenant, world: dict[str, Any]
) -> None:
    written = daily_message_summaries_refresh(
        tenant=tenant, first_day=FIRST_DAY - timedelta(days=30), last_day=TODAY - timedelta(days=1), now=NOW
    )
    daily_message_summaries_refresh(
        tenant=other_tenant, first_day=FIRST_DAY, last_day=TODAY - timedelta(days=1), now=NOW
    )
    assert written > 50
    for first_day, last_day in PERIODS:
        table = messages_table(tenant=tenant, filters=filters_for(first_day, last_day), now=NOW)
        expected = brute_messages(tenant, first_day, last_day)
        empty = Counter()
        for (channel, *row), key in zip(table.rows, [*MessageChannel.values, None], strict=True):
            assert tuple(row) == pytest.approx(expected_message_row(expected.get(key, empty))), (
                first_day,
                channel,
            )
    assert table.rows[-1][1] == 25  # today's period: today's messages only, read live

    # A change today shows at once; one on a closed day once that day is refreshed.
    whole = filters_for(FIRST_DAY, LAST_DAY)
    before = messages_table(tenant=tenant, filters=whole, now=NOW).rows[-1][2]
    with scope(tenant=tenant):
        waiting = Message.objects.exclude(status=MessageStatus.DELIVERED).filter(
            created_at__gte=local(FIRST_DAY, 0)
        )
        yesterday = waiting.filter(created_at__lt=local(TODAY, 0)).order_by("-created_at").first()
        today = waiting.filter(created_at__gte=local(TODAY, 0)).first()
        Message.objects.filter(pk__in=[yesterday.pk, today.pk]).update(status=MessageStatus.DELIVERED)
    assert messages_table(tenant=tenant, filters=whole, now=NOW).rows[-1][2] == before + 1
    daily_message_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=TODAY - timedelta(days=1))
    table = messages_table(tenant=tenant, filters=whole, now=NOW)
    assert table.rows[-1][2] == before + 2
    assert tuple(table.rows[-1][1:]) == pytest.approx(
        expected_message_row(brute_messages(tenant, FIRST_DAY, LAST_DAY)[None])
    )


def test_refreshing_messages_twice_leaves_the_same_rows(tenant: Tenant, world: dict[str, Any]) -> None:
    def stored() -> Counter[tuple[Any, ...]]:
        with scope(tenant=tenant):
            return Counter(DailyMessageSummary.objects.values_list("day", "channel", *MESSAGE_FIGURES))

    first = daily_message_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=TODAY, now=NOW)
    rows = stored()
    second = daily_message_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=TODAY, now=NOW)
    assert first == second == len(rows) and stored() == rows and max(rows.values()) == 1
    assert sum(row[2] for row in rows) == sum(
        brute_messages(tenant, FIRST_DAY, TODAY)[None][key] for key in ("total",)
    )
    assert daily_message_summaries_refresh(tenant=tenant, first_day=TODAY, last_day=FIRST_DAY) == 0


# --- survey --------------------------------------------------------------------------------------------


def test_survey_scores_and_comments_match_brute_force(tenant: Tenant, world: dict[str, Any]) -> None:
    daily_summaries_refresh(tenant=tenant, first_day=FIRST_DAY - timedelta(days=60), last_day=TODAY, now=NOW)
    for filters, (first_day, last_day) in product(filter_combinations(world), PERIODS):
        tables = survey_tables(tenant=tenant, filters=filters_for(first_day, last_day, **filters), now=NOW)
        # The dashboard gives the period's figures, whose score counts come from the summaries: the same.
        with scope(tenant=tenant):
            totals = summary_between(
                tenant=tenant, first_day=first_day, last_day=last_day, now=NOW, **filters
            )
        from_totals = survey_tables(
            tenant=tenant, filters=filters_for(first_day, last_day, **filters), now=NOW, totals=totals
        )
        assert from_totals == tables, filters
        officer_team = teams_of(tenant)
        with scope(tenant=tenant):
            answers = [
                s
                for s in SurveyResponse.objects.select_related("booking__appointment_type").prefetch_related(
                    "booking__assignments"
                )
                if s.booking.status in COUNTED_STATUSES
                and booking_matches(
                    tenant, s.booking, first_day, last_day, filters, officer_team=officer_team
                )
            ]
        scores = Counter(s.score for s in answers)
        expected = [(n, scores[n], scores[n] / len(answers)) for n in range(1, 6)] if answers else []
        assert tables["survey-scores"].rows == [pytest.approx(row) for row in expected], filters
        said = sorted(
            (s for s in answers if s.comment.strip()), key=lambda s: (s.created_at, s.pk), reverse=True
        )
        assert tables["survey-comments"].rows == [
            (
                s.created_at.astimezone(tenant.zone).date(),
                s.booking.appointment_type.name,
                s.score,
                s.comment.strip(),
            )
            for s in said[:LATEST_COMMENTS]
        ], filters
    whole = survey_tables(tenant=tenant, filters=filters_for(FIRST_DAY, LAST_DAY), now=NOW)
    assert len(whole["survey-comments"].rows) == LATEST_COMMENTS
    assert sum(whole["survey-scores"].values("responses")) > 30
    assert "<b>bold</b> & more" in whole["survey-comments"].values(
        "comment"
    )  # as written, escaped when shown


def test_no_answers_give_empty_tables(tenant: Tenant, world: dict[str, Any]) -> None:
    tables = survey_tables(tenant=tenant, filters=filters_for(date(2020, 1, 1), date(2020, 12, 31)), now=NOW)
    assert tables["survey-scores"].rows == [] and tables["survey-comments"].rows == []


# --- every table: tenant isolation and fixed query counts ------------------------------------------------


def test_another_tenants_rows_never_count(
    tenant: Tenant, other_tenant: Tenant, world: dict[str, Any]
) -> None:
    daily_message_summaries_refresh(tenant=other_tenant, first_day=FIRST_DAY, last_day=TODAY, now=NOW)
    daily_message_summaries_refresh(tenant=tenant, first_day=FIRST_DAY, last_day=TODAY, now=NOW)
    whole = filters_for(FIRST_DAY, LAST_DAY)
    reasons = cancellation_reasons_table(tenant=other_tenant, filters=whole, now=NOW)
    assert reasons.rows == [("Customer ill", 6, 1.0)]
    scores = survey_tables(tenant=other_tenant, filters=whole, now=NOW)
    assert scores["survey-scores"].values("responses") == [6, 0, 0, 0, 0]
    assert set(scores["survey-comments"].values("comment")) == {"Theirs"}
    with time_machine.travel(NOW, tick=False):
        queue = conflict_queue_table(tenant=other_tenant, filters=whole)
    assert queue.rows[-1][1] == 12 and queue.rows[0][1] == 12
    messages = messages_table(tenant=other_tenant, filters=whole, now=NOW)
    assert tuple(messages.rows[-1][1:5]) == (12, 0, 0, 12)  # all failed
    # And ours are ours alone.
    ours = cancellation_reasons_table(tenant=tenant, filters=whole, now=NOW)
    assert sum(ours.values("cancellations")) == sum(
        sum(s.values()) for s in brute_reasons(tenant, FIRST_DAY, LAST_DAY).values()
    )
    assert "Theirs" not in survey_tables(tenant=tenant, filters=whole, now=NOW)["survey-comments"].values(
        "comment"
    )


def test_each_table_costs_a_fixed_number_of_queries(
    tenant: Tenant, world: dict[str, Any], django_assert_num_queries
) -> None:
    for filters in (
        filters_for(FIRST_DAY, FIRST_DAY),
        filters_for(
            date(2020, 1, 1), date(2028, 12, 31), team=world["teams"][0], category=world["categories"][1]
        ),
        filters_for(FIRST_DAY, LAST_DAY, officer=world["officers"][0], channel=Channel.API),
    ):
        with django_assert_num_queries(1):
            cancellation_reasons_table(tenant=tenant, filters=filters, now=NOW)
        with django_assert_num_queries(1):
            conflict_queue_table(tenant=tenant, filters=filters, now=NOW)
        with django_assert_num_queries(1):
            messages_table(tenant=tenant, filters=filters, now=NOW)
        with django_assert_num_queries(1):
            survey_tables(tenant=tenant, filters=filters, now=NOW)
