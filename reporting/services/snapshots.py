"""Measures how far ahead the first free slot of each publicly bookable type is."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django_scopes import scope

from accounts.models import Tenant
from bookings.availability import earliest_slot
from scheduling.models import AppointmentType

from ..models import NextSlotSnapshot


def next_slot_snapshots_take(*, tenant: Tenant, now: datetime | None = None) -> int:
    """Records, for each active type the public can book online, the first slot `earliest_slot` finds
    from `now` (none within the booking horizon: no slot) as the tenant's snapshot of the local day of
    `now`, replacing an earlier measurement of that day: the last measurement of a day stands, and taking
    it twice in one instant changes nothing. Returns the snapshots written.

    Not one transaction: each type's search is independent and may take a while; a failure part way leaves
    the types measured so far, and the next hourly run measures them all again.
    """
    now = now or timezone.now()
    today = now.astimezone(tenant.zone).date()
    written = 0
    with scope(tenant=tenant):
        types = list(AppointmentType.objects.bookable_online().select_related("tenant").order_by("pk"))
        for appointment_type in types:
            slot = earliest_slot(appointment_type, now=now)
            NextSlotSnapshot.objects.update_or_create(
                tenant=tenant,
                day=today,
                appointment_type=appointment_type,
                defaults={
                    "measured_at": now,
                    "next_start": slot.start if slot else None,
                    "days_to_next": (slot.start.astimezone(tenant.zone).date() - today).days
                    if slot
                    else None,
                },
            )
            written += 1
    return written
