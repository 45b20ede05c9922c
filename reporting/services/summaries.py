"""Writes of the reporting app: it rewrites its own summaries and never writes bookings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection, transaction

from accounts.models import Tenant

from ..models import DailySummary, WeeklyOfficerSummary, WeeklySummary, WeeklyTypeSummary
from ..selectors import DIMENSIONS, FIGURES, summary_rows_sql

# The weekly summaries rebuilt from the daily rows of the weeks a refresh touches, and their dimensions.
WEEKLY_ROLLUPS = (
    (WeeklySummary, "appointment_type_id, officer_id, channel"),
    (WeeklyTypeSummary, "appointment_type_id, channel"),
    (WeeklyOfficerSummary, "officer_id"),
)


@transaction.atomic
def daily_summaries_refresh(
    *, tenant: Tenant, first_day: date, last_day: date, now: datetime | None = None
) -> int:
    """Rewrites the tenant's DailySummary rows of local days first_day..last_day from the bookings as they
    are now (one DELETE and one INSERT ... SELECT ... GROUP BY), then the weekly summaries of the weeks
    those days fall in from the daily rows, all in one transaction: readers see the old rows or the new,
    never a mix, and running it twice leaves the same rows. Returns the daily rows written.

    `now` is accepted for the task's sake and for symmetry with other services; a day is summarised as
    its bookings stand, whenever the refresh runs.
    """
    del now  # a refresh summarises the present state; it needs no clock
    if last_day < first_day:
        return 0
    table = connection.ops.quote_name(DailySummary._meta.db_table)
    select_sql, params = summary_rows_sql(tenant=tenant, first_day=first_day, last_day=last_day)
    columns = ", ".join(("tenant_id", *DIMENSIONS, *FIGURES))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {table} WHERE tenant_id = %s AND day >= %s AND day <= %s",
            [tenant.pk, first_day, last_day],
        )
        cursor.execute(
            f"INSERT INTO {table} ({columns}) SELECT %s, rows.* FROM ({select_sql}) rows",
            [tenant.pk, *params],
        )
        written = cursor.rowcount
        first_week = first_day - timedelta(days=first_day.weekday())
        last_week = last_day - timedelta(days=last_day.weekday())
        for model, keys in WEEKLY_ROLLUPS:
            weekly = connection.ops.quote_name(model._meta.db_table)
            cursor.execute(
                f"DELETE FROM {weekly} WHERE tenant_id = %s AND week >= %s AND week <= %s",
                [tenant.pk, first_week, last_week],
            )
            cursor.execute(
                f"""
                INSERT INTO {weekly} (tenant_id, week, {keys}, {", ".join(FIGURES)})
                SELECT tenant_id, date_trunc('week', day)::date, {keys},
                       {", ".join(f"sum({f})" for f in FIGURES)}
                FROM {table}
                WHERE tenant_id = %s AND day >= %s AND day <= %s
                GROUP BY tenant_id, date_trunc('week', day), {keys}
                """,
                [tenant.pk, first_week, last_week + timedelta(days=6)],
            )
        return written
