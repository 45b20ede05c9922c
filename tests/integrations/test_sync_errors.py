"""Calendar sync failures against a real CalDAV server (Radicale): a refused sign-in stops the sync loudly
and once; a server that cannot be reached is retried, shown to administrators, and cleared by a success."""

from __future__ import annotations

from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.test import override_settings

from bookings.calendar_files import booking_uid
from bookings.services import booking_create
from integrations import tasks
from integrations.caldav_client import CalendarUnavailable
from integrations.models import CalendarConnection, ConnectionStatus, SyncDirection, SyncError
from integrations.services.sync import connection_sync
from notifications.models import Message, MessageChannel, MessageKind
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.integrations.conftest import free_port


@pytest.fixture
def world(in_tenant, make_calendar, connect):
    tenant = in_tenant
    officer = b.officer(tenant)
    kind = b.appointment_type(tenant)
    calendar = make_calendar()
    return tenant, officer, kind, calendar, connect


def refreshed(connection: CalendarConnection) -> CalendarConnection:
    connection.refresh_from_db()
    return connection


def test_a_refused_password_stops_the_sync_loudly_and_tells_the_officer_once(world) -> None:
    tenant, officer, kind, calendar, connect = world
    booking_create(appointment_type=kind, starts_at=at(MONDAY, 10), customer=b.customer(tenant), now=NOW)
    connection = connect(officer, str(calendar.url), password="not the password")

    assert connection_sync(connection=connection, now=NOW) == "rejected"

    connection = refreshed(connection)
    assert connection.status == ConnectionStatus.REJECTED and connection.failure_count == 1
    assert "rejected the user name or password" in connection.last_error
    [error] = SyncError.objects.open()
    assert (error.connection, error.direction) == (connection, SyncDirection.PUSH)
    [message] = Message.objects.filter(kind=MessageKind.SYNC_STOPPED)
    assert (message.channel, message.to) == (MessageChannel.EMAIL, officer.user.email)
    assert message.context["officer"] == officer.user.full_name
    assert calendar.events() == []

    # Stopped: a second attempt and the beat leave it alone, and the officer is not told twice.
    assert connection_sync(connection=connection, now=NOW) == "skipped"
    with mock.patch.object(tasks.connection_sync, "apply_async") as send:
        assert tasks.sync_all_connections() == 0
    assert not send.called
    assert Message.objects.filter(kind=MessageKind.SYNC_STOPPED).count() == 1
    assert SyncError.objects.count() == 1


def test_the_rejection_email_reaches_the_officer(world, mailoutbox) -> None:
    from notifications.dispatch import message_deliver

    _tenant, officer, _kind, calendar, connect = world
    connection = connect(officer, str(calendar.url), password="not the password")
    connection_sync(connection=connection, now=NOW)

    assert message_deliver(Message.objects.get(kind=MessageKind.SYNC_STOPPED).pk, now=NOW) == "sent"
    [email] = mailoutbox
    assert email.to == [officer.user.email]
    assert email.subject == "Your calendar is no longer being updated"
    assert f"Dear {officer.user.full_name}," in email.body and "Northshire Council" in email.body


