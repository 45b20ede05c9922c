"""Connecting and disconnecting officers' CalDAV calendars, and making, resetting and revoking feeds."""

from __future__ import annotations

from unittest import mock

import pytest
from django.core.exceptions import ValidationError

from integrations.feeds import token_digest
from integrations.models import CalendarConnection, CalendarFeed, ConnectionStatus
from integrations.secrets import decrypt
from integrations.services import (
    connection_connect,
    connection_disconnect,
    feed_create,
    feed_revoke,
    feed_update_options,
)
from tests import builders as b
from tests.builders import NOW

URL = "http://127.0.0.1:5232/officer/calendar/"


@pytest.fixture
def officer(tenant):
    return b.officer(tenant)


@pytest.fixture
def sync_task():
    with mock.patch("integrations.tasks.connection_sync") as task:
        yield task


def test_connect_encrypts_the_password_and_enqueues_a_first_sync_on_commit(
    officer, in_tenant, sync_task, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        connection = connection_connect(
            officer=officer, url=URL, username="jo", password="s3cret-app-pw", actor=officer.user, now=NOW
        )
        sync_task.delay.assert_not_called()  # not before the transaction commits
    for callback in callbacks:
        callback()
    sync_task.delay.assert_called_once_with(connection.pk)
    connection.refresh_from_db()
    assert connection.status == ConnectionStatus.ACTIVE
    assert "s3cret" not in connection.password_encrypted
    assert decrypt(connection.password_encrypted) == "s3cret-app-pw"
    assert (connection.created_by, connection.created_at) == (officer.user, NOW)


def test_connecting_again_disconnects_the_earlier_connection(
    officer, in_tenant, sync_task, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        first = connection_connect(officer=officer, url=URL, username="jo", password="a", actor=None, now=NOW)
        second = connection_connect(
            officer=officer, url=URL, username="jo", password="b", actor=None, now=NOW
        )
    first.refresh_from_db()
    assert (first.status, first.password_encrypted) == (ConnectionStatus.DISCONNECTED, "")
    assert list(CalendarConnection.objects.syncing()) == [second]
    assert sync_task.delay.call_count == 2


def test_an_address_the_server_must_not_call_is_refused_and_nothing_is_stored(
    officer, in_tenant, sync_task, settings
) -> None:
    settings.CALDAV_ALLOW_PRIVATE_ADDRESSES = False
    for url in ("http://calendar.example.org/", "https://127.0.0.1/dav/"):
        with pytest.raises(ValidationError) as refused:
            connection_connect(officer=officer, url=url, username="jo", password="pw", actor=None, now=NOW)
        assert "url" in refused.value.message_dict
    assert not CalendarConnection.objects.exists()
    sync_task.delay.assert_not_called()


def test_disconnect_wipes_the_secret_and_is_idempotent(officer, in_tenant, sync_task) -> None:
    connection = connection_connect(
        officer=officer, url=URL, username="jo", password="pw", actor=None, now=NOW
    )
    done = connection_disconnect(connection=connection, actor=officer.user, now=NOW)
    assert (done.status, done.password_encrypted, done.updated_at) == (ConnectionStatus.DISCONNECTED, "", NOW)
    again = connection_disconnect(connection=connection, actor=officer.user, now=NOW)
    assert again.status == ConnectionStatus.DISCONNECTED


def test_feed_create_stores_only_the_tokens_hash_and_replaces_the_live_feed(officer, in_tenant) -> None:
    first, token = feed_create(officer=officer, actor=officer.user, include_absences=True, now=NOW)
    assert len(token) == 43
    assert first.token_hash == token_digest(token) != token
    assert (first.include_absences, first.include_customer_names) == (True, False)
    second, other = feed_create(officer=officer, actor=officer.user, now=NOW)
    first.refresh_from_db()
    assert first.revoked_at == NOW
    assert list(CalendarFeed.objects.live()) == [second]
    assert other != token


def test_feed_revoke_and_options(officer, in_tenant) -> None:
    feed, _ = feed_create(officer=officer, actor=None, now=NOW)
    changed = feed_update_options(
        feed=feed, include_customer_names=True, include_absences=True, actor=officer.user, now=NOW
    )
    assert (changed.include_customer_names, changed.include_absences) == (True, True)
    revoked = feed_revoke(feed=feed, actor=None, now=NOW)
    assert revoked.revoked_at == NOW
    assert feed_revoke(feed=feed, actor=None, now=NOW.replace(year=2028)).revoked_at == NOW
    assert not CalendarFeed.objects.live().exists()
