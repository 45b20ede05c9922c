"""The booking lifecycle: hold, confirm, create, reschedule, cancel, complete, no-show, displace, expire.

Each service runs in one transaction, writes its audit event in that transaction, and is safe to repeat:
with an idempotency key a second call finds the first one's event and returns its booking unchanged.
Double-booking is impossible whatever calls these: the exclusion constraints on BookingAssignment reject
overlapping active assignments, and a lost race becomes SlotUnavailable carrying the nearest alternatives.
Messages to the customer are queued in the same transaction (see `messages.customer_tell`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from bookings.errors import BookingError, InvalidTransition, SlotUnavailable
from bookings.models import ACTIVE_STATUSES, Booking, BookingEvent, BookingStatus, Channel, Customer
from notifications.models import MessageKind
from scheduling.models import AppointmentType

from .history import booking_event_record, booking_snapshot
from .idempotency import replayed
from .messages import customer_tell
from .placement import (
    PLACEMENT_CONFLICTS,
    assignments_release,
    booking_locked,
    holds_expire_lapsed,
    place,
    reraise_unless_conflict,
    start_check,
    started_check,
    unavailable,
)
from .references import reference_new

HOLD_DURATION = timedelta(minutes=10)


def booking_hold(
    *,
    appointment_type: AppointmentType,
    starts_at: datetime,
    actor: User | None = None,
    now: datetime | None = None,
    channel: str = Channel.PORTAL,
    priority: int | None = None,
    idempotency_key: str = "",
    officer_ids: Collection[int] | None = None,
    apply_notice: bool = True,
) -> Booking:
    """Holds a slot for HOLD_DURATION while the customer gives their details.

    Raises SlotUnavailable (with alternatives) when the slot is not free, BookingError for a start that
    is off the grid, in the past, too soon or too far ahead.
    """
    now = now or timezone.now()
    if replay := replayed(idempotency_key):
        return replay
    start_check(appointment_type, starts_at, now, apply_notice=apply_notice)
    booking = Booking(
        tenant=appointment_type.tenant,
        appointment_type=appointment_type,
        status=BookingStatus.HELD,
        hold_expires_at=now + HOLD_DURATION,
        priority=priority or appointment_type.default_priority,
        channel=channel,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    try:
        with transaction.atomic():
            booking.reference = reference_new()
            place(booking, starts_at, now=now, officer_ids=officer_ids, apply_notice=apply_notice)
            booking_event_record(
                booking, "held", actor=actor, now=now, after=booking_snapshot(booking), key=idempotency_key
            )
    except PLACEMENT_CONFLICTS as error:
        if replay := replayed(idempotency_key):
            return replay
        reraise_unless_conflict(error)
        raise unavailable(appointment_type, starts_at, now) from error
    return booking


@transaction.atomic
def booking_confirm(
    *,
    booking: Booking,
    customer: Customer,
    answers: dict[str, Any] | None = None,
    location: str = "",
    notes: str = "",
    case_reference: str = "",
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
) -> Booking:
    """Turns a hold into a confirmed booking. A lapsed hold is re-placed if its slot is still free."""
    now = now or timezone.now()
    if replay := replayed(idempotency_key):
        return replay
    booking = booking_locked(booking)
    if booking.status == BookingStatus.CONFIRMED and booking.customer_id == customer.pk:
        return booking
    if booking.status == BookingStatus.EXPIRED:
        try:
            with transaction.atomic():
                place(booking, booking.starts_at, now=now)
        except PLACEMENT_CONFLICTS as error:
            reraise_unless_conflict(error)
            raise unavailable(booking.appointment_type, booking.starts_at, now, gone=True) from error
    elif booking.status != BookingStatus.HELD:
        raise InvalidTransition(_("This booking can no longer be confirmed."))
    before = booking_snapshot(booking)
    booking.status = BookingStatus.CONFIRMED
    booking.hold_expires_at = None
    booking.customer = customer
    booking.answers = answers or {}
    booking.location = location
    booking.notes = notes
    booking.case_reference = case_reference
    booking.updated_at = now
    booking.save()
    event = booking_event_record(
        booking,
        "confirmed",
        actor=actor,
        now=now,
        before=before,
        after=booking_snapshot(booking),
        key=idempotency_key,
    )
    customer_tell(booking=booking, kind=MessageKind.CONFIRMATION, event=event, now=now)
    return booking


def booking_create(
    *,
    appointment_type: AppointmentType,
    starts_at: datetime,
    customer: Customer,
    actor: User | None = None,
    now: datetime | None = None,
    channel: str = Channel.STAFF,
    priority: int | None = None,
    idempotency_key: str = "",
    officer_ids: Collection[int] | None = None,
    apply_notice: bool = True,
    **details: Any,
) -> Booking:
    """Books in one step (staff, API): hold and confirm in one transaction."""
    now = now or timezone.now()
    if replay := replayed(idempotency_key):
        return replay
    try:
        with transaction.atomic():
            booking = booking_hold(
                appointment_type=appointment_type,
                starts_at=starts_at,
                actor=actor,
                now=now,
                channel=channel,
                priority=priority,
                officer_ids=officer_ids,
                apply_notice=apply_notice,
            )
            return booking_confirm(
                booking=booking,
                customer=customer,
                actor=actor,
                now=now,
                idempotency_key=idempotency_key,
                **details,
            )
    except SlotUnavailable:
        # The same request sent twice at once: the other copy won the slot, and the booking is ours.
        if replay := replayed(idempotency_key):
            return replay
        raise


def booking_reschedule(
    *,
    booking: Booking,
    starts_at: datetime,
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
    apply_notice: bool = True,
) -> Booking:
    """Moves a booking; its old slot is freed in the same transaction as the new one is taken."""
    now = now or timezone.now()
    if replay := replayed(idempotency_key):
        return replay
    appointment_type = booking.appointment_type
    start_check(appointment_type, starts_at, now, apply_notice=apply_notice)
    try:
        with transaction.atomic():
            booking = booking_locked(booking)
            if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.NEEDS_REBOOKING):
                raise InvalidTransition(_("Only a confirmed booking can be moved."))
            if booking.status == BookingStatus.CONFIRMED and booking.starts_at == starts_at:
                return booking  # already there: nothing to move, nobody to tell
            before = booking_snapshot(booking)
            assignments_release(booking)
            place(booking, starts_at, now=now, apply_notice=apply_notice)
            booking.status = BookingStatus.CONFIRMED
            booking.updated_at = now
            booking.save(update_fields=["status", "updated_at"])
            event = booking_event_record(
                booking,
                "rescheduled",
                actor=actor,
                now=now,
                before=before,
                after=booking_snapshot(booking),
                key=idempotency_key,
            )
            customer_tell(booking=booking, kind=MessageKind.RESCHEDULED, event=event, now=now)
    except PLACEMENT_CONFLICTS as error:
        if replay := replayed(idempotency_key):
            return replay
        reraise_unless_conflict(error)
        booking.refresh_from_db()
        raise unavailable(appointment_type, starts_at, now, ignore=[booking.pk]) from error
    return booking


@transaction.atomic
def booking_cancel(
    *,
    booking: Booking,
    reason: str = "",
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
) -> Booking:
    """Cancels a booking (or abandons a hold) and frees its officers and resources."""
    now = now or timezone.now()
    if replay := replayed(idempotency_key):
        return replay
    booking = booking_locked(booking)
    if booking.status == BookingStatus.CANCELLED:
        return booking
    allowed = (*ACTIVE_STATUSES, BookingStatus.NEEDS_REBOOKING)
    was_confirmed = booking.status != BookingStatus.HELD
    booking, event = _transition(
        booking, BookingStatus.CANCELLED, allowed, "cancelled", actor, now, reason, idempotency_key
    )
    if was_confirmed:
        customer_tell(booking=booking, kind=MessageKind.CANCELLED, event=event, now=now)
    return booking


@transaction.atomic
def booking_complete(
    *, booking: Booking, notes: str = "", actor: User | None = None, now: datetime | None = None
) -> Booking:
    """Records that the appointment happened."""
    now = now or timezone.now()
    booking = booking_locked(booking)
    if booking.status == BookingStatus.COMPLETED:
        return booking
    started_check(booking, now)
    if notes:
        booking.notes = notes
    booking, _event = _transition(
        booking, BookingStatus.COMPLETED, [BookingStatus.CONFIRMED], "completed", actor, now
    )
    return booking


@transaction.atomic
def booking_mark_no_show(
    *, booking: Booking, actor: User | None = None, now: datetime | None = None
) -> Booking:
    """Records that the customer did not come."""
    now = now or timezone.now()
    booking = booking_locked(booking)
    if booking.status == BookingStatus.NO_SHOW:
        return booking
    started_check(booking, now)
    booking, _event = _transition(
        booking, BookingStatus.NO_SHOW, [BookingStatus.CONFIRMED], "no_show", actor, now
    )
    return booking


@transaction.atomic
def bookings_displace(
    *, bookings: Iterable[Booking], reason: str, actor: User | None = None, now: datetime | None = None
) -> list[Booking]:
    """Moves bookings out of the way of an urgent one: they need rebooking and free their officers."""
    now = now or timezone.now()
    displaced = []
    for booking in bookings:
        booking, event = _transition(
            booking_locked(booking),
            BookingStatus.NEEDS_REBOOKING,
            [BookingStatus.CONFIRMED],
            "displaced",
            actor,
            now,
            reason,
        )
        customer_tell(booking=booking, kind=MessageKind.DISPLACED, event=event, now=now)
        displaced.append(booking)
    return displaced


def booking_create_displacing(
    *,
    appointment_type: AppointmentType,
    starts_at: datetime,
    customer: Customer,
    displace_booking_ids: Collection[int],
    officer_ids: Collection[int],
    reason: str,
    priority: int,
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
    **details: Any,
) -> Booking:
    """An urgent booking that takes the place of lower-priority ones, all in one transaction: either the
    displaced bookings move to "needs rebooking" and the urgent one is confirmed, or nothing changes."""
    now = now or timezone.now()
    if replay := replayed(idempotency_key):
        return replay
    with transaction.atomic():
        victims = list(Booking.objects.filter(pk__in=displace_booking_ids, priority__lt=priority))
        if len(victims) != len(set(displace_booking_ids)):
            raise BookingError(_("Only bookings of lower priority can be displaced."))
        bookings_displace(bookings=victims, reason=reason, actor=actor, now=now)
        return booking_create(
            appointment_type=appointment_type,
            starts_at=starts_at,
            customer=customer,
            actor=actor,
            now=now,
            priority=priority,
            officer_ids=officer_ids,
            apply_notice=False,
            idempotency_key=idempotency_key,
            **details,
        )


@transaction.atomic
def holds_expire(*, now: datetime | None = None) -> int:
    """Expires lapsed holds in the active tenant; running it twice changes nothing the second time."""
    now = now or timezone.now()
    lapsed = Booking.objects.filter(status=BookingStatus.HELD, hold_expires_at__lte=now)
    return holds_expire_lapsed(lapsed, now)


def _transition(
    booking: Booking,
    status: str,
    allowed: Iterable[str],
    action: str,
    actor: User | None,
    now: datetime,
    reason: str = "",
    key: str = "",
) -> tuple[Booking, BookingEvent]:
    if booking.status not in allowed:
        raise InvalidTransition(
            _("A booking that is %(status)s cannot be changed like this.")
            % {"status": booking.get_status_display()}
        )
    before = booking_snapshot(booking)
    booking.status = status
    booking.hold_expires_at = None
    booking.updated_at = now
    if reason and status == BookingStatus.CANCELLED:
        booking.cancellation_reason = reason
    booking.save()
    assignments_release(booking)
    return booking, booking_event_record(
        booking,
        action,
        actor=actor,
        now=now,
        before=before,
        after=booking_snapshot(booking),
        reason=reason,
        key=key,
    )
