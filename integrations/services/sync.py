"""Calendar sync for one CalDAV connection: bookings pushed out, busy time read back in.

Push reconciles what the officer's calendar should hold with what we last wrote there (`SyncedEvent`):
every confirmed booking the officer is on, from a day ago to the horizon, is put under its own UID (a new
or changed one only), and an event whose booking is no longer theirs (cancelled, moved to someone else, a
lapsed hold) is deleted there. Running it twice writes nothing the second time. Pull reads the events in
[now, now + horizon], expands recurring ones, and makes them the officer's `ExternalBusy` rows from this
connection, which the availability engine honours.

A sync holds the connection's row lock for its length, so two syncs of one connection never interleave;
a failure rolls back everything written locally (the next sync puts again, idempotent by UID) and is then
recorded on its own: a `SyncError`, the connection FAILING (retried with backoff) or, when the server
refused the sign-in, REJECTED with a message to the officer, once.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta, tzinfo
from typing import NamedTuple

import recurring_ical_events
from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from icalendar import Calendar

from accounts.models import Tenant
from bookings.calendar_files import booking_uid
from bookings.models import Booking, BookingAssignment, BookingStatus
from notifications.models import MessageChannel, MessageKind
from notifications.services import message_queue
from scheduling.models import AppointmentType
from scheduling.services import external_busy_replace

from ..caldav_client import CalendarClient, CalendarUnavailable, CredentialsRejected
from ..events import officer_event
from ..models import CalendarConnection, ConnectionStatus, SyncDirection, SyncedEvent, SyncError
from ..secrets import SecretUnreadable, decrypt

logger = logging.getLogger(__name__)

# Pushed events stay in step for a day after they end (an appointment marked done or a no-show keeps its
# event); older ones are left in the officer's calendar as history and forgotten here.
PAST_WINDOW = timedelta(days=1)
DEFAULT_HORIZON_DAYS = 180
ATTENDED = (BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
OWN_UID_SUFFIX = "@bookings"  # bookings.calendar_files.booking_uid: our pushed events, never busy time


class PushResult(NamedTuple):
    put: int
    deleted: int


def sync_horizon_days(tenant: Tenant) -> int:
    """How far ahead bookings are pushed and busy time read: CALDAV_HORIZON_DAYS, or else the longest
    booking horizon of the tenant's active appointment types (nothing beyond it can be booked)."""
    if settings.CALDAV_HORIZON_DAYS:
        return int(settings.CALDAV_HORIZON_DAYS)
    longest = AppointmentType.objects.filter(tenant=tenant, is_active=True).aggregate(
        days=Max("horizon_days")
    )["days"]
    return longest or DEFAULT_HORIZON_DAYS


def connection_client(connection: CalendarConnection) -> CalendarClient:
    """A client signed in with the connection's details; refuses addresses the application may not call."""
    try:
        password = decrypt(connection.password_encrypted)
    except SecretUnreadable as error:
        raise CredentialsRejected(
            "The saved password can no longer be read (the encryption key changed): enter it again."
        ) from error
    return CalendarClient(url=connection.url, username=connection.username, password=password)


# --- push -----------------------------------------------------------------------------------------------


def officer_calendar(booking: Booking, zone: tzinfo, stamp: datetime) -> bytes:
    """The booking as the VCALENDAR we put: the officer's event (no customer name), in the tenant's time
    zone with its VTIMEZONE, so calendar apps show the wall-clock time across daylight-saving changes."""
    event = officer_event(booking, with_customer_name=False, stamp=stamp)
    for name, value in (("dtstart", booking.starts_at), ("dtend", booking.ends_at)):
        del event[name]
        event.add(name, value.astimezone(zone))
    calendar = Calendar()
    calendar.add("prodid", "-//Bookings//Officer calendar//EN")
    calendar.add("version", "2.0")
    calendar.add_component(event)
    year = booking.starts_at.astimezone(zone).year
    calendar.add_missing_timezones(first_date=date(year - 1, 1, 1), last_date=date(year + 2, 1, 1))
    return calendar.to_ical()


