"""Reads of scheduling configuration that views share."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import RedisError

from accounts.models import Tenant

from .models import AppointmentType
from .services import supply_version

logger = logging.getLogger(__name__)


def bookable_type(*, tenant: Tenant, slug: str) -> AppointmentType | None:
    """The tenant's type bookable online by that slug (with its category), or None.

    Every portal page and hold starts here, so the type is cached under the tenant's supply version like
    its open time: editing a type or a category raises the version, and the next request reads it fresh.
    `tenant` is the request's own, read afresh.
    """
    version = supply_version(tenant)
    key = f"bookable-type:{tenant.pk}:{version}:{slug}"
    appointment_type = None
    if version is not None:
        try:
            appointment_type = cache.get(key)
        except RedisError:
            logger.warning("type cache unreachable: reading the type afresh", exc_info=True)
            version = None
    if appointment_type is None:
        appointment_type = (
            AppointmentType.objects.bookable_online().select_related("category").filter(slug=slug).first()
        )
        if appointment_type is None:
            return None
        if version is not None:
            try:
                cache.set(key, appointment_type, settings.SUPPLY_CACHE_SECONDS)
            except RedisError:
                logger.warning("type cache unreachable: type not kept", exc_info=True)
    appointment_type.tenant = tenant
    return appointment_type
