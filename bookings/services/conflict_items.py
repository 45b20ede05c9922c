"""Opening conflict-queue items: shared by the displacement service and the detection receivers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.utils import timezone

from bookings.models import Booking, ConflictItem


def conflicts_open(
    *,
    bookings: Iterable[Booking],
    cause: str,
    officer_id: int | None,
    detail: str = "",
    now: datetime | None = None,
) -> int:
    """Opens one item per booking that has none open; running it again opens nothing more."""
    now = now or timezone.now()
    items = [
        ConflictItem(
            tenant_id=booking.tenant_id,
            booking=booking,
            cause=cause,
            officer_id=officer_id,
            detail=detail[:300],
            detected_at=now,
        )
        for booking in bookings
    ]
    if not items:
        return 0
    already = set(
        ConflictItem.objects.open().filter(booking__in=[i.booking for i in items]).values_list("booking_id")
    )
    fresh = [i for i in items if (i.booking.pk,) not in already]
    # ON CONFLICT DO NOTHING: the partial unique index keeps one open item per booking under concurrency.
    ConflictItem.objects.bulk_create(fresh, ignore_conflicts=True)
    return len(fresh)
