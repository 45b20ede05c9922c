"""Reads of scheduling configuration that views share."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta

from django.conf import settings

from accounts.models import Officer, Tenant
from config.cache import read_through

from .locations import Place
from .models import AppointmentType, WorkingPattern
from .routing.problem import Point
from .services import supply_version


def bookable_type(*, tenant: Tenant, slug: str) -> AppointmentType | None:
    """The tenant's type bookable online by that slug (with its category), or None.

    Every portal page and hold starts here, so the type is cached under the tenant's supply version like
    its open time: editing a type or a category raises the version, and the next request reads it fresh.
    `tenant` is the request's own, read afresh.
    """
    version = supply_version(tenant)

    def read() -> AppointmentType | None:
        return AppointmentType.objects.bookable_online().select_related("category").filter(slug=slug).first()

    appointment_type = (
        read()
        if version is None
        else read_through(
            f"bookable-type:{tenant.pk}:{version}:{slug}", read, settings.SUPPLY_CACHE_SECONDS, what="type"
        )
    )
    if appointment_type is None:
        return None
    appointment_type.tenant = tenant
    return appointment_type


@dataclass(frozen=True)
class DayBases:
    """Where an officer's working day starts and ends (None when nobody has said)."""

    start: Place | None
    end: Place | None


def officer_day_bases(
    officer_ids: Collection[int], first: date, last: date
) -> dict[tuple[int, date], DayBases]:
    """Each officer's start and end places for every day from `first` to `last` that a working pattern
    covers: the pattern's own start/end points, else the officer's home base. Two queries."""
    officers = {
        officer.pk: officer
        for officer in Officer.objects.filter(pk__in=officer_ids).only(
            "pk", "home_base", "home_latitude", "home_longitude"
        )
    }
    patterns = WorkingPattern.objects.filter(officer_id__in=officers).effective_between(first, last)
    found: dict[tuple[int, date], DayBases] = {}
    for pattern in patterns:
        officer = officers[pattern.officer_id]
        home = (
            Place(officer.home_base, Point(float(officer.home_latitude), float(officer.home_longitude)))
            if officer.home_latitude is not None and officer.home_longitude is not None
            else None
        )
        start = _place(pattern.start_label, pattern.start_latitude, pattern.start_longitude) or home
        end = _place(pattern.end_label, pattern.end_latitude, pattern.end_longitude) or start
        day = max(first, pattern.valid_from)
        until = min(last, pattern.valid_until or last)
        while day <= until:
            found[(pattern.officer_id, day)] = DayBases(start=start, end=end)
            day += timedelta(days=1)
    return found


def _place(label: str, latitude: float | None, longitude: float | None) -> Place | None:
    if latitude is None or longitude is None:
        return None
    return Place(label, Point(latitude, longitude))
