"""Backstops for services: objects combined in one write all belong to the active tenant."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django_scopes import get_scope


class TenantMismatch(PermissionDenied):
    """A service was handed objects of another tenant (views' access helpers should have answered 404)."""


def same_tenant_check(*objects: object) -> None:
    """Refuses objects whose tenant differs from each other's or from the active scope's tenant.

    Objects without a tenant (None, plain values) are ignored; a Tenant counts as its own tenant.
    """
    active = get_scope().get("tenant")
    active_id = getattr(active, "pk", None)
    seen: set[int] = {active_id} if active_id is not None else set()
    for obj in objects:
        if obj is None:
            continue
        tenant_id = obj.pk if obj.__class__.__name__ == "Tenant" else getattr(obj, "tenant_id", None)
        if tenant_id is not None:
            seen.add(tenant_id)
    if len(seen) > 1:
        raise TenantMismatch("Objects of different tenants cannot be combined.")
