"""Thin Celery wrappers for accounts."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Membership, Tenant
from accounts.tasking import TenantTask


@shared_task(base=TenantTask, name="accounts.worker_probe")
def worker_probe(*, tenant_id: int, **kwargs: object) -> dict[str, object]:
    """Proves a worker can reach the database inside a tenant's scope (used by `manage.py check_worker`)."""
    tenant = Tenant.objects.get(pk=tenant_id)
    return {"tenant": tenant.slug, "active_members": Membership.objects.filter(is_active=True).count()}
