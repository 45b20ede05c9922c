"""Writes of the reporting app: it rewrites its own summaries and never writes bookings."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Tenant

from .models import DailySummary
from .selectors import DIMENSIONS, FIGURES, summary_rows_sql


@transaction.atomic
def daily_summaries_refresh(
    *, tenant: Tenant, first_day: date, last_day: date, now: datetime | None = None
) -> int:
    """Rewrites the tenant's DailySummary rows of local days first_day..last_day from the bookings as they
    are now (one DELETE and one INSERT ... SELECT ... GROUP BY, in one transaction), so readers see the old
    rows or the new, never a mix, and running it twice leaves the same rows. Returns the rows written.

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
        return cursor.rowcount


def daily_summaries_refresh_recent(*, tenant: Tenant, days: int, now: datetime | None = None) -> int:
    """Refreshes the tenant's last `days` local days and today, so late changes (outcomes recorded the
    next morning, late cancellations) reach the summaries."""
    today = (now or timezone.now()).astimezone(tenant.zone).date()
    return daily_summaries_refresh(
        tenant=tenant, first_day=today - timedelta(days=days), last_day=today, now=now
    )
