"""What the reads beyond the booking summaries share: the period as instants, the filters applied to
bookings (a booking's officer is its lead officer, as in the summaries), and small formatting helpers."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection
from django.utils import timezone

from accounts.models import Officer, Tenant
from bookings.models import (
    BookingAssignment,
)
from scheduling.models import AppointmentType

from .filters import ReportFilters
from .summaries import lead_officer_join, local_midnight

WHITESPACE = " \t\r\n\f\v"


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def local_today(tenant: Tenant, now: datetime | None) -> date:
    return (now or timezone.now()).astimezone(tenant.zone).date()


def period_bounds(tenant: Tenant, filters: ReportFilters) -> tuple[datetime, datetime]:
    """The period as [start, end) instants: from local midnight of its first day to that after its last."""
    end_day = max(filters.first_day, filters.last_day + timedelta(days=1))
    return local_midnight(tenant, filters.first_day), local_midnight(tenant, end_day)


def booking_filter_sql(
    filters: ReportFilters, *, booking: str = "b", also_officer: str | None = None
) -> tuple[str, list[str], list[Any]]:
    """Joins, conditions and parameters that apply the filters to the bookings aliased `booking`.

    Joins are added only for the filters given, so an unfiltered read touches no assignment. With
    `also_officer` (a column naming another officer), the officer and team filters match either it or the
    booking's lead officer.
    """
    joins: list[str] = []
    conditions: list[str] = []
    params: list[Any] = []
    officer_table = quote(Officer._meta.db_table)
    if filters.officer is not None or filters.team is not None:
        joins.append(lead_officer_join(booking))
    if filters.officer is not None:
        if also_officer:
            conditions.append(f"(lead.officer_id = %s OR {also_officer} = %s)")
            params += [filters.officer.pk, filters.officer.pk]
        else:
            conditions.append("lead.officer_id = %s")
            params.append(filters.officer.pk)
    if filters.team is not None:
        joins.append(f"LEFT JOIN {officer_table} lead_o ON lead_o.id = lead.officer_id")
        if also_officer:
            joins.append(f"LEFT JOIN {officer_table} also_o ON also_o.id = {also_officer}")
            conditions.append("(lead_o.team_id = %s OR also_o.team_id = %s)")
            params += [filters.team.pk, filters.team.pk]
        else:
            conditions.append("lead_o.team_id = %s")
            params.append(filters.team.pk)
    if also_officer is None and (filters.officer is not None or filters.team is not None):
        # A lead officer is one of the booking's officers: reading only the bookings of the wanted officers
        # first spares the lead-officer lookup of every other booking (twice as fast over a year).
        assignment_table = quote(BookingAssignment._meta.db_table)
        if filters.officer is not None:
            conditions.append(
                f"{booking}.id IN (SELECT pa.booking_id FROM {assignment_table} pa WHERE pa.officer_id = %s)"
            )
            params.append(filters.officer.pk)
        else:
            conditions.append(
                f"{booking}.id IN (SELECT pa.booking_id FROM {assignment_table} pa "
                f"JOIN {officer_table} po ON po.id = pa.officer_id WHERE po.team_id = %s)"
            )
            params.append(filters.team.pk)
    if filters.appointment_type is not None:
        conditions.append(f"{booking}.appointment_type_id = %s")
        params.append(filters.appointment_type.pk)
    if filters.category is not None:
        joins.append(
            f"JOIN {quote(AppointmentType._meta.db_table)} fk ON fk.id = {booking}.appointment_type_id"
        )
        conditions.append("fk.category_id = %s")
        params.append(filters.category.pk)
    if filters.channel is not None:
        conditions.append(f"{booking}.channel = %s")
        params.append(filters.channel)
    return "\n".join(joins), conditions, params


def fetch_rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def share_of(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def hours_of(value: Any) -> float | None:
    return None if value is None else round(float(value), 2)
