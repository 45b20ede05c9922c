"""What scheduling does when tenancy tells it something happened."""

from __future__ import annotations

from typing import Any

from django.db import models

from accounts.models import Officer, OfficerSkill, Skill, Tenant

from .models import (
    Absence,
    AppointmentType,
    Category,
    ExternalBusy,
    Holiday,
    Resource,
    ResourceRequirement,
    ServiceBlock,
    ServiceBlockAppointmentType,
    ServiceBlockOfficer,
    StaffingRequirement,
    WorkingInterval,
    WorkingPattern,
)
from .services import categories_create_defaults, supply_version_bump

# Everything open time is computed from (scheduling.availability.supply), and what is cached with it (the
# bookable type and its category: scheduling.selectors).
SUPPLY_MODELS: list[type[models.Model]] = [
    AppointmentType,
    Category,
    StaffingRequirement,
    ResourceRequirement,
    Resource,
    WorkingPattern,
    WorkingInterval,
    Absence,
    Holiday,
    ServiceBlock,
    ServiceBlockAppointmentType,
    ServiceBlockOfficer,
    ExternalBusy,
    Officer,
    OfficerSkill,
    Skill,
]
SUPPLY_LINKS = [Officer.skills.through, ServiceBlock.appointment_types.through, ServiceBlock.officers.through]


def tenant_created_give_defaults(*, tenant: Tenant, **kwargs: Any) -> None:
    categories_create_defaults(tenant=tenant)


def supply_row_changed(*, instance: Any, **kwargs: Any) -> None:
    supply_version_bump(tenant_id=instance.tenant_id)


def supply_links_changed(*, instance: Any, action: str, **kwargs: Any) -> None:
    if action in ("post_add", "post_remove", "post_clear"):
        supply_version_bump(tenant_id=instance.tenant_id)


def tenant_saved(*, instance: Tenant, created: bool, **kwargs: Any) -> None:
    if not created:  # its time zone decides every local day
        supply_version_bump(tenant_id=instance.pk)
