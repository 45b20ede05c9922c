"""Rewrites the report summaries of the last N days (and today) for one tenant or every active one.

    manage.py refresh_reports [--days 400] [--tenant northshire]

The nightly beat task does the same for REPORT_REFRESH_DAYS days; this is for a first load, after an
import of history, or after a change to how a figure is counted.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from reporting.services import reports_refresh_recent

MAX_DAYS = 3660


class Command(BaseCommand):
    help = "Rewrites the report summaries of the last --days days and today (JSON-free; one line per tenant)."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--days", type=int, default=settings.REPORT_REFRESH_DAYS)
        parser.add_argument("--tenant", help="a tenant's slug (default: every active tenant)")

    def handle(self, *args: Any, days: int, tenant: str | None = None, **options: Any) -> None:
        if not 0 <= days <= MAX_DAYS:
            raise CommandError(f"Give --days from 0 to {MAX_DAYS}.")
        with scopes_disabled():
            tenants = Tenant.objects.filter(is_active=True).order_by("slug")
            if tenant:
                tenants = tenants.filter(slug=tenant)
            tenants = list(tenants)
        if tenant and not tenants:
            raise CommandError(f"No active tenant {tenant!r}.")
        for each in tenants:
            with scope(tenant=each):
                reports_refresh_recent(tenant=each, days=days)
            self.stdout.write(f"{each.slug}: refreshed the last {days} days")
