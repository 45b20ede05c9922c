"""Officers' connected CalDAV calendars: connected (details checked, password encrypted) and disconnected.

There is no audit table for officers' own settings (the audit models are bookings' and customers'), so
each change is logged as a structured record (`integrations.audit` logger) with actor, action and target;
the password never appears in it.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Officer, User

from ..addresses import calendar_url_problem
from ..models import CalendarConnection, ConnectionStatus
from ..secrets import encrypt

audit = logging.getLogger("integrations.audit")


def _audit(action: str, *, connection: CalendarConnection, actor: User | None, **after: object) -> None:
    audit.info(
        "calendar connection %s",
        action,
        extra={
            "action": f"calendar_connection.{action}",
            "tenant_id": connection.tenant_id,
            "officer_id": connection.officer_id,
            "connection_id": connection.pk,
            "actor_id": actor.pk if actor else None,
            "after": after,
        },
    )


@transaction.atomic
def connection_connect(
    *,
    officer: Officer,
    url: str,
    username: str,
    password: str,
    actor: User | None,
    now: datetime | None = None,
) -> CalendarConnection:
    """Connects the officer's CalDAV calendar (replacing any earlier connection, which is disconnected in
    the same transaction) with the password encrypted at rest. Raises ValidationError (on `url`) for an
    address the application will not call. Enqueues a first sync once the transaction commits."""
    now = now or timezone.now()
    if problem := calendar_url_problem(url):
        raise ValidationError({"url": problem})
    # The officer's row is the lock: two connects at once replace one another in turn.
    Officer.objects.select_for_update().filter(pk=officer.pk).first()
    earlier = list(
        CalendarConnection.objects.filter(officer=officer).exclude(status=ConnectionStatus.DISCONNECTED)
    )
    for previous in earlier:
        connection_disconnect(connection=previous, actor=actor, now=now)
    connection = CalendarConnection.objects.create(
        tenant_id=officer.tenant_id,
        officer=officer,
        url=url,
        username=username,
        password_encrypted=encrypt(password),
        status=ConnectionStatus.ACTIVE,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    _audit("connected", connection=connection, actor=actor, url=url, username=username)

    _sync_after_commit(connection)
    return connection


class NotSyncing(Exception):
    """The connection waits for new details (sign-in rejected) or is disconnected: nothing to run."""


# A second press within this time starts nothing new: the sync it asked for is still running or just ran.
SYNC_NOW_INTERVAL = timedelta(minutes=1)


@transaction.atomic
def connection_sync_now(
    *, connection: CalendarConnection, actor: User | None, now: datetime | None = None
) -> bool:
    """Asks for a sync now (bookings sent, busy time read) for a connection that is syncing: True when one
    was enqueued, False when one was asked for less than SYNC_NOW_INTERVAL ago. Raises NotSyncing for a
    rejected or disconnected connection."""
    now = now or timezone.now()
    connection = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
    if connection.status not in (ConnectionStatus.ACTIVE, ConnectionStatus.FAILING):
        raise NotSyncing
    if connection.sync_requested_at and now - connection.sync_requested_at < SYNC_NOW_INTERVAL:
        return False
    connection.sync_requested_at = now
    connection.save(update_fields=["sync_requested_at"])
    _audit("sync_requested", connection=connection, actor=actor)
    _sync_after_commit(connection)
    return True


def _sync_after_commit(connection: CalendarConnection) -> None:
    def sync() -> None:
        from ..tasks import connection_sync  # the tasks import the services

        connection_sync.delay(connection.pk)

    transaction.on_commit(sync)


@transaction.atomic
def connection_disconnect(
    *, connection: CalendarConnection, actor: User | None, now: datetime | None = None
) -> CalendarConnection:
    """Stops syncing and forgets the password. Disconnecting twice changes nothing."""
    now = now or timezone.now()
    connection = CalendarConnection.objects.select_for_update().get(pk=connection.pk)
    if connection.status == ConnectionStatus.DISCONNECTED:
        return connection
    connection.status = ConnectionStatus.DISCONNECTED
    connection.password_encrypted = ""
    connection.updated_at = now
    connection.save(update_fields=["status", "password_encrypted", "updated_at"])
    _audit("disconnected", connection=connection, actor=actor)
    return connection
