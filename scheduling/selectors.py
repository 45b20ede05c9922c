"""Reads of scheduling configuration that views share."""

from __future__ import annotations

from django.conf import settings

from accounts.models import Tenant
from config.cache import read_through

from .models import AppointmentType
from .services import supply_version


def bookable_type(*, tenant: Tenant, slug: str) -> AppointmentType | None:
    """The tenant's type bookable online by that slug (with its category), or None.

    Every portal page and hold starts here, so the type is cached under the tenant's supply version like
    its open time: editing a type or a category raises the version, and the next request reads it fresh.
    `tenant` is the request's own, read afresh.
    """
    version = supply_version(tenant)

    def read() -> AppointmentType | None:
        return AppointmentType.objects.bookable_online().select_related("category").filter(slug=slug).first()

    appointment_type = (
        read()
        if version is None
        else read_through(
            f"bookable-type:{tenant.pk}:{version}:{slug}", read, settings.SUPPLY_CACHE_SECONDS, what="type"
        )
    )
    if appointment_type is None:
        return None
    appointment_type.tenant = tenant
    return appointment_type
