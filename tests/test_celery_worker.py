"""A real Celery worker process, a real Redis broker, and a tenant-scoped task round trip."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from unittest import mock

import pytest
from django.db import transaction

from accounts.models import Role
from accounts.tasking import enqueue_on_commit
from accounts.tasks import worker_probe
from benchmarks.workers import worker_start, worker_stop
from tests.factories import MembershipFactory, TenantFactory


@pytest.fixture
def worker_queue(transactional_db: None) -> Iterator[str]:
    queue = f"test-{uuid.uuid4().hex[:8]}"
    worker = worker_start(queue)
    try:
        yield queue
    finally:
        worker_stop(worker)


@pytest.mark.worker
def test_worker_runs_a_tenant_scoped_task(worker_queue: str) -> None:
    tenant = TenantFactory()
    other = TenantFactory()
    for role in [Role.ADMINISTRATOR, Role.OFFICER]:
        MembershipFactory(tenant=tenant, role=role)
    MembershipFactory(tenant=other)

    result = worker_probe.apply_async(kwargs={"tenant_id": tenant.pk}, queue=worker_queue).get(timeout=30)

    # Two members, not three: the worker counted inside this tenant's scope only.
    assert result == {"tenant": tenant.slug, "active_members": 2}


def test_tenant_task_refuses_to_run_without_a_tenant() -> None:
    with pytest.raises(TypeError, match="tenant_id"):
        worker_probe()


def test_tasks_are_sent_only_when_the_transaction_commits(
    db: None, django_capture_on_commit_callbacks
) -> None:
    with mock.patch.object(worker_probe, "apply_async") as send:
        with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
            enqueue_on_commit(worker_probe, tenant_id=7)
        assert not send.called
        for callback in callbacks:
            callback()
    send.assert_called_once_with(kwargs={"tenant_id": 7})
