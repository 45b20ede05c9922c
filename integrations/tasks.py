"""Thin Celery wrappers around calendar sync: one connection's sync or push, and the beat's sweep.

Connection tasks take only the connection's id (what `connection_connect` and the receivers enqueue) and
run inside its tenant's scope. A calendar server that cannot be reached is retried with exponential backoff
(CALDAV_RETRY_* settings); a rejected sign-in is recorded and never retried.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from celery import Task, shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django_scopes import scope

from accounts.models import Tenant

from .caldav_client import CalendarUnavailable
from .models import CalendarConnection, ConnectionStatus
from .services.sync import connection_sync as sync

RETRYING: dict[str, Any] = {
    "autoretry_for": (CalendarUnavailable,),
    "retry_backoff": settings.CALDAV_RETRY_BACKOFF_SECONDS,
    "retry_backoff_max": settings.CALDAV_RETRY_BACKOFF_MAX_SECONDS,
    "retry_jitter": True,
    "max_retries": settings.CALDAV_MAX_RETRIES,
}


class ConnectionTask(Task):
    """Re-enters the scope of the tenant that owns the connection named by the first argument."""

    abstract = True

    def __call__(self, connection_id: int, *args: Any, **kwargs: Any) -> Any:
        # Tenant is not tenant-owned: the join names the connection's tenant without an unscoped query.
        tenant = Tenant.objects.filter(calendarconnection_set=connection_id).first()
        if tenant is None:
            return "gone"
        with scope(tenant=tenant), timezone.override(tenant.zone):
            return super().__call__(connection_id, *args, **kwargs)


def _run(connection_id: int, *, push: bool, pull: bool) -> str:
    connection = CalendarConnection.objects.filter(pk=connection_id).first()
    if connection is None:
        return "gone"
    return sync(connection=connection, push=push, pull=pull)


@shared_task(base=ConnectionTask, name="integrations.connection_sync", **RETRYING)
def connection_sync(connection_id: int, **kwargs: object) -> str:
    """Pushes the officer's bookings, then reads their busy time (on connecting, on demand, and from the
    beat). Returns "synced", "skipped" or "rejected"; raises CalendarUnavailable to be retried."""
    return _run(connection_id, push=True, pull=True)


@shared_task(base=ConnectionTask, name="integrations.connection_push", **RETRYING)
def connection_push(connection_id: int, **kwargs: object) -> str:
    """Pushes the officer's bookings after a change to them (enqueued by the receivers on commit)."""
    return _run(connection_id, push=True, pull=False)


@shared_task(name="integrations.sync_all_connections")
def sync_all_connections(**kwargs: object) -> int:
    """The beat's safety net: a sync of every connection still syncing, so bulk changes that sent no signal
    and external busy time both arrive within one beat period. A rejected or disconnected connection waits
    for new details; a failing one is left to its own retries until its last failure is older than the
    longest backoff, so an outage adds one chain of retries at a time, not one per beat. Returns how many
    were enqueued."""
    quiet_since = timezone.now() - timedelta(seconds=settings.CALDAV_RETRY_BACKOFF_MAX_SECONDS)
    # One query across tenants, joined from Tenant (not tenant-owned), so no scope is needed to list them.
    ids = list(
        Tenant.objects.filter(is_active=True)
        .filter(
            Q(calendarconnection_set__status=ConnectionStatus.ACTIVE)
            | Q(
                calendarconnection_set__status=ConnectionStatus.FAILING,
                calendarconnection_set__updated_at__lte=quiet_since,
            )
        )
        .values_list("calendarconnection_set", flat=True)
    )
    for connection_id in ids:
        connection_sync.apply_async(args=[connection_id])
    return len(ids)
