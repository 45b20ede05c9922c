"""Calendar invitations, read back as a calendar program would: one event, a stable UID, local times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar

from notifications.invites import invite_ics

LONDON = ZoneInfo("Europe/London")
STAMP = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


def invite(**overrides: Any) -> dict[str, Any]:
    data = {
        "uid": "5b0f7e52-3f6a-4d8c-9a11-0c2f4b7d9e10@northshire.localhost",
        "sequence": 0,
        "method": "REQUEST",
        "starts_at": "2026-10-24T09:30:00+00:00",  # a Saturday in BST: 10:30 in London
        "ends_at": "2026-10-24T10:15:00+00:00",
        "summary": "Food hygiene inspection, Northshire Council",
        "location": "Council Offices, 1 High Street; Northshire",
        "description": "Reference BK-7Q4M-2X\nManage: https://northshire.example/manage/abc/",
        "organizer": "bookings@northshire.example",
        "attendee": "ada@example.org",
        "time_zone": "Europe/London",
    }
    return data | overrides


def read(ics: str) -> Calendar:
    return Calendar.from_ical(ics)


def test_a_request_is_one_confirmed_event_with_everything_a_calendar_needs() -> None:
    calendar = read(invite_ics(invite(), now=STAMP))

    assert str(calendar["PRODID"]) and str(calendar["VERSION"]) == "2.0"
    assert str(calendar["METHOD"]) == "REQUEST"
    [event] = calendar.events
    assert str(event["UID"]) == "5b0f7e52-3f6a-4d8c-9a11-0c2f4b7d9e10@northshire.localhost"
    assert event.sequence == 0
    assert event.stamp == STAMP
    assert str(event["STATUS"]) == "CONFIRMED"
    assert str(event["SUMMARY"]) == "Food hygiene inspection, Northshire Council"
    assert str(event["LOCATION"]) == "Council Offices, 1 High Street; Northshire"
    assert str(event["DESCRIPTION"]) == "Reference BK-7Q4M-2X\nManage: https://northshire.example/manage/abc/"
    assert str(event["ORGANIZER"]) == "mailto:bookings@northshire.example"
    [attendee] = event.attendees
    assert str(attendee) == "mailto:ada@example.org"
    assert attendee.params["RSVP"] == "FALSE"


def test_times_are_local_with_the_zone_described_across_the_clocks_going_back() -> None:
    # The clocks go back on Sunday 25 October 2026: 09:30 UTC is 10:30 in London before, 09:30 after.
    before = read(invite_ics(invite(), now=STAMP))
    after = read(
        invite_ics(
            invite(starts_at="2026-10-26T09:30:00+00:00", ends_at="2026-10-26T10:15:00+00:00"), now=STAMP
        )
    )

    for calendar, local in ((before, (10, 30)), (after, (9, 30))):
        [event] = calendar.events
        assert (event.start.hour, event.start.minute) == local
        assert event.start.tzinfo is not None and str(event.start.tzinfo) == "Europe/London"
        assert event.end - event.start == timedelta(minutes=45)
        [zone] = calendar.timezones
        assert zone.tz_name == "Europe/London"
        assert calendar.get_missing_tzids() == set()
        # The VTIMEZONE itself gives the right offset, for calendars that read it rather than the name.
        described = zone.to_tz()
        naive = event.start.replace(tzinfo=None)
        assert naive.replace(tzinfo=described).utcoffset() == naive.replace(tzinfo=LONDON).utcoffset()
    assert "TZID=Europe/London:20261024T103000" in invite_ics(invite(), now=STAMP).replace("\r\n ", "")


def test_the_same_instant_comes_back_whatever_zone_is_asked_for() -> None:
    calendar = read(invite_ics(invite(time_zone="America/New_York"), now=STAMP))
    [event] = calendar.events
    assert event.start == datetime(2026, 10, 24, 9, 30, tzinfo=UTC)
    assert (event.start.hour, str(event.start.tzinfo)) == (5, "America/New_York")
    assert [zone.tz_name for zone in calendar.timezones] == ["America/New_York"]


def test_a_move_and_a_cancellation_keep_the_uid_and_carry_their_sequence() -> None:
    first = read(invite_ics(invite(), now=STAMP)).events[0]
    moved = read(
        invite_ics(
            invite(sequence=1, starts_at="2026-12-08T14:30:00+00:00", ends_at="2026-12-08T15:15:00+00:00")
        )
    ).events[0]
    cancel = read(invite_ics(invite(sequence=2, method="CANCEL")))

    assert str(first["UID"]) == str(moved["UID"]) == str(cancel.events[0]["UID"])
    assert (first.sequence, moved.sequence, cancel.events[0].sequence) == (0, 1, 2)
    assert moved.start == datetime(2026, 12, 8, 14, 30, tzinfo=UTC)
    assert str(cancel["METHOD"]) == "CANCEL"
    assert str(cancel.events[0]["STATUS"]) == "CANCELLED"


def test_utc_times_need_no_zone_and_naive_times_are_read_as_utc() -> None:
    ics = invite_ics(invite(time_zone="UTC", starts_at="2026-10-24T09:30:00"), now=STAMP)
    calendar = read(ics)
    assert calendar.timezones == [] and "DTSTART:20261024T093000Z" in ics
    assert calendar.events[0].start == datetime(2026, 10, 24, 9, 30, tzinfo=UTC)


def test_empty_location_and_description_are_left_out() -> None:
    [event] = read(invite_ics(invite(location="", description=""))).events
    assert "LOCATION" not in event and "DESCRIPTION" not in event
