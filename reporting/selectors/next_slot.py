"""How far ahead each type's first free slot is, today and day by day (from the hourly measurements)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from accounts.models import Tenant
from scheduling.models import AppointmentType, Category

from ..models import NextSlotSnapshot
from ..tables import Column, Table
from .bookings_sql import (
    fetch_rows,
    local_today,
    quote,
)
from .filters import ReportFilters


def _local_minute(tenant: Tenant, moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(tenant.zone).strftime("%Y-%m-%d %H:%M")


def next_slot_tables(
    *, tenant: Tenant, filters: ReportFilters, now: datetime | None = None
) -> dict[str, Table]:
    """How far ahead the first free slot of each online-bookable type is: "next-slot-today", the latest
    measurement of each type, and "next-slot-trend", a row per day of the period up to today with a column
    per type (the day's measurement; none when not measured). Two queries."""
    today = local_today(tenant, now)
    type_table, category_table = quote(AppointmentType._meta.db_table), quote(Category._meta.db_table)
    conditions, params = ["k.is_active", "k.online_bookable"], []
    if filters.appointment_type is not None:
        conditions.append("k.id = %s")
        params.append(filters.appointment_type.pk)
    if filters.category is not None:
        conditions.append("k.category_id = %s")
        params.append(filters.category.pk)
    where = "".join(" AND " + c for c in conditions)
    latest = fetch_rows(
        f"""
        SELECT DISTINCT ON (n.appointment_type_id) k.name, g.name, n.days_to_next, n.next_start, n.measured_at
        FROM {quote(NextSlotSnapshot._meta.db_table)} n
        JOIN {type_table} k ON k.id = n.appointment_type_id
        JOIN {category_table} g ON g.id = k.category_id
        WHERE n.tenant_id = %s AND n.day <= %s {where}
        ORDER BY n.appointment_type_id, n.day DESC, n.measured_at DESC
        """,
        [tenant.pk, today, *params],
    )
    latest.sort(key=lambda row: (row[0], row[1]))
    trend_last = min(filters.last_day, today)
    measured = fetch_rows(
        f"""
        SELECT n.day, n.appointment_type_id, k.name, n.days_to_next
        FROM {quote(NextSlotSnapshot._meta.db_table)} n
        JOIN {type_table} k ON k.id = n.appointment_type_id
        WHERE n.tenant_id = %s AND n.day >= %s AND n.day <= %s {where}
        ORDER BY k.name, n.appointment_type_id
        """,
        [tenant.pk, filters.first_day, trend_last, *params],
    )
    type_names = {type_id: name for _day, type_id, name, _days in measured}
    by_day = {(day, type_id): days for day, type_id, _name, days in measured}
    days = [filters.first_day + timedelta(days=n) for n in range((trend_last - filters.first_day).days + 1)]
    trend_rows = (
        [(day, *(by_day.get((day, type_id)) for type_id in type_names)) for day in days] if measured else []
    )
    not_applied = _("The team, officer and channel filters do not apply.")
    return {
        "next-slot-today": Table(
            slug="next-slot-today",
            title=_("Days to the next free slot"),
            columns=(
                Column("appointment_type", _("Appointment type")),
                Column("category", _("Category")),
                Column("days_to_next", _("Days to the next free slot"), "days"),
                Column("next_start", _("First free slot")),
                Column("measured_at", _("Measured at")),
            ),
            rows=[
                (
                    name,
                    category,
                    days_to_next,
                    _local_minute(tenant, next_start),
                    _local_minute(tenant, measured_at),
                )
                for name, category, days_to_next, next_start, measured_at in latest
            ],
            note=_(
                "The first slot the public could book, as last measured (hourly); blank when none was free "
                "within the booking horizon. Online-bookable types only. %(not_applied)s"
            )
            % {"not_applied": not_applied},
        ),
        "next-slot-trend": Table(
            slug="next-slot-trend",
            title=_("Days to the next free slot, day by day"),
            columns=(
                Column("day", _("Day"), "date"),
                *(Column(f"type-{type_id}", name, "days") for type_id, name in type_names.items()),
            ),
            rows=trend_rows,
            note=_(
                "Each day's last measurement of the days to the first free slot, per type; blank when not "
                "measured or none was free. %(not_applied)s"
            )
            % {"not_applied": not_applied},
        ),
    }
