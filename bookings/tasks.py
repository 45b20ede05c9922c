"""Thin Celery wrappers around booking services."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Tenant
from accounts.tasking import TenantTask

from .services import holds_expire


@shared_task(name="bookings.expire_holds_everywhere")
def expire_holds_everywhere(**kwargs: object) -> int:
    """Beat fans out one task per active tenant, so each runs inside its own tenant's scope."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        expire_holds.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@shared_task(base=TenantTask, name="bookings.expire_holds")
def expire_holds(*, tenant_id: int, **kwargs: object) -> int:
    return holds_expire()
