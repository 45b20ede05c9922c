"""Booking an urgent appointment from the emergency screen, new customer and all, in one transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import Tenant, User
from bookings.models import Booking, Customer
from scheduling.models import AppointmentType

from .customers import customer_create
from .lifecycle import booking_create, booking_create_displacing


@transaction.atomic
def booking_create_emergency(
    *,
    tenant: Tenant,
    appointment_type: AppointmentType,
    starts_at: datetime,
    priority: int,
    customer: Customer | None,
    new_customer: dict[str, Any] | None,
    displace_booking_ids: Collection[int] = (),
    officer_ids: Collection[int] = (),
    reason: str = "",
    actor: User | None,
    now: datetime | None = None,
) -> Booking:
    """Books the urgent slot (displacing the named lower-priority bookings, which land in the conflict
    queue and whose customers are told); a new customer is created in the same transaction, so a slot
    lost meanwhile leaves no stray customer behind."""
    now = now or timezone.now()
    if customer is None:
        customer = customer_create(tenant=tenant, actor=actor, now=now, **(new_customer or {}))
    if displace_booking_ids:
        return booking_create_displacing(
            appointment_type=appointment_type,
            starts_at=starts_at,
            customer=customer,
            displace_booking_ids=displace_booking_ids,
            officer_ids=officer_ids,
            reason=reason,
            priority=priority,
            actor=actor,
            now=now,
        )
    return booking_create(
        appointment_type=appointment_type,
        starts_at=starts_at,
        customer=customer,
        priority=priority,
        actor=actor,
        now=now,
        apply_notice=False,
    )
