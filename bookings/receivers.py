"""Conflict detection for changes made in lower layers (scheduling absences, accounts officers).

Connected in `BookingsConfig.ready`, so whoever saves (the admin, a view, an import) the broken bookings
reach the conflict queue in the same transaction as the save.
"""

from __future__ import annotations

from typing import Any

from django_scopes import scope

from accounts.models import Officer
from scheduling.models import Absence

from .services.conflicts import conflicts_detect_absence, conflicts_detect_officer_left


def absence_saved(sender: type[Absence], instance: Absence, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.officer_id is None:
        return
    with scope(tenant=instance.tenant_id):
        conflicts_detect_absence(
            officer_id=instance.officer_id,
            starts_at=instance.starts_at,
            ends_at=instance.ends_at,
            detail=f"{instance.get_kind_display()}: {instance.note}".strip(": ")[:300],
        )


def officer_saved(sender: type[Officer], instance: Officer, raw: bool = False, **kwargs: Any) -> None:
    if raw or instance.is_active:
        return
    with scope(tenant=instance.tenant_id):
        conflicts_detect_officer_left(officer_id=instance.pk)
