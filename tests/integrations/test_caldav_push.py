"""Bookings pushed to officers' own calendars on a real CalDAV server (Radicale): they appear, move and
disappear there, by UID, and a second push of nothing new writes nothing."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock
from zoneinfo import ZoneInfo

import caldav
import pytest
import requests
from caldav.lib.error import NotFoundError
from icalendar import Calendar

from bookings.calendar_files import booking_uid
from bookings.models import Booking
from bookings.services import booking_cancel, booking_create, booking_reassign, booking_reschedule
from integrations import tasks
from integrations.caldav_client import CalendarClient
from integrations.models import SyncedEvent
from integrations.secrets import decrypt
from integrations.services.sync import PushResult, connection_push, connection_sync
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.integrations.conftest import PASSWORD, USER

LONDON = ZoneInfo("Europe/London")


def book(kind, hour: int, n: int = 1, **kwargs) -> Booking:
    return booking_create(
        appointment_type=kind,
        starts_at=at(MONDAY, hour),
        customer=b.customer(kind.tenant, n),
        now=NOW,
        **kwargs,
    )


def push(connection, now=NOW) -> PushResult:
    client = CalendarClient(
        url=connection.url, username=connection.username, password=decrypt(connection.password_encrypted)
    )
    with client:
        return connection_push(connection=connection, client=client, now=now)


def remote_event(calendar: caldav.Calendar, uid: str):
    """The event stored under the UID on the server, parsed back with icalendar."""
    stored = Calendar.from_ical(calendar.event_by_uid(uid).data)
    [event] = stored.walk("VEVENT")
    return stored, event


def etag(calendar: caldav.Calendar, uid: str) -> str:
    response = requests.get(str(calendar.event_by_uid(uid).url), auth=(USER, PASSWORD), timeout=10)
    return response.headers["ETag"]


def test_a_confirmed_booking_appears_in_the_officers_calendar_by_its_uid(world) -> None:
    _tenant, _officer, kind, calendar, connection = world
    booking = book(kind, 10)

    assert push(connection) == PushResult(put=1, deleted=0)

    stored, event = remote_event(calendar, booking_uid(booking))
    assert event.start == at(MONDAY, 10).astimezone(LONDON) and event.end == at(MONDAY, 11)
    assert str(event["DTSTART"].params["TZID"]) == "Europe/London"
    assert [str(tz["TZID"]) for tz in stored.walk("VTIMEZONE")] == ["Europe/London"]
    assert booking.reference in str(event["SUMMARY"]) and "Food hygiene inspection" in str(event["SUMMARY"])
    assert "Customer 1" not in stored.to_ical().decode()  # no customer's name in an officer's calendar
    assert int(event["SEQUENCE"]) == booking.sequence
    assert [e.icalendar_component["UID"] for e in calendar.events()] == [booking_uid(booking)]


def test_a_summer_booking_keeps_its_wall_clock_time(world) -> None:
    _tenant, _officer, kind, calendar, connection = world
    booking = book(kind, 10)
    summer = booking_reschedule(booking=booking, starts_at=at(MONDAY + timedelta(weeks=8), 9), now=NOW)

    push(connection)

    _stored, event = remote_event(calendar, booking_uid(summer))
    assert event.start.hour == 10 and event.start.utcoffset() == timedelta(hours=1)  # 09:00 UTC is 10:00 BST


def test_rescheduling_moves_the_same_event_with_a_higher_sequence(world) -> None:
    _tenant, _officer, kind, calendar, connection = world
    booking = book(kind, 10)
    push(connection)
    _stored, before = remote_event(calendar, booking_uid(booking))

    moved = booking_reschedule(booking=booking, starts_at=at(MONDAY, 14), now=NOW)
    assert push(connection) == PushResult(put=1, deleted=0)

    _stored, after = remote_event(calendar, booking_uid(booking))
    assert after.start == at(MONDAY, 14) and after.end == at(MONDAY, 15)
    assert int(after["SEQUENCE"]) == moved.sequence > int(before["SEQUENCE"])
    assert len(calendar.events()) == 1
    assert SyncedEvent.objects.get().starts_at == at(MONDAY, 14)


def test_cancelling_deletes_the_event(world) -> None:
    _tenant, _officer, kind, calendar, connection = world
    kept, cancelled = book(kind, 10), book(kind, 12, n=2)
    push(connection)
    assert len(calendar.events()) == 2

    booking_cancel(booking=cancelled, reason="Customer asked", now=NOW)
    assert push(connection) == PushResult(put=0, deleted=1)

    with pytest.raises(NotFoundError):
        calendar.event_by_uid(booking_uid(cancelled))
    assert [e.icalendar_component["UID"] for e in calendar.events()] == [booking_uid(kept)]
    assert list(SyncedEvent.objects.values_list("booking_id", flat=True)) == [kept.pk]


def test_reassigning_moves_the_event_to_the_new_officers_calendar(world, make_calendar, connect) -> None:
    tenant, first, kind, first_calendar, first_connection = world
    booking = book(kind, 10, officer_ids=[first.pk])
    second = b.officer(tenant)
    second_calendar = make_calendar()
    second_connection = connect(second, str(second_calendar.url))
    push(first_connection)
    push(second_connection)

    booking_reassign(booking=booking, to_officer=second, actor=None, now=NOW)
    assert push(first_connection) == PushResult(put=0, deleted=1)
    assert push(second_connection) == PushResult(put=1, deleted=0)

    assert first_calendar.events() == []
    assert second_calendar.event_by_uid(booking_uid(booking))


def test_a_second_push_with_nothing_new_writes_nothing(world) -> None:
    _tenant, _officer, kind, calendar, connection = world
    booking = book(kind, 10)
    push(connection)
    tag = etag(calendar, booking_uid(booking))

    # An hour later: a rewrite would carry a new DTSTAMP, and so a new ETag.
    assert push(connection, now=NOW + timedelta(hours=1)) == PushResult(put=0, deleted=0)

    assert etag(calendar, booking_uid(booking)) == tag
    assert SyncedEvent.objects.count() == 1


def test_a_hold_is_not_pushed_until_it_is_confirmed(world) -> None:
    from bookings.services import booking_confirm, booking_hold

    tenant, _officer, kind, calendar, connection = world
    hold = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    assert push(connection) == PushResult(put=0, deleted=0)
    assert calendar.events() == []

    booking_confirm(booking=hold, customer=b.customer(tenant), now=NOW)
    assert push(connection) == PushResult(put=1, deleted=0)


def test_a_booking_change_pushes_the_officers_calendar_once_it_commits(
    world, django_capture_on_commit_callbacks
) -> None:
    """Through the receivers: one push per connection and transaction, run here as the worker would."""
    _tenant, _officer, kind, calendar, connection = world
    ran = []

    def run_now(args, **kwargs):
        ran.append(args)
        return tasks.connection_push.apply(args=args)

    with mock.patch.object(tasks.connection_push, "apply_async", side_effect=run_now):
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(kind, 10)  # a booking, its assignment and two audit events: four saves
        assert ran == [[connection.pk]]
        assert remote_event(calendar, booking_uid(booking))[1].start == at(MONDAY, 10)

        with django_capture_on_commit_callbacks(execute=True):
            booking_cancel(booking=booking, now=NOW)
        assert ran == [[connection.pk], [connection.pk]]
    assert calendar.events() == []


def test_the_sync_task_pushes_then_reads_and_marks_the_connection(world) -> None:
    _tenant, _officer, kind, calendar, connection = world
    booking = book(kind, 10)

    assert tasks.connection_sync.apply(args=[connection.pk]).get() == "synced"

    connection.refresh_from_db()
    assert connection.last_pushed_at and connection.last_pulled_at and connection.status == "active"
    assert calendar.event_by_uid(booking_uid(booking))
    assert connection_sync(connection=connection) == "synced"  # and again: nothing to do, no error


def test_a_reassignment_pushes_both_officers_calendars(
    world, make_calendar, connect, django_capture_on_commit_callbacks
) -> None:
    """The booking's assignment is updated in place (no save signal): the audit event and the synced event
    of the first officer's calendar are what find both connections."""
    tenant, first, kind, first_calendar, first_connection = world
    second = b.officer(tenant)
    second_calendar = make_calendar()
    second_connection = connect(second, str(second_calendar.url))
    ran = []

    def run_now(args, **kwargs):
        ran.append(args[0])
        return tasks.connection_push.apply(args=args)

    with mock.patch.object(tasks.connection_push, "apply_async", side_effect=run_now):
        with django_capture_on_commit_callbacks(execute=True):
            booking = book(kind, 10, officer_ids=[first.pk])
        with django_capture_on_commit_callbacks(execute=True):
            booking_reassign(booking=booking, to_officer=second, actor=None, now=NOW, tell_customer=False)

    assert ran[0] == first_connection.pk
    assert sorted(ran[1:]) == sorted([first_connection.pk, second_connection.pk])
    assert first_calendar.events() == []
    assert second_calendar.event_by_uid(booking_uid(booking))
