"""Reads for the staff workspace: an officer's diary, the start page's counts, a case's appointments.

Every function here runs a fixed number of queries however many appointments there are: the diary is one
query for the bookings (with their type and customer), one for every assignment of those bookings (with the
officers' names) and one for the officer's absences.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote_plus

from django.conf import settings
from django.db.models import Prefetch, Q
from django.utils import timezone

from accounts.models import Officer
from bookings.models import ACTIVE_STATUSES, Booking, BookingAssignment, BookingStatus, Channel, ConflictItem
from scheduling.models import Absence, LocationMode

# What an officer's diary shows: appointments still to happen and those with an outcome.
DIARY_STATUSES = (BookingStatus.CONFIRMED, BookingStatus.COMPLETED, BookingStatus.NO_SHOW)
AGENDA_DAYS = 14


def map_url(location: str) -> str:
    """A link to a map searching for the location, from the MAP_URL_PATTERN setting."""
    return settings.MAP_URL_PATTERN.format(query=quote_plus(location))


def day_bounds(first: date, days: int, zone: Any) -> tuple[datetime, datetime]:
    """Midnight to midnight in the tenant's zone (a daylight-saving day is 23 or 25 hours long)."""
    return (
        datetime.combine(first, time(0), tzinfo=zone),
        datetime.combine(first + timedelta(days=days), time(0), tzinfo=zone),
    )


def current_assignments(booking: Booking) -> list[BookingAssignment]:
    """The officers a booking has now, from its prefetched assignments.

    An active booking's are its active assignments. A completed or no-show booking released them when its
    outcome was recorded, so its officers are the assignments for the time it finally had (an earlier
    time's assignments, left by a reschedule, start elsewhere).
    """
    assignments = [a for a in booking.assignments.all() if a.officer_id]
    if booking.status in ACTIVE_STATUSES:
        return [a for a in assignments if a.is_active]
    lower = booking.starts_at - booking.appointment_type.buffer_before
    return [a for a in assignments if a.occupied.lower == lower]


@dataclass
class DiaryEntry:
    booking: Booking
    others: list[Officer]
    location: str
    map_url: str
    documents: list[str]
    answers: list[tuple[str, Any]]


@dataclass
class DiaryDay:
    day: date
    entries: list[DiaryEntry] = field(default_factory=list)
    absences: list[Absence] = field(default_factory=list)


def officer_bookings(officer: Officer, start: datetime, end: datetime) -> list[Booking]:
    """The officer's appointments starting in [start, end), with everything the diary shows, in time order."""
    candidates = (
        Booking.objects.filter(
            status__in=DIARY_STATUSES,
            starts_at__gte=start,
            starts_at__lt=end,
            assignments__officer=officer,
        )
        .distinct()
        .select_related("appointment_type", "customer")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=BookingAssignment.objects.filter(officer__isnull=False).select_related(
                    "officer__user"
                ),
            )
        )
        .order_by("starts_at", "pk")
    )
    return [b for b in candidates if any(a.officer_id == officer.pk for a in current_assignments(b))]


def diary_entry(booking: Booking, *, officer: Officer | None) -> DiaryEntry:
    appointment_type = booking.appointment_type
    location = booking.location
    if not location and appointment_type.location_mode == LocationMode.OFFICE:
        location = appointment_type.office_address
    others = [
        a.officer for a in current_assignments(booking) if officer is None or a.officer_id != officer.pk
    ]
    answers = list(booking.answers.items()) if isinstance(booking.answers, dict) else []
    return DiaryEntry(
        booking=booking,
        others=others,
        location=location,
        map_url=map_url(location)
        if location and appointment_type.location_mode != LocationMode.PHONE
        else "",
        documents=appointment_type.documents(),
        answers=answers,
    )


def officer_diary(
    officer: Officer, first: date, days: int, *, zone: Any, skip_empty: bool = False
) -> list[DiaryDay]:
    """The officer's appointments and absences for `days` days from `first`, by day in the tenant's zone."""
    start, end = day_bounds(first, days, zone)
    by_day = {first + timedelta(days=i): DiaryDay(first + timedelta(days=i)) for i in range(days)}
    for booking in officer_bookings(officer, start, end):
        by_day[booking.starts_at.astimezone(zone).date()].entries.append(
            diary_entry(booking, officer=officer)
        )
    for absence in Absence.objects.filter(officer=officer).overlapping(start, end):
        first_day = max(absence.starts_at.astimezone(zone).date(), first)
        last_day = min(
            (absence.ends_at - timedelta(microseconds=1)).astimezone(zone).date(),
            first + timedelta(days=days - 1),
        )
        day = first_day
        while day <= last_day:
            by_day[day].absences.append(absence)
            day += timedelta(days=1)
    result = list(by_day.values())
    if skip_empty:
        result = [d for d in result if d.entries or d.absences]
    return result


# --- the start page ---------------------------------------------------------------------------------------


def officer_for_user(user: Any) -> Officer | None:
    return Officer.objects.filter(user=user).select_related("user").first()


def staff_bookings_made_on(day: date, *, zone: Any) -> list[Booking]:
    """Bookings staff made today (customer service's queue), newest first."""
    start, end = day_bounds(day, 1, zone)
    return list(
        Booking.objects.filter(channel=Channel.STAFF, created_at__gte=start, created_at__lt=end)
        .exclude(status__in=(BookingStatus.HELD, BookingStatus.EXPIRED))
        .select_related("appointment_type", "customer", "created_by")
        .order_by("-created_at", "-pk")[:50]
    )


def week_counts(monday: date, *, zone: Any) -> dict[str, Any]:
    """The team's week at a glance: appointments by status and by day."""
    start, end = day_bounds(monday, 7, zone)
    rows = list(
        Booking.objects.filter(starts_at__gte=start, starts_at__lt=end)
        .filter(Q(status__in=DIARY_STATUSES) | Q(status=BookingStatus.NEEDS_REBOOKING))
        .values_list("status", "starts_at")
    )
    by_status = Counter(status for status, _ in rows)
    by_day = Counter(starts_at.astimezone(zone).date() for _, starts_at in rows)
    return {
        "total": len(rows),
        "by_status": [(BookingStatus(s).label, n) for s, n in sorted(by_status.items())],
        "by_day": [(monday + timedelta(days=i), by_day.get(monday + timedelta(days=i), 0)) for i in range(7)],
    }


def open_conflicts_count() -> int:
    return ConflictItem.objects.open().count()


# --- cases ------------------------------------------------------------------------------------------------


def case_bookings(reference: str) -> list[Booking]:
    """Every booking of a case (the reference matched exactly, whatever its case), in time order."""
    return list(
        Booking.objects.filter(case_reference__iexact=reference.strip())
        .exclude(status__in=(BookingStatus.HELD, BookingStatus.EXPIRED))
        .select_related("appointment_type", "customer")
        .prefetch_related(
            Prefetch(
                "assignments",
                queryset=BookingAssignment.objects.filter(officer__isnull=False).select_related(
                    "officer__user"
                ),
            )
        )
        .order_by("starts_at", "pk")
    )


def now_local(zone: Any) -> datetime:
    return timezone.now().astimezone(zone)
