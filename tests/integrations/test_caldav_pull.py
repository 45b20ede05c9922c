"""Busy time read from officers' own calendars on a real CalDAV server (Radicale): an event there blocks
the slot in availability, a weekly series blocks every week, and removing the event frees the time."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import connection as db_connection

from accounts.models import Tenant
from bookings.availability import available_slots, available_slots_stable
from integrations.caldav_client import CalendarClient
from integrations.secrets import decrypt
from integrations.services.sync import connection_pull
from scheduling.models import ExternalBusy
from tests import builders as b
from tests.builders import MONDAY, NOW, at


def pull(connection, now: datetime = NOW) -> bool:
    client = CalendarClient(
        url=connection.url, username=connection.username, password=decrypt(connection.password_encrypted)
    )
    with client:
        return connection_pull(connection=connection, client=client, now=now)


def vevent(uid: str, start: str, end: str, *extra: str) -> str:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Officer's own//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20270101T000000Z",
        f"DTSTART;TZID=Europe/London:{start}",
        f"DTEND;TZID=Europe/London:{end}",
        "SUMMARY:Dentist",
        *extra,
        "END:VEVENT",
        "END:VCALENDAR",
    ]
    return "\r\n".join(lines) + "\r\n"


def starts(kind, day) -> list[datetime]:
    return [slot.start for slot in available_slots(kind, at(day, 0), at(day + timedelta(days=1), 0), now=NOW)]


def supply_version(tenant: Tenant) -> int:
    return Tenant.objects.values_list("supply_version", flat=True).get(pk=tenant.pk)


def test_an_event_in_the_officers_calendar_blocks_the_slot_until_it_is_removed(world) -> None:
    _tenant, officer, kind, calendar, connection = world
    assert at(MONDAY, 10) in starts(kind, MONDAY)
    event = calendar.save_event(vevent("dentist-1@example.org", "20270301T100000", "20270301T110000"))

    assert pull(connection) is True

    busy = ExternalBusy.objects.get()
    assert (busy.officer, busy.starts_at, busy.ends_at) == (officer, at(MONDAY, 10), at(MONDAY, 11))
    assert (busy.source, busy.uid) == (f"caldav:{connection.pk}", "dentist-1@example.org")
    free = starts(kind, MONDAY)
    assert at(MONDAY, 10) not in free and at(MONDAY, 9, 30) not in free and at(MONDAY, 10, 30) not in free
    assert at(MONDAY, 9) in free and at(MONDAY, 11) in free
    # The portal's cached week agrees.
    cached, _until = available_slots_stable(kind, at(MONDAY, 0), at(MONDAY, 23), now=NOW)
    assert at(MONDAY, 10) not in [slot.start for slot in cached]

    event.delete()
    assert pull(connection) is True

    assert not ExternalBusy.objects.exists()
    assert at(MONDAY, 10) in starts(kind, MONDAY)


def test_a_weekly_series_blocks_every_week_but_the_one_taken_out(world) -> None:
    _tenant, _officer, kind, calendar, connection = world
    calendar.save_event(
        vevent(
            "team-meeting@example.org",
            "20270301T140000",
            "20270301T150000",
            "RRULE:FREQ=WEEKLY;COUNT=5",
            "EXDATE;TZID=Europe/London:20270315T140000",
        )
    )

    pull(connection)

    weeks = [MONDAY + timedelta(weeks=n) for n in range(6)]
    assert sorted(ExternalBusy.objects.values_list("starts_at", flat=True)) == [
        at(weeks[0], 14),
        at(weeks[1], 14),
        at(weeks[3], 14),
        at(weeks[4], 13),  # 14:00 in London after the clocks go forward (28 March) is 13:00 UTC
    ]
    assert at(weeks[0], 14) not in starts(kind, weeks[0])
    assert at(weeks[1], 14) not in starts(kind, weeks[1])
    assert at(weeks[2], 14) in starts(kind, weeks[2])  # the EXDATE
    assert at(weeks[4], 13) not in starts(kind, weeks[4]) and at(weeks[4], 14) in starts(kind, weeks[4])
    assert at(weeks[5], 13) in starts(kind, weeks[5])  # after the COUNT


def test_free_cancelled_and_our_own_events_are_not_busy_time(world) -> None:
    _tenant, _officer, _kind, calendar, connection = world
    calendar.save_event(
        vevent("lunch@example.org", "20270301T120000", "20270301T130000", "TRANSP:TRANSPARENT")
    )
    calendar.save_event(
        vevent("called-off@example.org", "20270301T090000", "20270301T100000", "STATUS:CANCELLED")
    )
    calendar.save_event(vevent("0f8e2a9c-booking@bookings", "20270301T150000", "20270301T160000"))
    calendar.save_event(vevent("real@example.org", "20270301T160000", "20270301T170000"))

    pull(connection)

    assert list(ExternalBusy.objects.values_list("uid", flat=True)) == ["real@example.org"]


def test_an_all_day_event_blocks_the_officers_whole_local_day(world) -> None:
    _tenant, _officer, kind, calendar, connection = world
    calendar.save_event(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//x//EN\r\nBEGIN:VEVENT\r\nUID:leave@example.org\r\n"
        "DTSTAMP:20270101T000000Z\r\nDTSTART;VALUE=DATE:20270301\r\nDTEND;VALUE=DATE:20270302\r\n"
        "SUMMARY:Annual leave\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )

    pull(connection)

    assert starts(kind, MONDAY) == []
    assert starts(kind, MONDAY + timedelta(days=1))


def test_new_busy_time_raises_the_supply_version_and_an_unchanged_calendar_does_not(world) -> None:
    tenant, _officer, _kind, calendar, connection = world
    db_connection.supply_changed.clear()  # as if the setup had committed: the next change must bump again
    calendar.save_event(vevent("dentist-1@example.org", "20270301T100000", "20270301T110000"))
    version = supply_version(tenant)

    assert pull(connection) is True
    assert supply_version(tenant) == version + 1  # cached open time of the old version is not read again

    db_connection.supply_changed.clear()
    rows = list(ExternalBusy.objects.values_list("pk", flat=True))
    assert pull(connection, now=NOW + timedelta(minutes=15)) is False

    assert list(ExternalBusy.objects.values_list("pk", flat=True)) == rows
    assert supply_version(tenant) == version + 1  # cached open time stays good


def test_events_outside_the_horizon_and_other_officers_are_left_alone(world, make_calendar, connect) -> None:
    tenant, officer, _kind, calendar, connection = world
    other = b.officer(tenant)
    other_connection = connect(other, str(make_calendar().url))
    ExternalBusy.objects.create(
        tenant=tenant, officer=officer, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 10), source="manual"
    )
    far = NOW + timedelta(days=400)
    calendar.save_event(
        vevent("far@example.org", far.strftime("%Y%m%dT100000"), far.strftime("%Y%m%dT110000"))
    )
    calendar.save_event(vevent("near@example.org", "20270301T100000", "20270301T110000"))

    pull(connection)
    pull(other_connection)

    assert sorted(ExternalBusy.objects.values_list("source", "uid")) == [
        (f"caldav:{connection.pk}", "near@example.org"),
        ("manual", ""),
    ]


def test_disconnecting_the_calendar_frees_its_busy_time_at_once(world) -> None:
    from integrations.services import connection_disconnect

    _tenant, _officer, kind, calendar, connection = world
    calendar.save_event(vevent("dentist-1@example.org", "20270301T100000", "20270301T110000"))
    pull(connection)
    assert at(MONDAY, 10) not in starts(kind, MONDAY)

    connection_disconnect(connection=connection, actor=None, now=NOW)

    assert not ExternalBusy.objects.exists()
    assert at(MONDAY, 10) in starts(kind, MONDAY)
