"""Thin Celery wrappers around reporting services."""

from __future__ import annotations

from datetime import date

from celery import shared_task
from django.conf import settings

from accounts.models import Tenant
from accounts.tasking import TenantTask

from .services import reports_refresh, reports_refresh_recent
from .services.snapshots import next_slot_snapshots_take


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


@shared_task(base=TenantTask, name="reporting.refresh_report_period")
def refresh_report_period(*, tenant_id: int, first_day: str, last_day: str, **kwargs: object) -> int:
    """Rewrites the tenant's report summaries of first_day..last_day (ISO dates), on a manager's request."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return reports_refresh(
        tenant=tenant, first_day=date.fromisoformat(first_day), last_day=date.fromisoformat(last_day)
    )


@shared_task(name="reporting.take_next_slot_snapshots_everywhere")
def take_next_slot_snapshots_everywhere(**kwargs: object) -> int:
    """Beat fans out one measurement of the next free slots per active tenant."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        take_next_slot_snapshots.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@shared_task(base=TenantTask, name="reporting.take_next_slot_snapshots")
def take_next_slot_snapshots(*, tenant_id: int, **kwargs: object) -> int:
    """Measures the tenant's next free slot per bookable type now; the last measurement of a day stands."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return next_slot_snapshots_take(tenant=tenant)
