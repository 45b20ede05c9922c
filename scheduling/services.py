"""Writes for scheduling configuration."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db import connection, transaction
from django_scopes import scope

from accounts.models import Officer, Tenant

from .models import Category, ExternalBusy

DEFAULT_CATEGORIES = [("Inspection", 10), ("Consultation", 20), ("Meeting", 30), ("Public service", 40)]


@transaction.atomic
def categories_create_defaults(*, tenant: Tenant) -> list[Category]:
    """Gives a tenant the four categories every organisation starts with, in their usual order.

    Safe to run again: a category that already exists by name is left exactly as the tenant has it (its
    position may have been changed). Returns the four categories, existing or new, in default order.
    """
    with scope(tenant=tenant):
        return [
            Category.objects.get_or_create(tenant=tenant, name=name, defaults={"position": position})[0]
            for name, position in DEFAULT_CATEGORIES
        ]


# Per process: the newest supply version each tenant's committed changes reached here.
_versions_committed: dict[int, int] = {}


def _changed_uncommitted() -> set[int]:
    """Per connection (so per thread): tenants changed inside the open transaction, whose new version no one
    else sees until it commits."""
    changed: set[int] | None = getattr(connection, "supply_changed", None)
    if changed is None:
        changed = connection.supply_changed = set()
    return changed


def supply_version_bump(*, tenant_id: int) -> None:
    """Marks a change to what the tenant's open time depends on (patterns, absences, holidays, service
    blocks, skills, officers, resources, appointment types, external busy time): the tenant's
    `supply_version` rises in the same transaction, so open time cached under the old version is never
    read again once the change commits. The receivers call it on every save, delete and link change;
    bulk writes (`bulk_create`, `QuerySet.update`) must call it themselves.

    Once per tenant and transaction: the version only has to differ once the transaction commits.
    """
    changed = _changed_uncommitted()
    if connection.in_atomic_block and tenant_id in changed:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Tenant._meta.db_table} SET supply_version = supply_version + 1 WHERE id = %s "
            "RETURNING supply_version",
            [tenant_id],
        )
        row = cursor.fetchone()
    if row is None:  # the tenant is being deleted
        return
    if connection.in_atomic_block:
        changed.add(tenant_id)
    transaction.on_commit(lambda: _committed(changed, tenant_id, row[0]))


def _committed(changed: set[int], tenant_id: int, version: int) -> None:
    changed.discard(tenant_id)
    _versions_committed[tenant_id] = max(version, _versions_committed.get(tenant_id, 0))


def supply_version(tenant: Tenant) -> int | None:
    """The version to key the tenant's cached open time by, or None when this connection's open transaction
    has changed it (read it fresh: what is cached is what others see, not this transaction).

    The tenant instance may be older than a change this process committed since it was read; versions only
    rise, so the newest of the two is current.
    """
    changed = _changed_uncommitted()
    if not connection.in_atomic_block:
        changed.clear()  # left by rolled-back transactions
    elif tenant.pk in changed:
        return None
    return max(tenant.supply_version, _versions_committed.get(tenant.pk, 0))


@transaction.atomic
def external_busy_replace(
    *, officer: Officer, source: str, intervals: Iterable[tuple[datetime, datetime, str]]
) -> bool:
    """Makes the officer's busy time from `source` (such as "caldav:12") exactly `intervals` (start, end,
    uid): rows no longer there are deleted, new ones added, unchanged ones left alone. Returns whether
    anything changed; only then does the tenant's supply version rise (bulk writes send no signals), so
    reading an unchanged calendar every few minutes keeps cached open time.
    """
    wanted = {(start, end, uid[:255]) for start, end, uid in intervals if end > start}
    rows = ExternalBusy.objects.filter(officer=officer, source=source)
    held: dict[tuple[datetime, datetime, str], int] = {}
    gone = []
    for row in rows:
        key = (row.starts_at, row.ends_at, row.uid)
        if key in wanted and key not in held:
            held[key] = row.pk
        else:
            gone.append(row.pk)
    new = [key for key in wanted if key not in held]
    if not gone and not new:
        return False
    ExternalBusy.objects.filter(pk__in=gone).delete()
    ExternalBusy.objects.bulk_create(
        [
            ExternalBusy(
                tenant_id=officer.tenant_id,
                officer=officer,
                starts_at=start,
                ends_at=end,
                source=source,
                uid=uid,
            )
            for start, end, uid in sorted(new)
        ]
    )
    supply_version_bump(tenant_id=officer.tenant_id)
    return True
