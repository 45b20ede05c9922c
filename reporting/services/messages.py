"""Rewrites the daily message summaries from the message log."""

from __future__ import annotations

from datetime import date, datetime

from django.db import transaction

from accounts.models import Tenant

from ..models import DailyMessageSummary
from ..selectors.experience import MESSAGE_FIGURES, message_figures_sql
from .rewrite import rows_rewrite


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
    select_sql, params = message_figures_sql(tenant=tenant, first_day=first_day, last_day=last_day)
    return rows_rewrite(
        model=DailyMessageSummary,
        tenant=tenant,
        first=first_day,
        last=last_day,
        columns=("day", "channel", *MESSAGE_FIGURES),
        select_sql=select_sql,
        params=params,
    )
