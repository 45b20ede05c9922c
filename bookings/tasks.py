"""Thin Celery wrappers around booking services."""

from __future__ import annotations

from celery import shared_task

from accounts.models import Tenant
from accounts.tasking import TenantTask

from .models import AllocationPlan, PlanStatus
from .services import (
    allocation_plans,
    blocks,
    conflicts_flag_overdue,
    holds_expire,
    idempotency_keys_purge,
    series_roll_forward,
)


def _each_active_tenant(task: TenantTask) -> int:
    """Beat fans out one task per active tenant, so each runs inside its own tenant's scope."""
    tenant_ids = list(Tenant.objects.filter(is_active=True).values_list("pk", flat=True))
    for tenant_id in tenant_ids:
        task.apply_async(kwargs={"tenant_id": tenant_id})
    return len(tenant_ids)


@shared_task(name="bookings.expire_holds_everywhere")
def expire_holds_everywhere(**kwargs: object) -> int:
    return _each_active_tenant(expire_holds)


@shared_task(base=TenantTask, name="bookings.expire_holds")
def expire_holds(*, tenant_id: int, **kwargs: object) -> int:
    return holds_expire()


@shared_task(name="bookings.purge_idempotency_keys_everywhere")
def purge_idempotency_keys_everywhere(**kwargs: object) -> int:
    return _each_active_tenant(purge_idempotency_keys)


@shared_task(base=TenantTask, name="bookings.purge_idempotency_keys")
def purge_idempotency_keys(*, tenant_id: int, **kwargs: object) -> int:
    """Deletes the tenant's lapsed idempotency keys; running it twice deletes nothing more."""
    return idempotency_keys_purge()


@shared_task(name="bookings.flag_overdue_conflicts_everywhere")
def flag_overdue_conflicts_everywhere(**kwargs: object) -> int:
    return _each_active_tenant(flag_overdue_conflicts)


@shared_task(base=TenantTask, name="bookings.flag_overdue_conflicts")
def flag_overdue_conflicts(*, tenant_id: int, **kwargs: object) -> int:
    """Flags the tenant's conflict items open past CONFLICT_FLAG_AFTER_HOURS; a second run flags nothing."""
    return conflicts_flag_overdue()


@shared_task(name="bookings.series_materialise_all")
def series_materialise_all(**kwargs: object) -> int:
    return _each_active_tenant(series_materialise)


@shared_task(base=TenantTask, name="bookings.series_materialise")
def series_materialise(*, tenant_id: int, **kwargs: object) -> int:
    """Books the tenant's active series up to the rolling horizon; a second run books nothing more."""
    return series_roll_forward()


@shared_task(base=TenantTask, name="bookings.block_customers_tell")
def block_customers_tell(*, tenant_id: int, event_ids: list[int], **kwargs: object) -> int:
    """Tells the customers of a big block booking, a chunk at a time (enqueued when the block commits)."""
    return blocks.block_customers_tell(event_ids=event_ids)


@shared_task(base=TenantTask, name="bookings.allocation_plan_compute")
def allocation_plan_compute(*, tenant_id: int, plan_id: int, **kwargs: object) -> str:
    """Solves a plan a scheduler asked for (enqueued when the request commits); a plan no longer being
    planned (computed already, or gone) is left as it is."""
    plan = AllocationPlan.objects.filter(pk=plan_id, status=PlanStatus.PLANNING).first()
    if plan is None:
        return "skipped"
    return allocation_plans.plan_compute(plan=plan).status
