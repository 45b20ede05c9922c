"""Rewrites the daily message summaries from the message log."""

from __future__ import annotations

from datetime import date, datetime

from django.db import connection, transaction

from accounts.models import Tenant

from ..models import DailyMessageSummary
from ..selectors.quality import MESSAGE_FIGURES, message_figures_sql


@transaction.atomic
def daily_message_summaries_refresh(
    *, tenant: Tenant, first_day: date, last_day: date, now: datetime | None = None
) -> int:
    """Rewrites the tenant's DailyMessageSummary rows of local days first_day..last_day from the messages
    as they are now (one DELETE and one INSERT ... SELECT ... GROUP BY) in one transaction: readers see the
    old rows or the new, and running it twice leaves the same rows. Returns the rows written.

    A message counts on the local day it was queued, in its current state, so a refresh of recent days
    picks up deliveries and failures reported since.
    """
    del now  # the messages' present state is what is summarised, whenever the refresh runs
    if last_day < first_day:
        return 0
    table = connection.ops.quote_name(DailyMessageSummary._meta.db_table)
    select_sql, params = message_figures_sql(tenant=tenant, first_day=first_day, last_day=last_day)
    columns = ", ".join(("tenant_id", "day", "channel", *MESSAGE_FIGURES))
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