def test_a_server_that_is_down_fails_and_a_later_success_clears_it(world, radicale) -> None:
    tenant, officer, kind, calendar, connect = world
    booking = booking_create(
        appointment_type=kind, starts_at=at(MONDAY, 10), customer=b.customer(tenant), now=NOW
    )
    working_url = str(calendar.url)
    down_url = working_url.replace(f":{radicale.port}/", f":{free_port()}/")
    connection = connect(officer, down_url)

    with pytest.raises(CalendarUnavailable, match="could not be reached"):
        connection_sync(connection=connection, now=NOW)
    with pytest.raises(CalendarUnavailable):
        connection_sync(connection=connection, now=NOW)

    connection = refreshed(connection)
    assert connection.status == ConnectionStatus.FAILING and connection.failure_count == 2
    assert SyncError.objects.open().count() == 2
    assert not Message.objects.filter(kind=MessageKind.SYNC_STOPPED).exists()  # worth retrying
    longest_backoff = timedelta(seconds=settings.CALDAV_RETRY_BACKOFF_MAX_SECONDS)
    with mock.patch.object(tasks.connection_sync, "apply_async") as send:
        with time_machine.travel(NOW + timedelta(minutes=15), tick=False):
            assert tasks.sync_all_connections() == 0  # its own retries are still running
        with time_machine.travel(NOW + longest_backoff + timedelta(minutes=1), tick=False):
            assert tasks.sync_all_connections() == 1  # then the beat starts them again
    send.assert_called_once_with(args=[connection.pk])

    CalendarConnection.objects.filter(pk=connection.pk).update(url=working_url)  # the server is back
    assert connection_sync(connection=refreshed(connection), now=NOW) == "synced"

    connection = refreshed(connection)
    assert (connection.status, connection.failure_count, connection.last_error) == (
        ConnectionStatus.ACTIVE,
        0,
        "",
    )
    assert not SyncError.objects.open().exists() and SyncError.objects.count() == 2
    assert calendar.event_by_uid(booking_uid(booking))


def test_the_task_retries_an_unreachable_server_then_gives_up(world, radicale) -> None:
    _tenant, officer, _kind, calendar, connect = world
    connection = connect(officer, str(calendar.url).replace(f":{radicale.port}/", f":{free_port()}/"))

    result = tasks.connection_sync.apply(args=[connection.pk])

    assert isinstance(result.result, CalendarUnavailable)
    attempts = tasks.connection_sync.max_retries + 1
    assert refreshed(connection).failure_count == attempts == SyncError.objects.count()


def test_a_calendar_that_is_gone_is_a_failure_in_words(world) -> None:
    _tenant, officer, _kind, calendar, connect = world
    connection = connect(officer, str(calendar.url).rstrip("/") + "-deleted/")

    with pytest.raises(CalendarUnavailable):
        connection_sync(connection=connection, now=NOW, push=False)

    connection = refreshed(connection)
    assert connection.status == ConnectionStatus.FAILING
    assert "no calendar at this address" in connection.last_error
    assert SyncError.objects.get().direction == SyncDirection.PULL


def test_a_private_address_is_refused_before_any_request(world) -> None:
    _tenant, officer, _kind, calendar, connect = world
    connection = connect(officer, str(calendar.url))

    with (
        override_settings(CALDAV_ALLOW_PRIVATE_ADDRESSES=False),
        mock.patch("requests.Session.request") as sent,
        pytest.raises(CalendarUnavailable),
    ):
        connection_sync(connection=connection, now=NOW)
    assert not sent.called
    assert "https://" in refreshed(connection).last_error


def test_administrators_see_connections_and_errors_but_never_the_password(
    world, client_for, member_of, django_capture_on_commit_callbacks
) -> None:
    tenant, officer, _kind, calendar, connect = world
    connection = connect(officer, str(calendar.url), password="not the password")
    connection_sync(connection=connection, now=NOW)
    admin = client_for(tenant, member_of(tenant))

    page = admin.get("/admin/integrations/calendarconnection/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Sign-in rejected" in text and connection.password_encrypted not in text
    assert (
        "not the password"
        not in admin.get(f"/admin/integrations/calendarconnection/{connection.pk}/change/").content.decode()
    )
    errors = admin.get("/admin/integrations/syncerror/?open=yes")
    assert "rejected the user name or password" in errors.content.decode()

    CalendarConnection.objects.filter(pk=connection.pk).update(status=ConnectionStatus.FAILING)
    with (
        mock.patch.object(tasks.connection_sync, "apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        answer = admin.post(
            "/admin/integrations/calendarconnection/",
            {"action": "sync_now", "_selected_action": [connection.pk]},
        )
    assert answer.status_code == 302
    send.assert_called_once_with(args=[connection.pk])
