"""The base task every tenant-owned task uses, and sending tasks only after a commit.

Tasks take ids, never objects; a tenant task takes `tenant_id` and runs inside that tenant's scope, so the
same scoped managers protect workers as protect web requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import Task
from django.db import transaction
from django.utils import timezone
from django_scopes import scope

from .models import Tenant


class TenantTask(Task):
    """Re-enters the tenant scope named by the `tenant_id` keyword argument before running."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        tenant_id = kwargs.get("tenant_id")
        if tenant_id is None:
            raise TypeError(f"{self.name} needs tenant_id=")
        tenant = Tenant.objects.get(pk=tenant_id)
        with scope(tenant=tenant), timezone.override(tenant.zone):
            return super().__call__(*args, **kwargs)


def enqueue_on_commit(task: Callable[..., Any], **kwargs: Any) -> None:
    """Send the task only once the surrounding transaction commits, so a worker never sees missing rows."""
    transaction.on_commit(lambda: task.apply_async(kwargs=kwargs))  # type: ignore[attr-defined]
