"""The conflict queue: opening items for bookings something broke, settling them, flagging old ones.

Absence and officer changes are detected by receivers (`bookings.receivers`) in the transaction of the
save, whoever saves (admin, views, imports); displacement opens its items inside `bookings_displace`.
Bookings broken by an absence or a departing officer stay CONFIRMED (the customer still expects them and
the slot stays held) until staff accept a remedy; displaced bookings are already NEEDS_REBOOKING.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, User
from accounts.tenancy import same_tenant_check
from bookings.errors import BookingError
from bookings.models import Booking, BookingStatus, ConflictCause, ConflictItem

from .conflict_items import conflicts_open
from .lifecycle import booking_reschedule
from .reassign import booking_reassign, officer_matters_to_customer


def _confirmed_of(officer_id: int) -> object:
    return (
        Booking.objects.filter(
            status=BookingStatus.CONFIRMED,
            assignments__officer_id=officer_id,
            assignments__is_active=True,
        )
        .distinct()
        .order_by("starts_at")
    )


@transaction.atomic
def conflicts_detect_absence(
    *, officer_id: int, starts_at: datetime, ends_at: datetime, detail: str = "", now: datetime | None = None
) -> int:
    """Queues the officer's confirmed appointments that the absence overlaps."""
    broken = list(_confirmed_of(officer_id).filter(starts_at__lt=ends_at, ends_at__gt=starts_at))
    return conflicts_open(
        bookings=broken, cause=ConflictCause.ABSENCE, officer_id=officer_id, detail=detail, now=now
    )


@transaction.atomic
def conflicts_detect_officer_left(*, officer_id: int, now: datetime | None = None) -> int:
    """Queues the future confirmed appointments of an officer who is no longer active."""
    now = now or timezone.now()
    broken = list(_confirmed_of(officer_id).filter(starts_at__gte=now))
    return conflicts_open(
        bookings=broken,
        cause=ConflictCause.OFFICER_LEFT,
        officer_id=officer_id,
        detail=_("The officer is no longer active."),
        now=now,
    )


class ConflictClosed(BookingError):
    """Someone settled this item already."""


@transaction.atomic
def conflict_resolve(
    *,
    item: ConflictItem,
    actor: User | None,
    to_officer: Officer | None = None,
    starts_at: datetime | None = None,
    note: str = "",
    now: datetime | None = None,
) -> ConflictItem:
    """Accepts one remedy for an open item: another officer at the same time, or a new time.

    The remedy goes through `booking_reassign` or `booking_reschedule` (audited; a lost race raises and
    the whole transaction, item included, is undone). The customer is told by those services: of a new
    time always (RESCHEDULED), of a new officer only where the officer matters to them, except that a
    displaced booking given back its time is told (RESCHEDULED) since it was told it needed a new one.
    """
    now = now or timezone.now()
    same_tenant_check(item, *([to_officer] if to_officer else []))
    item = (
        ConflictItem.objects.select_for_update()
        .select_related("booking__appointment_type__tenant")
        .get(pk=item.pk)
    )
    if item.resolved_at is not None:
        raise ConflictClosed(_("This conflict was settled already."))
    booking = item.booking
    if (to_officer is None) == (starts_at is None):
        raise BookingError(_("Choose one remedy."))
    if to_officer is not None and booking.status == BookingStatus.CONFIRMED:
        from_officer = Officer.objects.filter(pk=item.officer_id).first() if item.officer_id else None
        booking_reassign(
            booking=booking,
            to_officer=to_officer,
            from_officer=from_officer,
            actor=actor,
            now=now,
            reason=note,
        )
        told = officer_matters_to_customer(booking)
        resolution = _("Given to %(officer)s at the same time.") % {"officer": to_officer}
    else:
        when = starts_at if starts_at is not None else booking.starts_at
        booking_reschedule(
            booking=booking,
            starts_at=when,
            actor=actor,
            now=now,
            apply_notice=False,
            officer_ids=[to_officer.pk] if to_officer is not None else None,
        )
        told = True
        resolution = (
            _("Given to %(officer)s at the same time.") % {"officer": to_officer}
            if to_officer is not None
            else _("Moved to %(when)s.") % {"when": timezone.localtime(when).strftime("%-d %b %Y %H:%M")}
        )
    resolution += " " + (_("Customer told.") if told else _("Customer not told: same time and place."))
    if note:
        resolution += " " + note
    item.resolved_at = now
    item.resolved_by = actor
    item.resolution = resolution[:500]
    item.save(update_fields=["resolved_at", "resolved_by", "resolution"])
    return item


@transaction.atomic
def conflicts_flag_overdue(*, now: datetime | None = None) -> int:
    """Flags to managers the open items older than CONFLICT_FLAG_AFTER_HOURS; a second run flags nothing."""
    now = now or timezone.now()
    cutoff = now - timedelta(hours=settings.CONFLICT_FLAG_AFTER_HOURS)
    return (
        ConflictItem.objects.open()
        .filter(flagged_at__isnull=True, detected_at__lte=cutoff)
        .update(flagged_at=now)
    )
