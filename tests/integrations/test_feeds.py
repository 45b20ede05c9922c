"""Officers' subscription feeds, parsed back with icalendar and recurring-ical-events as calendar apps do."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import recurrence
import recurring_ical_events
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope
from icalendar import Calendar

from accounts.models import Officer, Tenant
from bookings.models import Booking, BookingSeries, Customer
from bookings.services import booking_cancel, booking_create, booking_hold, booking_reschedule
from integrations.feeds import token_digest
from integrations.models import CalendarFeed
from integrations.services import feed_create, feed_revoke
from scheduling.models import Absence, AppointmentType
from tests import builders as b
from tests.builders import MONDAY, NOW

LONDON = ZoneInfo("Europe/London")
EVERYTHING = (datetime(2026, 1, 1, tzinfo=UTC), datetime(2029, 1, 1, tzinfo=UTC))


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(tenant: Tenant) -> dict:
    hours = {"spans": [(time(7), time(21))], "days": range(7)}
    return {
        "officer": b.officer(tenant, **hours),
        "colleague": b.officer(tenant, **hours),
        "kind": b.appointment_type(tenant, name="Food hygiene inspection"),
        "customer": b.customer(tenant),
    }


def book(tenant: Tenant, kind: AppointmentType, customer: Customer, starts_at: datetime, officer: Officer):
    with scope(tenant=tenant):
        return booking_create(
            appointment_type=kind, starts_at=starts_at, customer=customer, now=NOW, officer_ids=[officer.pk]
        )


def make_series(
    tenant: Tenant,
    world: dict,
    *,
    rule: recurrence.Rule,
    first: date,
    at: time,
    dates: list[date],
    officer: Officer | None = None,
    exdates: list[date] = (),
) -> tuple[BookingSeries, dict[date, Booking]]:
    """A series row and a booking for each of `dates` (the occurrences materialised so far)."""
    officer = officer or world["officer"]
    with scope(tenant=tenant):
        series = BookingSeries.objects.create(
            tenant=tenant,
            appointment_type=world["kind"],
            customer=world["customer"],
            recurrence=recurrence.Recurrence(
                rrules=[rule], exdates=[datetime.combine(d, time(0)) for d in exdates]
            ),
            first_date=first,
            start_time=at,
            officer=officer,
            materialised_until=max(dates),
            sequence=2,
        )
    booked = {}
    for day in dates:
        booking = book(
            tenant, world["kind"], world["customer"], datetime.combine(day, at, tzinfo=LONDON), officer
        )
        with scope(tenant=tenant):
            Booking.objects.filter(pk=booking.pk).update(series=series, occurrence_date=day)
            booked[day] = Booking.objects.get(pk=booking.pk)
    return series, booked


def new_feed(tenant: Tenant, officer: Officer, **options) -> str:
    with scope(tenant=tenant):
        _, token = feed_create(officer=officer, actor=None, now=NOW, **options)
    return f"/calendar/{token}.ics"


def fetch(client_for, tenant: Tenant, url: str) -> Calendar:
    response = client_for(tenant).get(url)
    assert response.status_code == 200, response.status_code
    return Calendar.from_ical(response.content)


def occurrences(calendar: Calendar, uid: str | None = None) -> list:
    found = recurring_ical_events.of(calendar).between(*EVERYTHING)
    return sorted(
        (e for e in found if uid is None or str(e["UID"]) == uid), key=lambda e: e.decoded("dtstart")
    )


def starts(events: list) -> list[datetime]:
    return [e.decoded("dtstart").astimezone(LONDON).replace(tzinfo=None) for e in events]


# --- series ------------------------------------------------------------------------------------------------


def test_weekly_series_leaves_out_the_cancelled_and_shows_the_moved_occurrence(
    tenant, world, client_for, frozen
) -> None:
    dates = [MONDAY + timedelta(weeks=i) for i in range(6)]  # 1 March to 5 April: clocks change on 28 March
    series, booked = make_series(
        tenant, world, rule=recurrence.Rule(recurrence.WEEKLY), first=MONDAY, at=time(10), dates=dates
    )
    with scope(tenant=tenant):
        booking_cancel(booking=booked[dates[2]], now=NOW)
        booking_reschedule(booking=booked[dates[3]], starts_at=local(dates[3], 14), now=NOW)
    calendar = fetch(client_for, tenant, new_feed(tenant, world["officer"]))

    uid = f"{series.public_id}@bookings"
    got = starts(occurrences(calendar, uid))
    assert got == [
        datetime.combine(dates[0], time(10)),
        datetime.combine(dates[1], time(10)),
        datetime.combine(dates[3], time(14)),
        datetime.combine(dates[4], time(10)),
        datetime.combine(dates[5], time(10)),
    ]
    # Nothing past the last booked occurrence, although the rule has no end.
    assert all(d.date() <= dates[-1] for d in got)
    (master,) = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == uid and "RRULE" in e]
    assert master["SEQUENCE"] == 2
    assert master["DTSTART"].params["TZID"] == "Europe/London"
    assert master["RRULE"]["FREQ"] == ["WEEKLY"]
    assert "COUNT" not in master["RRULE"]
    (override,) = [e for e in calendar.walk("VEVENT") if str(e["UID"]) == uid and "RECURRENCE-ID" in e]
    assert override.decoded("recurrence-id") == local(dates[3], 10)
    assert booked[dates[2]].reference not in calendar.to_ical().decode()


def test_series_keeps_its_local_time_across_the_october_clock_change(
    tenant, world, client_for, frozen
) -> None:
    thursday = date(2027, 10, 14)  # clocks go back on Sunday 31 October 2027
    dates = [thursday + timedelta(weeks=i) for i in range(5)]
    series, _ = make_series(
        tenant, world, rule=recurrence.Rule(recurrence.WEEKLY), first=thursday, at=time(9, 30), dates=dates
    )
    calendar = fetch(client_for, tenant, new_feed(tenant, world["officer"]))

    events = occurrences(calendar, f"{series.public_id}@bookings")
    assert starts(events) == [datetime.combine(d, time(9, 30)) for d in dates]
    utc_hours = [e.decoded("dtstart").astimezone(UTC).hour for e in events]
    assert utc_hours == [8, 8, 8, 9, 9]
    # Every occurrence is the rule's (none needed an override to keep its time).
    assert not [e for e in calendar.walk("VEVENT") if "RECURRENCE-ID" in e]
    assert "Europe/London" in {str(tz["TZID"]) for tz in calendar.walk("VTIMEZONE")}


def test_a_long_running_series_starts_at_its_first_date_in_the_feeds_window(
    tenant, world, client_for, settings
) -> None:
    settings.FEED_PAST_DAYS = 60
    dates = [MONDAY + timedelta(weeks=i) for i in range(12)]  # 1 March to 17 May
    series, _ = make_series(
        tenant, world, rule=recurrence.Rule(recurrence.WEEKLY), first=MONDAY, at=time(10), dates=dates
    )
    url = new_feed(tenant, world["officer"])
    with time_machine.travel(local(date(2027, 6, 9), 12), tick=False):  # 60 days back is Saturday 10 April
        calendar = fetch(client_for, tenant, url)
    shown = [d for d in dates if d >= date(2027, 4, 10)]
    assert starts(occurrences(calendar, f"{series.public_id}@bookings")) == [
        datetime.combine(d, time(10)) for d in shown
    ]
    (master,) = [e for e in calendar.walk("VEVENT") if "RRULE" in e]
    assert master.decoded("dtstart") == local(shown[0], 10)
    assert "EXDATE" not in master


def test_monthly_nth_weekday_with_a_count_and_an_occurrence_given_to_a_colleague(
    tenant, world, client_for, frozen
) -> None:
    rule = recurrence.Rule(recurrence.MONTHLY, byday=[recurrence.TU(2)], count=4)
    dates = [date(2027, 3, 9), date(2027, 4, 13), date(2027, 5, 11), date(2027, 6, 8)]
    series, booked = make_series(tenant, world, rule=rule, first=dates[0], at=time(11), dates=dates)
    with scope(tenant=tenant):  # the May occurrence goes to a colleague
        booking_cancel(booking=booked[dates[2]], now=NOW)
        theirs = book(tenant, world["kind"], world["customer"], local(dates[2], 11), world["colleague"])
        Booking.objects.filter(pk=theirs.pk).update(series=series, occurrence_date=dates[2])

    mine = fetch(client_for, tenant, new_feed(tenant, world["officer"]))
    uid = f"{series.public_id}@bookings"
    assert starts(occurrences(mine, uid)) == [datetime.combine(d, time(11)) for d in dates if d != dates[2]]
    (master,) = [e for e in mine.walk("VEVENT") if "RRULE" in e]
    assert master["RRULE"]["BYDAY"] == ["2TU"]

    colleagues = fetch(client_for, tenant, new_feed(tenant, world["colleague"]))
    assert starts(occurrences(colleagues, uid)) == [datetime.combine(dates[2], time(11))]


def test_a_rule_ending_on_a_date_keeps_its_last_occurrence(tenant, world, client_for, frozen) -> None:
    dates = [MONDAY + timedelta(weeks=i) for i in range(3)]
    rule = recurrence.Rule(recurrence.WEEKLY, until=datetime.combine(dates[-1], time(0)))
    series, _ = make_series(tenant, world, rule=rule, first=MONDAY, at=time(10), dates=dates)
    calendar = fetch(client_for, tenant, new_feed(tenant, world["officer"]))
    assert starts(occurrences(calendar, f"{series.public_id}@bookings")) == [
        datetime.combine(d, time(10)) for d in dates
    ]


def test_an_occurrence_the_rule_does_not_produce_is_still_shown(tenant, world, client_for, frozen) -> None:
    # Booked for a Wednesday, though the rule says Mondays (the rule was edited after materialising).
    wednesday = MONDAY + timedelta(days=9)
    series, booked = make_series(
        tenant,
        world,
        rule=recurrence.Rule(recurrence.WEEKLY, byday=[recurrence.MO]),
        first=MONDAY,
        at=time(10),
        dates=[MONDAY, wednesday],
    )
    calendar = fetch(client_for, tenant, new_feed(tenant, world["officer"]))
    events = occurrences(calendar)
    assert starts(events) == [datetime.combine(MONDAY, time(10)), datetime.combine(wednesday, time(10))]
    assert [str(e["UID"]) for e in events] == [
        f"{series.public_id}@bookings",
        f"{booked[wednesday].public_id}@bookings",
    ]


# --- single bookings ---------------------------------------------------------------------------------------


def test_single_bookings_uids_sequence_and_what_is_left_out(tenant, world, client_for, frozen) -> None:
    kind, customer, officer = world["kind"], world["customer"], world["officer"]
    kept = book(tenant, kind, customer, local(MONDAY, 9), officer)
    cancelled = book(tenant, kind, customer, local(MONDAY, 12), officer)
    theirs = book(tenant, kind, customer, local(MONDAY, 15), world["colleague"])
    with scope(tenant=tenant):
        booking_cancel(booking=cancelled, now=NOW)
        booking_reschedule(booking=kept, starts_at=local(MONDAY, 10), now=NOW)
        held = booking_hold(
            appointment_type=kind, starts_at=local(MONDAY, 16), now=NOW, officer_ids=[officer.pk]
        )
        kept.refresh_from_db()
    url = new_feed(tenant, officer)
    first, second = fetch(client_for, tenant, url), fetch(client_for, tenant, url)

    (event,) = occurrences(first)
    assert str(event["UID"]) == f"{kept.public_id}@bookings"
    assert event["SEQUENCE"] == kept.sequence > 0
    assert starts([event]) == [datetime.combine(MONDAY, time(10))]
    assert [str(e["UID"]) for e in occurrences(second)] == [str(event["UID"])]
    body = first.to_ical().decode()
    for absent in (cancelled, theirs, held):
        assert absent.reference not in body
    assert "Europe/London" in {str(tz["TZID"]) for tz in first.walk("VTIMEZONE")}


def test_customer_names_only_when_chosen(tenant, world, client_for, frozen) -> None:
    book(tenant, world["kind"], world["customer"], local(MONDAY, 9), world["officer"])
    make_series(
        tenant, world, rule=recurrence.Rule(recurrence.WEEKLY), first=MONDAY, at=time(11), dates=[MONDAY]
    )
    name = world["customer"].full_name
    plain = client_for(tenant).get(new_feed(tenant, world["officer"]))
    assert name.encode() not in plain.content
    named = fetch(client_for, tenant, new_feed(tenant, world["officer"], include_customer_names=True))
    assert [name in str(e["SUMMARY"]) for e in occurrences(named)] == [True, True]


def test_absences_only_when_chosen_and_without_their_note(tenant, world, client_for, frozen) -> None:
    with scope(tenant=tenant):
        Absence.objects.create(
            tenant=tenant,
            officer=world["officer"],
            starts_at=local(MONDAY, 0),
            ends_at=local(MONDAY + timedelta(days=2), 0),
            note="Hospital appointment",
        )
        Absence.objects.create(
            tenant=tenant, officer=world["colleague"], starts_at=local(MONDAY, 0), ends_at=local(MONDAY, 12)
        )
    without = fetch(client_for, tenant, new_feed(tenant, world["officer"]))
    assert occurrences(without) == []
    response = client_for(tenant).get(new_feed(tenant, world["officer"], include_absences=True))
    (absence,) = occurrences(Calendar.from_ical(response.content))
    assert str(absence["SUMMARY"]) == "Absence"
    assert absence["TRANSP"] == "OPAQUE"
    assert b"Hospital" not in response.content


# --- the URL -----------------------------------------------------------------------------------------------


def test_response_headers_and_fetch_time_recorded_at_most_every_few_minutes(
    tenant, world, client_for
) -> None:
    url = new_feed(tenant, world["officer"])
    client = client_for(tenant)
    with time_machine.travel(NOW, tick=False):
        response = client.get(url)
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert "private" in response["Cache-Control"] and "max-age=300" in response["Cache-Control"]
    assert b"X-PUBLISHED-TTL:PT30M" in response.content
    with scope(tenant=tenant):
        feed = CalendarFeed.objects.get()
    assert feed.last_fetched_at == NOW
    with time_machine.travel(NOW + timedelta(minutes=2), tick=False):
        client.get(url)
    feed.refresh_from_db()
    assert feed.last_fetched_at == NOW
    with time_machine.travel(NOW + timedelta(minutes=6), tick=False):
        client.get(url)
    feed.refresh_from_db()
    assert feed.last_fetched_at == NOW + timedelta(minutes=6)


def test_bad_unknown_revoked_and_other_tenants_tokens_are_the_same_404(
    tenant, other_tenant, world, client_for, frozen
) -> None:
    client = client_for(tenant)
    good = new_feed(tenant, world["officer"])
    assert client.get(good).status_code == 200
    foreign = new_feed(other_tenant, b.officer(other_tenant))
    assert client_for(other_tenant).get(foreign).status_code == 200
    with scope(tenant=tenant):
        revoked = new_feed(tenant, world["colleague"])
        feed_revoke(feed=CalendarFeed.objects.get(officer=world["colleague"]), actor=None, now=NOW)
    pages = [
        client.get(url)
        for url in (
            "/calendar/not-a-token.ics",
            "/calendar/" + "A" * 43 + ".ics",
            revoked,
            foreign,
            "/no-such-page/",
        )
    ]
    assert [p.status_code for p in pages] == [404] * 5
    # The same page, but for the CSRF token every page carries (masked afresh each time).
    assert len({re.sub(rb'"X-CSRFToken": "[^"]*"', b"", p.content) for p in pages}) == 1


def test_an_officer_no_longer_active_has_no_feed(tenant, world, client_for, frozen) -> None:
    url = new_feed(tenant, world["officer"])
    assert client_for(tenant).get(url).status_code == 200
    with scope(tenant=tenant):
        Officer.objects.filter(pk=world["officer"].pk).update(is_active=False)
    assert client_for(tenant).get(url).status_code == 404


def test_a_new_link_kills_the_old_one(tenant, world, client_for, frozen) -> None:
    client = client_for(tenant)
    old = new_feed(tenant, world["officer"])
    new = new_feed(tenant, world["officer"])
    assert (client.get(old).status_code, client.get(new).status_code) == (404, 200)
    with scope(tenant=tenant):
        (live,) = CalendarFeed.objects.live()
    assert live.token_hash == token_digest(new.removeprefix("/calendar/").removesuffix(".ics"))


def test_fetches_are_rate_limited_with_the_429_page(tenant, world, client_for, settings, frozen) -> None:
    settings.FEED_RATE = "2/m"
    url = new_feed(tenant, world["officer"])
    client = client_for(tenant)
    answers = [client.get(url).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    refused = client.get(url)
    assert int(refused["Retry-After"]) > 0
    assert b"Too many attempts" in refused.content


@pytest.mark.parametrize("count", [3, 30])
def test_feed_queries_do_not_grow_with_bookings(
    count, tenant, world, client_for, django_assert_num_queries, frozen
) -> None:
    officer = world["officer"]
    singles = count // 3
    for i in range(singles):
        book(tenant, world["kind"], world["customer"], local(MONDAY + timedelta(days=i), 9), officer)
    make_series(
        tenant,
        world,
        rule=recurrence.Rule(recurrence.DAILY),
        first=MONDAY,
        at=time(13),
        dates=[MONDAY + timedelta(days=i) for i in range(count - singles)],
    )
    with scope(tenant=tenant):
        Absence.objects.create(
            tenant=tenant, officer=officer, starts_at=local(MONDAY, 18), ends_at=local(MONDAY, 20)
        )
    url = new_feed(tenant, officer, include_absences=True, include_customer_names=True)
    client = client_for(tenant)
    with CaptureQueriesContext(connection) as seen:
        response = client.get(url)
    assert len(occurrences(Calendar.from_ical(response.content))) == count + 1
    # Host lookup, feed, bookings (type, customer, series), their assignments, absences, fetch time.
    assert len(seen) == 6, [q["sql"] for q in seen.captured_queries]
    with django_assert_num_queries(5):  # the fetch time is not written again within minutes
        client.get(url)
