"""Rewrites the daily cancellation summaries: cancelled appointments by day, type, channel and reason."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction

from accounts.models import Tenant

from ..models import DailyCancellationSummary
from ..selectors.summaries import cancellation_rows_sql
from .rewrite import rows_rewrite


@transaction.atomic
def daily_cancellation_summaries_refresh(
    *, tenant: Tenant, first_day: date, last_day: date, now: datetime | None = None
) -> int:
    """Rewrites the tenant's DailyCancellationSummary rows of first_day..last_day (one DELETE, one INSERT
    ... SELECT ... GROUP BY); running it twice leaves the same rows. Returns the rows written."""
    del now  # a cancellation counts on its appointment's day, as it stands
    if last_day < first_day:
        return 0
    select_sql, params = cancellation_rows_sql(tenant=tenant, first_day=first_day, last_day=last_day)
    return rows_rewrite(
        model=DailyCancellationSummary,
        tenant=tenant,
        first=first_day,
        last=last_day,
        columns=("day", "appointment_type_id", "channel", "reason", "cancelled"),
        select_sql=select_sql,
        params=params,
    )
