"""The Celery app, and the base task every tenant-owned task uses.

Tasks take ids, never objects; a tenant task takes `tenant_id` and runs inside that tenant's scope, so the
same scoped managers protect workers as protect web requests.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from celery import Celery, Task

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("bookings")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


class TenantTask(Task):
    """Re-enters the tenant scope named by the `tenant_id` keyword argument before running."""

    abstract = True

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from django.utils import timezone
        from django_scopes import scope

        from accounts.models import Tenant

        tenant_id = kwargs.get("tenant_id")
        if tenant_id is None:
            raise TypeError(f"{self.name} needs tenant_id=")
        tenant = Tenant.objects.get(pk=tenant_id)
        with scope(tenant=tenant), timezone.override(tenant.zone):
            return super().__call__(*args, **kwargs)


def enqueue_on_commit(task: Callable[..., Any], **kwargs: Any) -> None:
    """Send the task only once the surrounding transaction commits, so a worker never sees missing rows."""
    from django.db import transaction

    transaction.on_commit(lambda: task.apply_async(kwargs=kwargs))  # type: ignore[attr-defined]
