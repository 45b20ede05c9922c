"""What calendar sync does when bookings change: push the officers' calendars once the change commits.

Connected in `IntegrationsConfig.ready`. Every service that changes an officer's bookings saves the booking
or writes its audit event (`BookingEvent`), and most save assignments too, so these three signals see every
change made through services; the beat's sweep (`integrations.sync_all_connections`) covers bulk updates,
which send none. The officers are looked up after the commit, so the new assignments are seen, and so are
the connections that hold the booking's event from before (a booking moved to another officer leaves the
first one's calendar). One push per connection per transaction, however many rows changed.
"""

from __future__ import annotations

from typing import Any

from django.db import connection as db_connection
from django.db import transaction
from django.db.models import Q
from django_scopes import scope

from bookings.models import Booking, BookingAssignment, BookingEvent, BookingStatus
from scheduling.services import external_busy_replace

from .models import CalendarConnection, ConnectionStatus, SyncedEvent


def _pending() -> dict[int, set[int]]:
    """Per database connection (so per thread): booking ids by tenant, changed since the last push."""
    pending: dict[int, set[int]] | None = getattr(db_connection, "calendar_push_pending", None)
    if pending is None:
        pending = db_connection.calendar_push_pending = {}
    return pending


def booking_touched(*, tenant_id: int, booking_id: int) -> None:
    """Notes a changed booking; its officers' calendars are pushed once the transaction commits. The first
    callback to run after the commit sends them all, the rest find nothing left. Ids left by a rolled-back
    transaction go out with the next commit: a push of an unchanged booking writes nothing."""
    _pending().setdefault(tenant_id, set()).add(booking_id)
    # Robust: a broker that is down must not turn a committed booking into an error page; the beat's
    # sweep pushes what was not enqueued.
    transaction.on_commit(pushes_enqueue, robust=True)


def pushes_enqueue() -> int:
    """Enqueues one push for each syncing connection of an officer on the changed bookings, now or before."""
    from .tasks import connection_push  # the tasks import the services, which import this app's models

    pending = dict(_pending())
    _pending().clear()
    sent = 0
    for tenant_id, booking_ids in pending.items():
        with scope(tenant=tenant_id):
            officers = BookingAssignment.objects.filter(booking_id__in=booking_ids, officer__isnull=False)
            holding = SyncedEvent.objects.filter(booking_id__in=booking_ids)
            ids = list(
                CalendarConnection.objects.syncing()
                .filter(
                    Q(officer_id__in=officers.values("officer_id"))
                    | Q(pk__in=holding.values("connection_id"))
                )
                .values_list("pk", flat=True)
            )
        for connection_id in ids:
            connection_push.apply_async(args=[connection_id])
        sent += len(ids)
    return sent


# A hold is never pushed and never was (only confirmed bookings are), so placing one or letting it lapse
# has nothing to tell a calendar: the portal's hungriest path costs no query here.
HOLD_ACTIONS = ("held", "hold_expired")


def booking_saved(*, instance: Booking, raw: bool = False, **kwargs: Any) -> None:
    if not raw and instance.status != BookingStatus.HELD:
        booking_touched(tenant_id=instance.tenant_id, booking_id=instance.pk)


def booking_row_saved(
    *, instance: BookingAssignment | BookingEvent, raw: bool = False, **kwargs: Any
) -> None:
    if raw or getattr(instance, "action", "") in HOLD_ACTIONS:
        return
    booking_touched(tenant_id=instance.tenant_id, booking_id=instance.booking_id)


def connection_saved(*, instance: CalendarConnection, raw: bool = False, **kwargs: Any) -> None:
    """A disconnected calendar's busy time stops counting at once (its events are no longer read)."""
    if raw or instance.status != ConnectionStatus.DISCONNECTED:
        return
    with scope(tenant=instance.tenant_id):
        external_busy_replace(officer=instance.officer, source=f"caldav:{instance.pk}", intervals=[])
