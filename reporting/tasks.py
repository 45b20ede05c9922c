"""Thin Celery wrappers around reporting services."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from accounts.models import Tenant
from accounts.tasking import TenantTask

from .services import reports_refresh_recent


@shared_task(name="reporting.refresh_daily_summaries_everywhere")
def refresh_daily_summaries_everywhere(**kwargs: object) -> int:
    """Beat fans out one refresh per active tenant, each inside its own tenant's scope."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        refresh_daily_summaries.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@shared_task(base=TenantTask, name="reporting.refresh_daily_summaries")
def refresh_daily_summaries(*, tenant_id: int, **kwargs: object) -> int:
    """Rewrites the tenant's report summaries of today and the last REPORT_REFRESH_DAYS days; running it
    twice leaves the same rows."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return reports_refresh_recent(tenant=tenant, days=settings.REPORT_REFRESH_DAYS)