def connection_push(
    *, connection: CalendarConnection, client: CalendarClient, now: datetime | None = None
) -> PushResult:
    """Makes the connected calendar hold exactly the officer's bookings (see the module docstring). Raises
    CalendarSyncError from the first request that fails; the caller's transaction then rolls back."""
    now = now or timezone.now()
    window_start = now - PAST_WINDOW
    window_end = now + timedelta(days=sync_horizon_days(connection.tenant))
    synced = {row.booking_id: row for row in SyncedEvent.objects.filter(connection=connection)}
    forgotten = [row.pk for row in synced.values() if row.ends_at <= window_start]
    if forgotten:
        SyncedEvent.objects.filter(pk__in=forgotten).delete()
        synced = {booking_id: row for booking_id, row in synced.items() if row.pk not in forgotten}

    theirs = BookingAssignment.objects.filter(
        booking=OuterRef("pk"), officer_id=connection.officer_id, is_active=True
    )
    wanted = Booking.objects.filter(
        Q(status=BookingStatus.CONFIRMED)
        & Q(Exists(theirs))
        & (Q(ends_at__gt=window_start, starts_at__lt=window_end) | Q(pk__in=list(synced)))
        | Q(status__in=ATTENDED, pk__in=list(synced))
    ).select_related("appointment_type")

    zone = connection.tenant.zone
    put = 0
    for booking in wanted:
        row = synced.pop(booking.pk, None)
        if booking.status in ATTENDED:
            continue  # its event stays as it was
        if row and (row.sequence, row.starts_at, row.ends_at) == (
            booking.sequence,
            booking.starts_at,
            booking.ends_at,
        ):
            continue
        uid = booking_uid(booking)
        client.put_event(uid, officer_calendar(booking, zone, now))
        SyncedEvent.objects.update_or_create(
            tenant_id=connection.tenant_id,
            connection=connection,
            uid=uid,
            defaults={
                "booking": booking,
                "sequence": booking.sequence,
                "starts_at": booking.starts_at,
                "ends_at": booking.ends_at,
                "synced_at": now,
            },
        )
        put += 1

    for row in synced.values():  # what is there but should not be
        client.delete_event(row.uid)
        row.delete()
    return PushResult(put=put, deleted=len(synced))


# --- pull -----------------------------------------------------------------------------------------------


def _instant(value: date | datetime, zone: tzinfo) -> datetime:
    """A DTSTART or DTEND as an aware instant: all-day dates from the tenant's midnight, floating times in
    the tenant's zone."""
    if not isinstance(value, datetime):
        return datetime.combine(value, time(), tzinfo=zone)
    if value.tzinfo is None:
        return value.replace(tzinfo=zone)
    return value


def busy_intervals(
    ical: str, start: datetime, end: datetime, zone: tzinfo
) -> list[tuple[datetime, datetime, str]]:
    """The busy (start, end, uid) occurrences of one calendar resource overlapping [start, end), recurring
    events expanded: our own pushed events, free (TRANSPARENT) and cancelled ones left out."""
    calendar = Calendar.from_ical(ical)
    busy = []
    for occurrence in recurring_ical_events.of(calendar, skip_bad_series=True).between(start, end):
        uid = str(occurrence.get("UID", ""))
        if uid.endswith(OWN_UID_SUFFIX):
            continue
        if str(occurrence.get("TRANSP", "OPAQUE")).upper() == "TRANSPARENT":
            continue
        if str(occurrence.get("STATUS", "")).upper() == "CANCELLED":
            continue
        try:
            starts_at, ends_at = _instant(occurrence.start, zone), _instant(occurrence.end, zone)
        except (ValueError, TypeError, KeyError, AttributeError):  # no usable DTSTART
            continue
        if ends_at > starts_at:
            busy.append((starts_at, ends_at, uid))
    return busy


def connection_pull(
    *, connection: CalendarConnection, client: CalendarClient, now: datetime | None = None
) -> bool:
    """Replaces the officer's busy time from this connection with the calendar's busy events in
    [now, now + horizon]. Returns whether anything changed (only then does cached open time go stale).
    A resource that cannot be read as iCalendar is skipped and logged; the rest still counts."""
    now = now or timezone.now()
    window_end = now + timedelta(days=sync_horizon_days(connection.tenant))
    zone = connection.tenant.zone
    intervals: list[tuple[datetime, datetime, str]] = []
    for text in client.events_between(now, window_end):
        try:
            intervals += busy_intervals(text, now, window_end, zone)
        except ValueError:
            logger.warning("Calendar connection %s: an event could not be read; skipped", connection.pk)
    return external_busy_replace(
        officer=connection.officer, source=f"caldav:{connection.pk}", intervals=intervals
    )


# --- one sync, and what it leaves on the connection ------------------------------------------------------


