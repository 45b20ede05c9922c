"""Builders for scheduling scenarios: an officer with working hours, an appointment type, a customer.

Plain functions rather than factories because each scenario states its hours and rules explicitly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from django_scopes import scope

from accounts.models import Officer, Skill, Tenant
from bookings.models import Customer
from scheduling.models import (
    AppointmentType,
    Category,
    LocationMode,
    Resource,
    ResourceKind,
    WorkingInterval,
    WorkingPattern,
)
from tests.factories import OfficerFactory

# A winter week (London = UTC) well in the future, and "now" a week before it.
MONDAY = date(2027, 3, 1)
NOW = datetime(2027, 2, 22, 9, 0, tzinfo=UTC)
WEEKDAYS = range(5)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """A UTC instant (in winter, London wall-clock time too)."""
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def working_pattern(
    tenant: Tenant,
    *,
    officer: Officer | None = None,
    resource: Resource | None = None,
    days: range | list[int] = WEEKDAYS,
    spans: list[tuple[time, time]] | None = None,
    valid_from: date = date(2026, 1, 1),
    valid_until: date | None = None,
) -> WorkingPattern:
    with scope(tenant=tenant):
        pattern = WorkingPattern.objects.create(
            tenant=tenant, officer=officer, resource=resource, valid_from=valid_from, valid_until=valid_until
        )
        for weekday in days:
            for start, end in spans or [(time(9), time(17))]:
                WorkingInterval.objects.create(
                    tenant=tenant, pattern=pattern, weekday=weekday, start=start, end=end
                )
    return pattern


def officer(tenant: Tenant, *, skills: list[Skill] = (), **hours: Any) -> Officer:
    made = OfficerFactory(tenant=tenant, skills=list(skills))
    working_pattern(tenant, officer=made, **hours)
    return made


def resource(tenant: Tenant, *, kind: str = ResourceKind.ROOM, **hours: Any) -> Resource:
    with scope(tenant=tenant):
        made = Resource.objects.create(tenant=tenant, name=f"Room {Resource.objects.count() + 1}", kind=kind)
    working_pattern(tenant, resource=made, **hours)
    return made


def appointment_type(tenant: Tenant, **overrides: Any) -> AppointmentType:
    with scope(tenant=tenant):
        category = Category.objects.filter(name="Inspection").first() or Category.objects.create(
            tenant=tenant, name="Inspection"
        )
        fields = {
            "name": "Food hygiene inspection",
            "slug": f"type-{AppointmentType.objects.count() + 1}",
            "category": category,
            "duration_minutes": 60,
            "granularity_minutes": 30,
            "min_notice_minutes": 0,
            "horizon_days": 365,
            "location_mode": LocationMode.CUSTOMER_ADDRESS,
            **overrides,
        }
        made = AppointmentType(tenant=tenant, **fields)
        made.full_clean()
        made.save()
    return AppointmentType.objects.with_scope(tenant=tenant).select_related("tenant").get(pk=made.pk)


def customer(tenant: Tenant, n: int = 1) -> Customer:
    with scope(tenant=tenant):
        return Customer.objects.create(
            tenant=tenant, full_name=f"Customer {n}", email=f"customer{n}@example.org"
        )
