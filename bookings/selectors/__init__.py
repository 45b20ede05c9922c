"""Reads that views, tasks and services share: the portal's here; the staff workspace's in `diary`,
`customer_search` and `desk`."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from itertools import groupby

from bookings.models import Booking, BookingStatus
from scheduling.models import AppointmentType, Category


def portal_services_by_category() -> list[tuple[Category, list[AppointmentType]]]:
    """The active tenant's online-bookable services, grouped by category in the tenant's order."""
    services = (
        AppointmentType.objects.bookable_online()
        .select_related("category")
        .order_by("category__position", "category__name", "name")
    )
    return [(category, list(items)) for category, items in groupby(services, key=lambda s: s.category)]


def live_hold(
    *, references: Collection[str], appointment_type: AppointmentType, starts_at: datetime, now: datetime
) -> Booking | None:
    """Among these references, a hold on this type and start that has not lapsed."""
    if not references:  # a new browser: not even the query is worth building
        return None
    return Booking.objects.filter(
        reference__in=references,
        appointment_type=appointment_type,
        starts_at=starts_at,
        status=BookingStatus.HELD,
        hold_expires_at__gt=now,
    ).first()


def holds_among(references: Collection[str]) -> list[Booking]:
    if not references:
        return []
    return list(Booking.objects.filter(reference__in=references, status=BookingStatus.HELD))


def booking_for_reference(reference: str) -> Booking | None:
    return (
        Booking.objects.select_related("appointment_type__tenant", "customer")
        .filter(reference=reference)
        .first()
    )
