"""Offered and booked time (utilisation) per officer, team and resource against brute force: offered time
walked minute by minute through the local days, booked time added up booking by booking."""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import product
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django_scopes import scope

from accounts.models import Officer, Tenant
from bookings.models import Booking, BookingAssignment, BookingStatus, Channel
from reporting.models import DailyCapacity
from reporting.selectors import TIME_TAKING_STATUSES, ReportFilters
from reporting.selectors.capacity import capacity_tables, offered_hours_by_week
from reporting.services.capacity import daily_capacity_refresh
from scheduling.availability.supply import open_minutes_by_day
from scheduling.models import (
    Absence,
    AppointmentType,
    Holiday,
    Resource,
    ResourceKind,
    ServiceBlock,
    WorkingPattern,
)
from tests.builders import appointment_type, officer, resource, working_pattern
from tests.factories import OfficerFactory, TeamFactory

LONDON = ZoneInfo("Europe/London")
# The clocks go forward on Sunday 28 March 2027 and back on Sunday 31 October 2027.
SPRING = (date(2027, 3, 22), date(2027, 4, 6))
AUTUMN = (date(2027, 10, 25), date(2027, 11, 3))
NOW = datetime(2027, 4, 1, 12, 0, tzinfo=UTC)  # today is Thursday 1 April: later days are read live
TODAY = date(2027, 4, 1)
ROUND_THE_CLOCK = [(time(0), time(23, 30))]  # 23.5 hours (a span cannot end at midnight)


def local(day: date, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), LONDON).replace(fold=fold).astimezone(UTC)


