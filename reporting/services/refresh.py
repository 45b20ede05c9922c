"""One refresh of everything the dashboards read from summaries, for a range of a tenant's local days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Tenant

from .cancellations import daily_cancellation_summaries_refresh
from .capacity import daily_capacity_refresh
from .messages import daily_message_summaries_refresh
from .summaries import daily_summaries_refresh

# Offered time is rewritten this far ahead too: the forecast compares it with the demand to come.
CAPACITY_AHEAD_DAYS = 28


def reports_refresh(*, tenant: Tenant, first_day: date, last_day: date, now: datetime | None = None) -> int:
    """Rewrites the tenant's booking summaries (daily and weekly), officers' and resources' offered and
    booked time, cancellations by reason and messages by channel of first_day..last_day from the bookings,
    working patterns and message log as they are now. Each kind
    is rewritten in its own transaction; running it twice changes nothing. Returns the daily booking
    summary rows written."""
    written = daily_summaries_refresh(tenant=tenant, first_day=first_day, last_day=last_day, now=now)
    daily_capacity_refresh(tenant=tenant, first_day=first_day, last_day=last_day, now=now)
    daily_cancellation_summaries_refresh(tenant=tenant, first_day=first_day, last_day=last_day, now=now)
    daily_message_summaries_refresh(tenant=tenant, first_day=first_day, last_day=last_day, now=now)
    return written


def reports_refresh_recent(*, tenant: Tenant, days: int | None = None, now: datetime | None = None) -> int:
    """Refreshes the tenant's last `days` local days (default REPORT_REFRESH_DAYS) and today, so late
    changes (outcomes recorded the next morning, late cancellations) reach the summaries; and the offered
    time of the next CAPACITY_AHEAD_DAYS days."""
    days = settings.REPORT_REFRESH_DAYS if days is None else days
    today = (now or timezone.now()).astimezone(tenant.zone).date()
    written = reports_refresh(tenant=tenant, first_day=today - timedelta(days=days), last_day=today, now=now)
    daily_capacity_refresh(
        tenant=tenant,
        first_day=today + timedelta(days=1),
        last_day=today + timedelta(days=CAPACITY_AHEAD_DAYS),
    )
    return written
