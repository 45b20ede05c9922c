"""What scheduling does when tenancy tells it something happened."""

from __future__ import annotations

from typing import Any

from accounts.models import Tenant

from .services import categories_create_defaults


def tenant_created_give_defaults(*, tenant: Tenant, **kwargs: Any) -> None:
    categories_create_defaults(tenant=tenant)