def connection_sync(
    *, connection: CalendarConnection, now: datetime | None = None, push: bool = True, pull: bool = True
) -> str:
    """Pushes then pulls, under the connection's row lock. Returns "synced", "skipped" (the connection is
    rejected or disconnected) or "rejected" (the server refused the sign-in: recorded, officer told).
    Raises CalendarUnavailable after recording it, so the task retries with backoff."""
    now = now or timezone.now()
    direction = SyncDirection.PUSH if push else SyncDirection.PULL
    try:
        with transaction.atomic():
            locked = _locked(connection)
            if locked is None or locked.status not in (ConnectionStatus.ACTIVE, ConnectionStatus.FAILING):
                return "skipped"
            with _closing(connection_client(locked)) as client:
                if push:
                    connection_push(connection=locked, client=client, now=now)
                    locked.last_pushed_at = now
                if pull:
                    direction = SyncDirection.PULL
                    connection_pull(connection=locked, client=client, now=now)
                    locked.last_pulled_at = now
            _succeeded(locked, now)
            return "synced"
    except CredentialsRejected as error:
        connection_reject(connection=connection, direction=direction, message=str(error), now=now)
        return "rejected"
    except CalendarUnavailable as error:
        connection_failure_record(connection=connection, direction=direction, message=str(error), now=now)
        raise


@contextmanager
def _closing(client: CalendarClient) -> Iterator[CalendarClient]:
    try:
        yield client
    finally:
        client.close()


def _locked(connection: CalendarConnection) -> CalendarConnection | None:
    return (
        CalendarConnection.objects.select_for_update(of=("self",))
        .select_related("tenant", "officer__user")
        .filter(pk=connection.pk)
        .first()
    )


def _succeeded(connection: CalendarConnection, now: datetime) -> None:
    connection.status = ConnectionStatus.ACTIVE
    connection.failure_count = 0
    connection.last_error = ""
    connection.updated_at = now
    connection.save(
        update_fields=[
            "status",
            "failure_count",
            "last_error",
            "last_pushed_at",
            "last_pulled_at",
            "updated_at",
        ]
    )
    SyncError.objects.filter(connection=connection).open().update(cleared_at=now)


@transaction.atomic
def connection_failure_record(
    *, connection: CalendarConnection, direction: str, message: str, now: datetime | None = None
) -> SyncError | None:
    """Records a failed attempt that may succeed later: a SyncError for administrators, and the connection
    FAILING with one more failure. Nothing for a connection stopped meanwhile (rejected, disconnected)."""
    now = now or timezone.now()
    locked = _locked(connection)
    if locked is None or locked.status not in (ConnectionStatus.ACTIVE, ConnectionStatus.FAILING):
        return None
    return _failed(locked, ConnectionStatus.FAILING, direction, message, now)


@transaction.atomic
def connection_reject(
    *, connection: CalendarConnection, direction: str, message: str, now: datetime | None = None
) -> SyncError | None:
    """Stops the sync because the server refused the sign-in: the connection REJECTED (the beat skips it
    until someone enters new details), a SyncError, and an email to the officer, sent once for these
    details however often the rejection is seen."""
    now = now or timezone.now()
    locked = _locked(connection)
    if locked is None or locked.status == ConnectionStatus.DISCONNECTED:
        return None
    error = _failed(locked, ConnectionStatus.REJECTED, direction, message, now)
    user = locked.officer.user
    details = f"{locked.url}\n{locked.username}\n{locked.password_encrypted}".encode()
    message_queue(
        tenant_id=locked.tenant_id,
        kind=MessageKind.SYNC_STOPPED,
        channel=MessageChannel.EMAIL,
        to=user.email,
        recipient=str(user),
        dedupe_key=f"calendar-sync-stopped:{locked.pk}:{hashlib.sha256(details).hexdigest()[:24]}",
        topic=f"calendar-connection:{locked.pk}",
        language=settings.LANGUAGE_CODE,
        context={"officer": user.full_name, "council": locked.tenant.name},
        now=now,
    )
    return error


def _failed(
    connection: CalendarConnection, status: str, direction: str, message: str, now: datetime
) -> SyncError:
    connection.status = status
    connection.failure_count += 1
    connection.last_error = message[:500]
    connection.updated_at = now
    connection.save(update_fields=["status", "failure_count", "last_error", "updated_at"])
    return SyncError.objects.create(
        tenant_id=connection.tenant_id,
        connection=connection,
        direction=direction,
        message=message[:500],
        occurred_at=now,
    )
