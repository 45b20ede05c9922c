"""One refresh of everything the dashboards read from summaries, for a range of a tenant's local days."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.conf import settings
from django.utils import timezone

from accounts.models import Tenant

from .summaries import daily_summaries_refresh


def reports_refresh(*, tenant: Tenant, first_day: date, last_day: date, now: datetime | None = None) -> int:
    """Rewrites the tenant's booking summaries (daily and weekly) of first_day..last_day from the bookings
    as they are now. Each summary is rewritten in its own transaction; running it twice changes nothing.
    Returns the daily booking summary rows written."""
    return daily_summaries_refresh(tenant=tenant, first_day=first_day, last_day=last_day, now=now)


def reports_refresh_recent(*, tenant: Tenant, days: int | None = None, now: datetime | None = None) -> int:
    """Refreshes the tenant's last `days` local days (default REPORT_REFRESH_DAYS) and today, so late
    changes (outcomes recorded the next morning, late cancellations) reach the summaries."""
    days = settings.REPORT_REFRESH_DAYS if days is None else days
    today = (now or timezone.now()).astimezone(tenant.zone).date()
    return reports_refresh(tenant=tenant, first_day=today - timedelta(days=days), last_day=today, now=now)
