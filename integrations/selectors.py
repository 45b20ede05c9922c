"""Reads for the calendar sync pages and the subscription feed, each a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Prefetch

from accounts.models import Officer
from bookings.models import Booking, BookingAssignment
from bookings.selectors.diary import DIARY_STATUSES, current_assignments
from scheduling.models import Absence

from .feeds import looks_like_token, token_digest
from .models import CalendarConnection, CalendarFeed, ConnectionStatus, SyncError


def feed_for_token(token: str) -> CalendarFeed | None:
    """The live feed a URL's token opens in the active tenant; None for a malformed, unknown or revoked
    token alike, for another tenant's (which the scope never sees) and for an officer no longer active."""
    if not looks_like_token(token):
        return None
    return (
        CalendarFeed.objects.live()
        .select_related("officer__user")
        .filter(token_hash=token_digest(token), officer__is_active=True)
        .first()
    )


def feed_bookings(officer: Officer, *, since: datetime) -> list[Booking]:
    """The officer's appointments from `since` on, however far ahead: confirmed, completed or no-show
    bookings whose current assignment is theirs (never holds, never cancelled ones). Two queries."""
    candidates = (
        Booking.objects.filter(status__in=DIARY_STATUSES, starts_at__gte=since, assignments__officer=officer)
        .distinct()
        .select_related("appointment_type", "customer", "series__appointment_type", "series__customer")
        .prefetch_related(
            Prefetch("assignments", queryset=BookingAssignment.objects.filter(officer__isnull=False))
        )
        .order_by("starts_at", "pk")
    )
    return [b for b in candidates if any(a.officer_id == officer.pk for a in current_assignments(b))]


def feed_absences(officer: Officer, *, since: datetime) -> list[Absence]:
    return list(Absence.objects.filter(officer=officer, ends_at__gt=since).order_by("starts_at", "pk"))


@dataclass
class CalendarSettings:
    """What the calendar sync page shows for one officer."""

    officer: Officer
    feed: CalendarFeed | None
    connection: CalendarConnection | None
    errors: list[SyncError] = field(default_factory=list)


def calendar_settings(officer: Officer, *, with_errors: bool) -> CalendarSettings:
    """The officer's live feed, their connection (if not disconnected) and, for administrators, its open
    sync errors, newest first."""
    feed = CalendarFeed.objects.live().filter(officer=officer).first()
    connection = (
        CalendarConnection.objects.filter(officer=officer)
        .exclude(status=ConnectionStatus.DISCONNECTED)
        .order_by("-created_at")
        .first()
    )
    errors: list[SyncError] = []
    if with_errors and connection is not None:
        errors = list(SyncError.objects.open().filter(connection=connection).order_by("-occurred_at")[:20])
    return CalendarSettings(officer=officer, feed=feed, connection=connection, errors=errors)