def days_of(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


Calendar = Officer | Resource


def key_of(calendar: Calendar) -> tuple[str, int]:
    return ("officer" if isinstance(calendar, Officer) else "resource", calendar.pk)


def make_booking(
    tenant: Tenant,
    kind: AppointmentType,
    starts_at: datetime,
    calendars: Iterable[Calendar],
    *,
    status: str = BookingStatus.CONFIRMED,
    minutes: int = 60,
    buffer: int = 15,
    stale: Iterable[tuple[Calendar, datetime]] = (),
) -> Booking:
    """A booking holding `calendars` (active while it is held or confirmed, as the services leave them),
    plus `stale` assignments a reschedule left behind: inactive, at the old start."""
    starts_at = starts_at.astimezone(UTC)
    ends_at = starts_at + timedelta(minutes=minutes)
    active = status in (BookingStatus.HELD, BookingStatus.CONFIRMED)
    with scope(tenant=tenant):
        number = Booking.objects.count() + 1
        booking = Booking.objects.create(
            tenant=tenant,
            reference=f"C{tenant.pk}-{number}",
            session_key=f"C{tenant.pk}-{number}",
            appointment_type=kind,
            status=status,
            starts_at=starts_at,
            ends_at=ends_at,
            hold_expires_at=ends_at if status == BookingStatus.HELD else None,
            channel=Channel.STAFF,
            created_at=starts_at - timedelta(days=2),
        )
        margin = timedelta(minutes=buffer)
        held = [(c, starts_at, ends_at, active) for c in calendars]
        held += [(c, s.astimezone(UTC), s.astimezone(UTC) + (ends_at - starts_at), False) for c, s in stale]
        for calendar, start, end, is_active in held:
            BookingAssignment.objects.create(
                tenant=tenant,
                booking=booking,
                officer=calendar if isinstance(calendar, Officer) else None,
                resource=calendar if isinstance(calendar, Resource) else None,
                occupied=DateTimeTZRange(start - margin, end + margin),
                session_key=booking.session_key,
                is_active=is_active,
            )
    return booking


@dataclass
class World:
    tenant: Tenant
    kind: AppointmentType
    teams: list[Any]
    officers: dict[str, Officer]
    resources: dict[str, Resource]


@pytest.fixture
def world(tenant: Tenant, other_tenant: Tenant) -> World:
    """Four working officers in two teams and none, one inactive, a room and a vehicle, absences, two public
    holidays, a service block, and bookings of every state around both clock changes; and another tenant
    with an officer, a room and bookings on the same days."""
    team_a, team_b = TeamFactory(tenant=tenant, name="Alpha"), TeamFactory(tenant=tenant, name="Bravo")
    alice = officer(tenant)  # Monday to Friday 09:00-17:00
    bob = officer(
        tenant, days=range(7), spans=ROUND_THE_CLOCK
    )  # nearly round the clock: 23- and 25-hour days show
    carol = OfficerFactory(tenant=tenant, team=team_b)
    working_pattern(
        tenant,
        officer=carol,
        spans=[(time(8), time(12)), (time(13), time(16))],
        valid_until=date(2027, 3, 31),
    )
    working_pattern(
        tenant, officer=carol, days=range(4), spans=[(time(10), time(14))], valid_from=date(2027, 4, 1)
    )
    # Weekend nights across the changes: the hour that is skipped, and the hour that happens twice.
    dave = officer(tenant, days=[5, 6], spans=[(time(0, 30), time(3))])
    eve = officer(tenant)
    room = resource(tenant, spans=[(time(8), time(18))])
    van = resource(tenant, kind=ResourceKind.VEHICLE, days=range(7), spans=[(time(7), time(19))])
    with scope(tenant=tenant):
        for member, team in ((alice, team_a), (bob, team_a)):
            member.team = team
            member.save(update_fields=["team"])
        Officer.objects.filter(pk=eve.pk).update(is_active=False)
        Absence.objects.create(  # part of a day
            tenant=tenant,
            officer=alice,
            starts_at=local(SPRING[0] + timedelta(1), 13),
            ends_at=local(SPRING[0] + timedelta(1), 15, 30),
        )
        Absence.objects.create(  # across a local midnight, just after the clocks went forward
            tenant=tenant,
            officer=bob,
            starts_at=local(date(2027, 3, 30), 22),
            ends_at=local(date(2027, 3, 31), 2),
        )
        Absence.objects.create(  # a whole day and a bit
            tenant=tenant,
            resource=van,
            starts_at=local(date(2027, 3, 24), 0),
            ends_at=local(date(2027, 3, 25), 9),
        )
        Absence.objects.create(
            tenant=tenant,
            officer=bob,
            starts_at=local(date(2027, 10, 30), 20),
            ends_at=local(date(2027, 10, 31), 1),
        )
        Holiday.objects.create(tenant=tenant, date=date(2027, 3, 26), name="Good Friday")
        Holiday.objects.create(tenant=tenant, date=date(2027, 11, 1), name="All Saints")
        # A block reserves alice's Tuesday mornings for another type: the time is still offered.
        block = ServiceBlock.objects.create(
            tenant=tenant, name="Calls", start=time(9), end=time(12), recurrence="RRULE:FREQ=WEEKLY;BYDAY=TU"
        )
        block.officers.set([alice], through_defaults={"tenant": tenant})
    kind = appointment_type(tenant)

    done, cancelled = BookingStatus.COMPLETED, BookingStatus.CANCELLED
    make_booking(tenant, kind, local(date(2027, 3, 22), 10), [alice])
    make_booking(tenant, kind, local(date(2027, 3, 23), 9), [alice, bob], status=done, minutes=90)  # two
    make_booking(tenant, kind, local(date(2027, 3, 24), 9), [carol, room], minutes=45)  # and a room
    make_booking(tenant, kind, local(date(2027, 3, 25), 10), [alice, van], status=cancelled)
    make_booking(
        tenant, kind, local(date(2027, 3, 28), 0, 30), [bob], status=BookingStatus.NO_SHOW, minutes=45
    )
    make_booking(tenant, kind, local(date(2027, 3, 29), 11), [alice], status=BookingStatus.HELD)
    make_booking(tenant, kind, local(date(2027, 3, 29), 14), [bob], status=BookingStatus.NEEDS_REBOOKING)
    make_booking(tenant, kind, local(date(2027, 3, 29), 15), [bob], status=BookingStatus.EXPIRED)
    # Moved: the old assignments stay behind, inactive, and never count.
    make_booking(
        tenant, kind, local(date(2027, 3, 30), 10), [alice], stale=[(carol, local(date(2027, 3, 29), 9))]
    )
    make_booking(
        tenant,
        kind,
        local(date(2027, 3, 31), 9),
        [bob],
        status=done,
        minutes=30,
        stale=[(carol, local(date(2027, 3, 30), 9)), (bob, local(date(2027, 3, 31), 8, 45))],
    )
    make_booking(
        tenant, kind, local(date(2027, 3, 31), 23, 30), [bob]
    )  # runs past midnight: counts on the 31st
    make_booking(tenant, kind, local(TODAY, 14), [alice, room], minutes=30)
    make_booking(tenant, kind, local(date(2027, 4, 5), 10), [bob, van])
    make_booking(
        tenant, kind, local(date(2027, 10, 31), 1, 30), [bob], minutes=30, buffer=0
    )  # the first 01:30
    make_booking(
        tenant, kind, local(date(2027, 10, 31), 1, 30, fold=1), [bob], minutes=30, buffer=0
    )  # the second
    make_booking(tenant, kind, local(date(2027, 11, 2), 9), [carol, room])
    make_booking(tenant, kind, local(date(2027, 5, 10), 9), [alice])  # outside every period asked about
    # And a random spread, never two at once for anyone.
    rng = random.Random(13)
    taken: set[tuple[Any, date, int]] = set()
    with scope(tenant=tenant):
        for a in BookingAssignment.objects.select_related("officer", "resource"):
            hour = a.occupied.lower.astimezone(LONDON).replace(minute=0, second=0)
            while hour < a.occupied.upper:
                taken.add((key_of(a.officer or a.resource), hour.date(), hour.hour))
                hour += timedelta(hours=1)
    statuses = [*BookingStatus.values]
    calendars = [alice, bob, carol, dave, room, van]
    for _n in range(60):
        day = rng.choice(days_of(*SPRING) + days_of(*AUTUMN))
        hour = rng.randrange(6, 21)
        who = rng.sample(calendars, rng.choice([1, 1, 2]))
        if any((key_of(c), day, h) in taken for c in who for h in (hour - 1, hour, hour + 1)):
            continue
        taken.update((key_of(c), day, hour) for c in who)
        make_booking(
            tenant, kind, local(day, hour), who, status=rng.choice(statuses), minutes=rng.choice([30, 45])
        )

    stranger = officer(other_tenant, days=range(7), spans=ROUND_THE_CLOCK)
    their_room = resource(other_tenant)
    with scope(tenant=other_tenant):
        Holiday.objects.create(tenant=other_tenant, date=date(2027, 3, 23), name="Their holiday")
    theirs = appointment_type(other_tenant)
    for day in days_of(*SPRING)[::2]:
        make_booking(other_tenant, theirs, local(day, 11), [stranger, their_room])
    return World(
        tenant=tenant,
        kind=kind,
        teams=[team_a, team_b],
        officers={"alice": alice, "bob": bob, "carol": carol, "dave": dave, "eve": eve},
        resources={"room": room, "van": van},
    )


# --- brute force ---------------------------------------------------------------------------------------


def brute_offered(tenant: Tenant, first: date, last: date) -> dict[tuple[tuple[str, int], date], int]:
    """Offered minutes of every active calendar on every day, walking each day's real minutes and asking
    whether the wall clock then was in a working span, outside absences, on no holiday."""
    zone = tenant.zone
    with scope(tenant=tenant):
        holidays = set(Holiday.objects.values_list("date", flat=True))
        patterns = list(
            WorkingPattern.objects.prefetch_related("intervals").select_related("officer", "resource")
        )
        absences = defaultdict(list)
        for absence in Absence.objects.all():
            absences[key_of(absence.officer or absence.resource)].append((absence.starts_at, absence.ends_at))
    offered: dict[tuple[tuple[str, int], date], int] = {}
    for pattern in patterns:
        calendar = pattern.officer or pattern.resource
        if not calendar.is_active:
            continue
        for day in days_of(first, last):
            if (
                day in holidays
                or day < pattern.valid_from
                or (pattern.valid_until and day > pattern.valid_until)
            ):
                continue
            spans = [(i.start, i.end) for i in pattern.intervals.all() if i.weekday == day.weekday()]
            if not spans:
                continue
            minute = datetime.combine(day, time(0), zone).astimezone(UTC)
            midnight = datetime.combine(day + timedelta(days=1), time(0), zone).astimezone(UTC)
            count = 0
            while minute < midnight:
                wall = minute.astimezone(zone).time()
                working = any(start <= wall and (end == time(0) or wall < end) for start, end in spans)
                away = any(start <= minute < end for start, end in absences[key_of(calendar)])
                count += working and not away
                minute += timedelta(minutes=1)
            if count:
                offered[(key_of(calendar), day)] = count
    return offered


def brute_booked(tenant: Tenant) -> dict[tuple[tuple[str, int], date], int]:
    """Booked minutes per calendar and local start day, booking by booking."""
    booked: Counter[tuple[tuple[str, int], date]] = Counter()
    with scope(tenant=tenant):
        for booking in Booking.objects.prefetch_related("assignments"):
            if booking.status not in TIME_TAKING_STATUSES:
                continue
            holders = {
                key_of(a.officer or a.resource)
                for a in booking.assignments.select_related("officer", "resource")
                if (a.is_active or booking.status != BookingStatus.CONFIRMED)
                and a.occupied.lower <= booking.starts_at
                and a.occupied.upper >= booking.ends_at
            }
            day = booking.starts_at.astimezone(tenant.zone).date()
            for holder in holders:
                booked[(holder, day)] += int((booking.ends_at - booking.starts_at).total_seconds() // 60)
    return dict(booked)


def naive_booked(tenant: Tenant) -> dict[tuple[tuple[str, int], date], int]:
    """Booked minutes counting every assignment of a booking, stale or not: what must NOT come out."""
    booked: Counter[tuple[tuple[str, int], date]] = Counter()
    with scope(tenant=tenant):
        for a in BookingAssignment.objects.select_related("booking", "officer", "resource"):
            if a.booking.status in TIME_TAKING_STATUSES:
                day = a.booking.starts_at.astimezone(tenant.zone).date()
                minutes = int((a.booking.ends_at - a.booking.starts_at).total_seconds() // 60)
                booked[(key_of(a.officer or a.resource), day)] += minutes
    return dict(booked)


def brute_rows(tenant: Tenant, spans: Iterable[tuple[date, date]]) -> dict[tuple[Any, ...], tuple[int, int]]:
    """(day, officer_id, resource_id) -> (offered, booked) over the given spans of days."""
    offered: dict[tuple[tuple[str, int], date], int] = {}
    wanted: set[date] = set()
    for first, last in spans:
        offered |= brute_offered(tenant, first, last)
        wanted |= set(days_of(first, last))
    booked = {key: m for key, m in brute_booked(tenant).items() if key[1] in wanted}
    rows = {}
    for calendar, day in offered.keys() | booked.keys():
        officer_id, resource_id = (calendar[1], None) if calendar[0] == "officer" else (None, calendar[1])
        rows[(day, officer_id, resource_id)] = (
            offered.get((calendar, day), 0),
            booked.get((calendar, day), 0),
        )
    return rows


def hours(minutes: int) -> float:
    return round(minutes / 60, 2)


def brute_tables(
    world: World,
    first: date,
    last: date,
    rows: dict[tuple[Any, ...], tuple[int, int]],
    team: Any = None,
    who: Officer | None = None,
) -> dict[str, set[tuple[Any, ...]]]:
    """The three tables of days first..last of the brute-force rows, as sets of rows."""
    with scope(tenant=world.tenant):
        officers = {o.pk: o for o in Officer.objects.select_related("user", "team")}
        resources = {r.pk: r for r in Resource.objects.all()}
    per_officer: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    per_resource: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for (day, officer_id, resource_id), (offered, booked) in rows.items():
        if not first <= day <= last:
            continue
        if officer_id is not None:
            person = officers[officer_id]
            if (team and person.team_id != team.pk) or (who and person.pk != who.pk):
                continue
            target = per_officer[officer_id]
        else:
            target = per_resource[resource_id]
        target[0] += offered
        target[1] += booked
    by_team: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for officer_id, (offered, booked) in per_officer.items():
        name = officers[officer_id].team.name if officers[officer_id].team else "No team"
        by_team[name][0] += offered
        by_team[name][1] += booked

    def share(booked: int, offered: int) -> float | None:
        return booked / offered if offered else None

    return {
        "utilisation-officers": {
            (
                officers[o].user.full_name,
                officers[o].team.name if officers[o].team else "No team",
                hours(offered),
                hours(booked),
                share(booked, offered),
            )
            for o, (offered, booked) in per_officer.items()
            if offered or booked
        },
        "utilisation-teams": {
            (name, hours(offered), hours(booked), share(booked, offered))
            for name, (offered, booked) in by_team.items()
        },
        "resources": {
            (
                resources[r].name,
                resources[r].get_kind_display(),
                hours(offered),
                hours(booked),
                share(booked, offered),
            )
            for r, (offered, booked) in per_resource.items()
            if offered or booked
        },
    }


def stored_rows(tenant: Tenant) -> dict[tuple[Any, ...], tuple[int, int]]:
    with scope(tenant=tenant):
        return {
            (day, officer_id, resource_id): (offered, booked)
            for day, officer_id, resource_id, offered, booked in DailyCapacity.objects.values_list(
                "day", "officer_id", "resource_id", "offered_minutes", "booked_minutes"
            )
        }


def refresh(tenant: Tenant) -> int:
    return sum(
        daily_capacity_refresh(tenant=tenant, first_day=first, last_day=last, now=NOW)
        for first, last in (SPRING, AUTUMN)
    )


def tables_as_sets(tables: dict[str, Any]) -> dict[str, set[tuple[Any, ...]]]:
    return {slug: set(table.rows) for slug, table in tables.items()}


# --- tests ---------------------------------------------------------------------------------------------


def test_open_minutes_match_the_minute_walk(world: World) -> None:
    tenant = world.tenant
    for first, last in (SPRING, AUTUMN):
        with scope(tenant=tenant):
            got = open_minutes_by_day(first_day=first, last_day=last, tz=tenant.zone)
        flat = {(key, day): m for key, by_day in got.items() for day, m in by_day.items()}
        assert flat == brute_offered(tenant, first, last)

    bob, alice, dave = (key_of(world.officers[n]) for n in ("bob", "alice", "dave"))
    with scope(tenant=tenant):
        spring = open_minutes_by_day(first_day=SPRING[0], last_day=SPRING[1], tz=tenant.zone)
        autumn = open_minutes_by_day(first_day=AUTUMN[0], last_day=AUTUMN[1], tz=tenant.zone)
    # The days the clocks change have 23 and 25 hours; an absence from 22:00 to 02:00 takes 1.5 hours and 2.
    assert spring[bob][date(2027, 3, 28)] == 1350  # 22.5 hours
    assert (spring[bob][date(2027, 3, 30)], spring[bob][date(2027, 3, 31)]) == (1410 - 90, 1410 - 120)
    assert autumn[bob][date(2027, 10, 31)] == 1470 - 60  # 24.5 hours less the hour to 01:00 (BST)
    assert (spring[dave][date(2027, 3, 28)], autumn[dave][date(2027, 10, 31)]) == (90, 210)
    # Part of a day away, a public holiday, and a Tuesday with a service block (still offered).
    assert spring[alice][date(2027, 3, 23)] == 8 * 60 - 150
    assert date(2027, 3, 26) not in spring[alice] and date(2027, 3, 26) not in spring[bob]
    assert spring[alice][date(2027, 3, 30)] == 8 * 60
    assert key_of(world.officers["eve"]) not in spring  # inactive


def test_open_minutes_cost_the_same_queries_for_one_officer_or_many(
    world: World, django_assert_num_queries
) -> None:
    tenant = world.tenant
    with scope(tenant=tenant), django_assert_num_queries(4):
        one = open_minutes_by_day(first_day=TODAY, last_day=TODAY, tz=tenant.zone)
    for _n in range(5):
        officer(tenant)
    with scope(tenant=tenant), django_assert_num_queries(4):
        many = open_minutes_by_day(first_day=date(2027, 1, 1), last_day=date(2027, 12, 31), tz=tenant.zone)
    with scope(tenant=tenant), django_assert_num_queries(3):
        chosen = open_minutes_by_day(
            first_day=TODAY, last_day=TODAY, tz=tenant.zone, officers=[world.officers["bob"].pk], resources=[]
        )
    assert len(many) == len(one) + 5 + 1  # dave works weekends only; today is a Thursday
    assert chosen == {key_of(world.officers["bob"]): {TODAY: 1410}}


def test_refresh_writes_exactly_the_brute_force_rows(world: World) -> None:
    written = refresh(world.tenant)

    expected = brute_rows(world.tenant, (SPRING, AUTUMN))
    assert stored_rows(world.tenant) == expected
    assert written == len(expected) > 100
    # The seed covers what it claims: a two-officer booking, a resource booking, booked and offered both.
    alice, bob = world.officers["alice"].pk, world.officers["bob"].pk
    room = world.resources["room"].pk
    assert expected[(date(2027, 3, 23), alice, None)][1] >= 90
    assert expected[(date(2027, 3, 23), bob, None)][1] >= 90
    assert expected[(date(2027, 3, 24), None, room)][1] >= 45
    assert expected[(date(2027, 10, 31), bob, None)][1] >= 60  # 01:30 twice
    # ... and a moved booking whose old assignments would count if read naively.
    assert brute_booked(world.tenant) != naive_booked(world.tenant)


def test_refreshing_twice_leaves_the_same_rows_and_follows_changes(world: World) -> None:
    refresh(world.tenant)
    first = stored_rows(world.tenant)
    refresh(world.tenant)
    assert stored_rows(world.tenant) == first

    day = date(2027, 3, 22)
    with scope(tenant=world.tenant):
        Booking.objects.filter(starts_at=local(day, 10)).update(status=BookingStatus.CANCELLED)
        Holiday.objects.create(tenant=world.tenant, date=date(2027, 3, 25), name="New holiday")
    daily_capacity_refresh(tenant=world.tenant, first_day=day, last_day=date(2027, 3, 25))
    after = stored_rows(world.tenant)
    assert after == brute_rows(world.tenant, (SPRING, AUTUMN))
    alice = world.officers["alice"].pk
    assert after[(day, alice, None)][1] == first[(day, alice, None)][1] - 60
    assert not any(key[0] == date(2027, 3, 25) and figures[0] for key, figures in after.items())


def test_tables_match_brute_force_for_every_filter(world: World) -> None:
    refresh(world.tenant)
    team_a, team_b = world.teams
    alice, carol = world.officers["alice"], world.officers["carol"]
    periods = [
        SPRING,
        (date(2027, 3, 27), date(2027, 4, 2)),
        (TODAY, TODAY),
        AUTUMN,
        (date(2027, 10, 31),) * 2,
    ]
    combinations = [
        {},
        {"team": team_a},
        {"team": team_b},
        {"officer": alice},
        {"officer": carol, "team": team_b},
    ]
    rows = brute_rows(world.tenant, (SPRING, AUTUMN))
    for (first, last), filters in product(periods, combinations):
        got = capacity_tables(tenant=world.tenant, filters=ReportFilters(first, last, **filters), now=NOW)
        expected = brute_tables(
            world, first, last, rows, team=filters.get("team"), who=filters.get("officer")
        )
        assert tables_as_sets(got) == expected, (first, last, filters)
        assert len(got["utilisation-officers"].rows) == len(expected["utilisation-officers"])
    # Type, category and channel filters leave offered and booked time as they are.
    plain = capacity_tables(tenant=world.tenant, filters=ReportFilters(*SPRING), now=NOW)
    typed = capacity_tables(
        tenant=world.tenant,
        filters=ReportFilters(
            *SPRING, appointment_type=world.kind, category=world.kind.category, channel="portal"
        ),
        now=NOW,
    )
    assert tables_as_sets(typed) == tables_as_sets(plain)
    assert "do not apply" in typed["utilisation-officers"].note
    teams = plain["utilisation-teams"]
    assert [row[0] for row in teams.rows] == ["Alpha", "Bravo", "No team"]
    assert sum(teams.values("booked_hours")) == pytest.approx(
        sum(plain["utilisation-officers"].values("booked_hours"))
    )
    assert all(u is not None and u > 0 for u in teams.values("utilisation"))


def test_today_is_read_live_and_closed_days_after_a_refresh(world: World) -> None:
    refresh(world.tenant)
    bob = world.officers["bob"]
    yesterday = TODAY - timedelta(days=1)
    period = ReportFilters(yesterday, TODAY, officer=bob)
    before = capacity_tables(tenant=world.tenant, filters=period, now=NOW)["utilisation-officers"].rows

    make_booking(world.tenant, world.kind, local(TODAY, 22), [bob], minutes=45)
    make_booking(world.tenant, world.kind, local(yesterday, 21, 30), [bob], minutes=30)

    ((name, team, offered, booked, _use),) = before
    after = capacity_tables(tenant=world.tenant, filters=period, now=NOW)["utilisation-officers"].rows
    assert after == [
        (name, team, offered, hours(round(booked * 60) + 45), (round(booked * 60) + 45) / (offered * 60))
    ]
    daily_capacity_refresh(tenant=world.tenant, first_day=yesterday, last_day=yesterday)
    refreshed = capacity_tables(tenant=world.tenant, filters=period, now=NOW)["utilisation-officers"].rows
    assert refreshed[0][3] == hours(round(booked * 60) + 75)


def test_another_tenants_rows_never_count(world: World, other_tenant: Tenant) -> None:
    daily_capacity_refresh(tenant=other_tenant, first_day=SPRING[0], last_day=SPRING[1])
    refresh(world.tenant)
    refresh(world.tenant)  # and theirs stay

    ours = capacity_tables(tenant=world.tenant, filters=ReportFilters(*SPRING), now=NOW)
    assert tables_as_sets(ours) == brute_tables(world, *SPRING, brute_rows(world.tenant, (SPRING, AUTUMN)))
    theirs = capacity_tables(tenant=other_tenant, filters=ReportFilters(*SPRING), now=NOW)
    ((_name, _team, offered, booked, _use),) = theirs["utilisation-officers"].rows
    assert (offered, booked) == (hours(1410 * 16 - 60 - 1410), 8)  # 16 days, a 23-hour Sunday, a holiday
    assert theirs["resources"].values("booked_hours") == [8]
    with scope(tenant=other_tenant):
        assert DailyCapacity.objects.count() == len(stored_rows(other_tenant)) > 16


def test_tables_cost_one_query_however_long_the_period(world: World, django_assert_num_queries) -> None:
    refresh(world.tenant)
    for first, last in ((TODAY, TODAY), (date(2026, 1, 1), date(2028, 12, 31))):
        with django_assert_num_queries(1):
            tables = capacity_tables(
                tenant=world.tenant, filters=ReportFilters(first, last, team=world.teams[0]), now=NOW
            )
        assert tables["utilisation-officers"].rows
    with django_assert_num_queries(1):
        offered_hours_by_week(
            tenant=world.tenant, first_week=date(2027, 3, 22), weeks=30, filters=ReportFilters(*SPRING)
        )


def test_offered_hours_by_week(world: World) -> None:
    refresh(world.tenant)
    rows = brute_rows(world.tenant, (SPRING, AUTUMN))
    team_a = world.teams[0]
    with scope(tenant=world.tenant):
        in_team = set(Officer.objects.filter(team=team_a).values_list("pk", flat=True))
    for team in (None, team_a):
        got = offered_hours_by_week(
            tenant=world.tenant,
            first_week=date(2027, 3, 22),
            weeks=3,
            filters=ReportFilters(*SPRING, team=team),
        )
        expected = {}
        for monday in (date(2027, 3, 22), date(2027, 3, 29), date(2027, 4, 5)):
            expected[monday] = hours(
                sum(
                    offered
                    for (day, officer_id, _r), (offered, _b) in rows.items()
                    if officer_id
                    and monday <= day < monday + timedelta(days=7)
                    and (team is None or officer_id in in_team)
                )
            )
        assert got == expected
        assert got[date(2027, 3, 22)] > 0
    with pytest.raises(ValueError):
        offered_hours_by_week(tenant=world.tenant, first_week=TODAY, weeks=1, filters=ReportFilters(*SPRING))
