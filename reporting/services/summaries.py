"""Writes of the reporting app: it rewrites its own summaries and never writes bookings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection, transaction

from accounts.models import Tenant

from ..models import DailySummary, WeeklyOfficerSummary, WeeklySummary, WeeklyTypeSummary
from ..selectors import DIMENSIONS, FIGURES, summary_rows_sql
from .rewrite import rows_rewrite

# The weekly summaries rebuilt from the daily rows of the weeks a refresh touches, and their dimensions.
WEEKLY_ROLLUPS = (
    (WeeklySummary, ("appointment_type_id", "officer_id", "channel")),
    (WeeklyTypeSummary, ("appointment_type_id", "channel")),
    (WeeklyOfficerSummary, ("officer_id",)),
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
    select_sql, params = summary_rows_sql(tenant=tenant, first_day=first_day, last_day=last_day)
    written = rows_rewrite(
        model=DailySummary,
        tenant=tenant,
        first=first_day,
        last=last_day,
        columns=(*DIMENSIONS, *FIGURES),
        select_sql=select_sql,
        params=params,
    )
    first_week = first_day - timedelta(days=first_day.weekday())
    last_week = last_day - timedelta(days=last_day.weekday())
    daily = connection.ops.quote_name(DailySummary._meta.db_table)
    for model, keys in WEEKLY_ROLLUPS:
        rows_rewrite(
            model=model,
            tenant=tenant,
            first=first_week,
            last=last_week,
            columns=("week", *keys, *FIGURES),
            select_sql=f"""
                SELECT date_trunc('week', day)::date, {", ".join(keys)},
                       {", ".join(f"sum({f})" for f in FIGURES)}
                FROM {daily}
                WHERE tenant_id = %s AND day >= %s AND day <= %s
                GROUP BY date_trunc('week', day), {", ".join(keys)}
            """,
            params=[tenant.pk, first_week, last_week + timedelta(days=6)],
            period="week",
        )
    return written
