"""Every write to bookings and customers.

Each service runs in one transaction, writes its audit event in that transaction, and is safe to repeat:
with an idempotency key a second call finds the first one's event and returns its booking unchanged.
Double-booking is impossible whatever calls these: the exclusion constraints on BookingAssignment reject
overlapping active assignments, and a lost race becomes SlotUnavailable carrying the nearest alternatives.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, Tenant, User
from notifications.models import MessageKind
from notifications.services import messages_record
from scheduling.allocation import NoAllocation, allocate
from scheduling.availability.loader import AvailableSlot, available_slots, session_key_for
from scheduling.availability.search import nearest_alternatives
from scheduling.models import AppointmentType, Resource

from .errors import BookingError, InvalidTransition, SlotUnavailable
from .models import (
    ACTIVE_STATUSES,
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingStatus,
    Channel,
    Customer,
)

HOLD_DURATION = timedelta(minutes=10)
# How to reach a customer on the contacts already on record, chosen afresh with each booking.
CHOSEN_EACH_TIME = {"contact_by_email", "contact_by_sms", "preferred_language"}
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"  # no 0/O, 1/I: references are read aloud
# Exclusion violation; unique violation (seat of a group session); deadlock, as a backstop to the row locks.
CONFLICT_SQLSTATES = {"23P01", "23505", "40P01"}


# --- customers -----------------------------------------------------------------------------------------


def customer_find_or_create(
    *,
    tenant: Tenant,
    full_name: str,
    email: str = "",
    phone: str = "",
    consent: bool = False,
    overwrite: bool = False,
    now: datetime | None = None,
    **details: Any,
) -> Customer:
    """The tenant's customer with this email (or, failing that, phone); a new one only when neither
    matches. The unique constraints make a concurrent duplicate impossible.

    An existing customer's blank fields are filled in from what was given. Only `overwrite=True` (staff
    who have checked who they are speaking to) replaces what is already on record: anyone can type an
    email address into the portal, so the portal must not rewrite someone else's details.
    """
    now = now or timezone.now()
    email, phone = email.strip().lower(), normalise_phone(phone)
    if not email and not phone:
        raise BookingError(_("Give an email address or a mobile number."))
    lookup = Q(email__iexact=email) if email else Q(phone=phone)
    customer = Customer.objects.filter(lookup).first()
    if customer is None and email and phone:
        customer = Customer.objects.filter(phone=phone, email="").first()
    if customer is None:
        try:
            with transaction.atomic():
                return Customer.objects.create(
                    tenant=tenant,
                    full_name=full_name,
                    email=email,
                    phone=phone,
                    consent_given_at=now if consent else None,
                    **details,
                )
        except IntegrityError:
            customer = Customer.objects.filter(lookup).first()
            if customer is None:
                raise
    given = {"full_name": full_name, **details}
    changed = {
        k: v
        for k, v in given.items()
        if overwrite or k in CHOSEN_EACH_TIME or getattr(customer, k) in ("", None)
    }
    if email and not customer.email:
        changed["email"] = email
    if phone and not customer.phone and not Customer.objects.filter(phone=phone).exists():
        changed["phone"] = phone
    if consent and customer.consent_given_at is None:
        changed["consent_given_at"] = now
    for name, value in changed.items():
        setattr(customer, name, value)
    customer.save(update_fields=list(changed))
    return customer


def normalise_phone(phone: str) -> str:
    digits = "".join(ch for ch in phone if ch.isdigit() or ch == "+")
    if digits.startswith("07") and len(digits) == 11:  # UK mobile written nationally
        digits = "+44" + digits[1:]
    return digits


# --- holds and bookings --------------------------------------------------------------------------------


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
    if replay := _replayed(idempotency_key):
        return replay
    _check_start(appointment_type, starts_at, now, apply_notice=apply_notice)
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
            booking.reference = _new_reference()
            _place(booking, starts_at, now=now, officer_ids=officer_ids, apply_notice=apply_notice)
            _record(booking, "held", actor=actor, now=now, after=_snapshot(booking), key=idempotency_key)
    except (IntegrityError, OperationalError, NoAllocation, _NotFree) as error:
        if replay := _replayed(idempotency_key):
            return replay
        _reraise_unless_conflict(error)
        raise _unavailable(appointment_type, starts_at, now) from error
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
    if replay := _replayed(idempotency_key):
        return replay
    booking = _locked(booking)
    if booking.status == BookingStatus.CONFIRMED and booking.customer_id == customer.pk:
        return booking
    if booking.status == BookingStatus.EXPIRED:
        try:
            with transaction.atomic():
                _place(booking, booking.starts_at, now=now)
        except (IntegrityError, OperationalError, NoAllocation, _NotFree) as error:
            _reraise_unless_conflict(error)
            raise _unavailable(booking.appointment_type, booking.starts_at, now, gone=True) from error
    elif booking.status != BookingStatus.HELD:
        raise InvalidTransition(_("This booking can no longer be confirmed."))
    before = _snapshot(booking)
    booking.status = BookingStatus.CONFIRMED
    booking.hold_expires_at = None
    booking.customer = customer
    booking.answers = answers or {}
    booking.location = location
    booking.notes = notes
    booking.case_reference = case_reference
    booking.updated_at = now
    booking.save()
    _record(
        booking,
        "confirmed",
        actor=actor,
        now=now,
        before=before,
        after=_snapshot(booking),
        key=idempotency_key,
    )
    messages_record(booking=booking, kind=MessageKind.CONFIRMATION, now=now)
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
    if replay := _replayed(idempotency_key):
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
        if replay := _replayed(idempotency_key):
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
    if replay := _replayed(idempotency_key):
        return replay
    appointment_type = booking.appointment_type
    _check_start(appointment_type, starts_at, now, apply_notice=apply_notice)
    try:
        with transaction.atomic():
            booking = _locked(booking)
            if booking.status not in (BookingStatus.CONFIRMED, BookingStatus.NEEDS_REBOOKING):
                raise InvalidTransition(_("Only a confirmed booking can be moved."))
            if booking.status == BookingStatus.CONFIRMED and booking.starts_at == starts_at:
                return booking  # already there: nothing to move, nobody to tell
            before = _snapshot(booking)
            _deactivate_assignments(booking)
            _place(booking, starts_at, now=now, apply_notice=apply_notice)
            booking.status = BookingStatus.CONFIRMED
            booking.updated_at = now
            booking.save(update_fields=["status", "updated_at"])
            _record(
                booking,
                "rescheduled",
                actor=actor,
                now=now,
                before=before,
                after=_snapshot(booking),
                key=idempotency_key,
            )
            messages_record(booking=booking, kind=MessageKind.RESCHEDULED, now=now)
    except (IntegrityError, OperationalError, NoAllocation, _NotFree) as error:
        if replay := _replayed(idempotency_key):
            return replay
        _reraise_unless_conflict(error)
        booking.refresh_from_db()
        raise _unavailable(appointment_type, starts_at, now, ignore=[booking.pk]) from error
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
    if replay := _replayed(idempotency_key):
        return replay
    booking = _locked(booking)
    if booking.status == BookingStatus.CANCELLED:
        return booking
    allowed = (*ACTIVE_STATUSES, BookingStatus.NEEDS_REBOOKING)
    was_confirmed = booking.status != BookingStatus.HELD
    booking = _transition(
        booking, BookingStatus.CANCELLED, allowed, "cancelled", actor, now, reason, idempotency_key
    )
    if was_confirmed:
        messages_record(booking=booking, kind=MessageKind.CANCELLED, now=now)
    return booking


@transaction.atomic
def booking_complete(
    *, booking: Booking, notes: str = "", actor: User | None = None, now: datetime | None = None
) -> Booking:
    """Records that the appointment happened."""
    now = now or timezone.now()
    booking = _locked(booking)
    if booking.status == BookingStatus.COMPLETED:
        return booking
    _check_started(booking, now)
    if notes:
        booking.notes = notes
    return _transition(booking, BookingStatus.COMPLETED, [BookingStatus.CONFIRMED], "completed", actor, now)


@transaction.atomic
def booking_mark_no_show(
    *, booking: Booking, actor: User | None = None, now: datetime | None = None
) -> Booking:
    """Records that the customer did not come."""
    now = now or timezone.now()
    booking = _locked(booking)
    if booking.status == BookingStatus.NO_SHOW:
        return booking
    _check_started(booking, now)
    return _transition(booking, BookingStatus.NO_SHOW, [BookingStatus.CONFIRMED], "no_show", actor, now)


@transaction.atomic
def bookings_displace(
    *, bookings: Iterable[Booking], reason: str, actor: User | None = None, now: datetime | None = None
) -> list[Booking]:
    """Moves bookings out of the way of an urgent one: they need rebooking and free their officers."""
    now = now or timezone.now()
    displaced = []
    for booking in bookings:
        booking = _locked(booking)
        displaced.append(
            _transition(
                booking,
                BookingStatus.NEEDS_REBOOKING,
                [BookingStatus.CONFIRMED],
                "displaced",
                actor,
                now,
                reason,
            )
        )
        messages_record(booking=booking, kind=MessageKind.DISPLACED, now=now)
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
    if replay := _replayed(idempotency_key):
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
    return _expire(lapsed, now)


# --- internals -----------------------------------------------------------------------------------------


class _NotFree(Exception):
    """No slot at that start right now (seen before touching the database)."""


def _place(
    booking: Booking,
    starts_at: datetime,
    *,
    now: datetime,
    officer_ids: Collection[int] | None = None,
    apply_notice: bool = True,
) -> None:
    """Finds the slot, allocates officers and resources, and writes the booking and its assignments.

    Must run inside a savepoint: the assignments' insert is where a concurrent booking is refused.
    """
    appointment_type = booking.appointment_type
    occupied = (
        starts_at - appointment_type.buffer_before,
        starts_at + appointment_type.duration + appointment_type.buffer_after,
    )
    in_the_way = BookingAssignment.objects.filter(is_active=True, occupied__overlap=occupied)
    _expire(
        Booking.objects.filter(
            status=BookingStatus.HELD, hold_expires_at__lte=now, pk__in=in_the_way.values("booking_id")
        ),
        now,
    )
    ignore = [booking.pk] if booking.pk else []
    slot = _slot_at(appointment_type, starts_at, now, ignore, officer_ids, apply_notice)
    allocation = allocate(appointment_type, slot)
    _lock_calendars(allocation.officer_ids, allocation.resource_ids)

    booking.starts_at = slot.start
    booking.ends_at = slot.end
    booking.allocation_reason = allocation.reason
    if slot.session_key:
        booking.session_key = slot.session_key
        booking.seat = _free_seat(slot.session_key, appointment_type.capacity, ignore)
    elif appointment_type.is_group_session:
        booking.session_key, booking.seat = session_key_for(appointment_type, slot.start), 1
    else:
        booking.session_key, booking.seat = booking.reference, 1
    booking.save()
    BookingAssignment.objects.bulk_create(
        [
            BookingAssignment(
                tenant_id=booking.tenant_id,
                booking=booking,
                officer_id=officer_id,
                occupied=occupied,
                session_key=booking.session_key,
            )
            for officer_id in allocation.officer_ids
        ]
        + [
            BookingAssignment(
                tenant_id=booking.tenant_id,
                booking=booking,
                resource_id=resource_id,
                occupied=occupied,
                session_key=booking.session_key,
            )
            for resource_id in allocation.resource_ids
        ]
    )


def _lock_calendars(officer_ids: Collection[int], resource_ids: Collection[int]) -> None:
    """Serialises bookings of the same officers and resources.

    Exclusion constraints check concurrent inserts against each other, so two transactions inserting
    clashing assignments can deadlock waiting for one another. Taking the officers' and resources' rows in
    a fixed order first makes the second writer wait, then meet the first one's committed assignment.
    """
    list(Officer.objects.select_for_update().filter(pk__in=officer_ids).order_by("pk").values_list("pk"))
    list(Resource.objects.select_for_update().filter(pk__in=resource_ids).order_by("pk").values_list("pk"))


def _slot_at(
    appointment_type: AppointmentType,
    starts_at: datetime,
    now: datetime,
    ignore: list[int],
    officer_ids: Collection[int] | None,
    apply_notice: bool,
) -> AvailableSlot:
    slots = available_slots(
        appointment_type,
        starts_at,
        starts_at + timedelta(seconds=1),
        now=now,
        ignore_booking_ids=ignore,
        officer_ids=officer_ids,
        apply_notice=apply_notice,
    )
    matching = [slot for slot in slots if slot.start == starts_at]
    if not matching:
        raise _NotFree
    # Join a running group session before opening a new one.
    return max(matching, key=lambda slot: slot.session_key is not None)


def _free_seat(session_key: str, capacity: int, ignore: list[int]) -> int:
    taken = set(
        Booking.objects.active()
        .filter(session_key=session_key)
        .exclude(pk__in=ignore)
        .values_list("seat", flat=True)
    )
    free = [seat for seat in range(1, capacity + 1) if seat not in taken]
    if not free:
        raise _NotFree
    return free[0]


def _check_start(
    appointment_type: AppointmentType, starts_at: datetime, now: datetime, *, apply_notice: bool
) -> None:
    if timezone.is_naive(starts_at):
        raise BookingError(_("The time must carry a time zone."))
    if starts_at <= now:
        raise BookingError(_("That time is in the past. Choose a time from now on."))
    local = starts_at.astimezone(appointment_type.tenant.zone)
    minute_of_day = local.hour * 60 + local.minute
    if local.second or local.microsecond or minute_of_day % appointment_type.granularity_minutes:
        raise BookingError(
            _("Appointments start every %(minutes)d minutes; choose one of the times offered.")
            % {"minutes": appointment_type.granularity_minutes}
        )
    if apply_notice and starts_at < now + timedelta(minutes=appointment_type.min_notice_minutes):
        raise BookingError(_("This service needs more notice. Choose a later time."))
    if starts_at > now + timedelta(days=appointment_type.horizon_days):
        raise BookingError(
            _("This service can be booked at most %(days)d days ahead.")
            % {"days": appointment_type.horizon_days}
        )


def _check_started(booking: Booking, now: datetime) -> None:
    if booking.starts_at > now:
        raise InvalidTransition(_("This appointment has not started yet."))


def _transition(
    booking: Booking,
    status: str,
    allowed: Iterable[str],
    action: str,
    actor: User | None,
    now: datetime,
    reason: str = "",
    key: str = "",
) -> Booking:
    if booking.status not in allowed:
        raise InvalidTransition(
            _("A booking that is %(status)s cannot be changed like this.")
            % {"status": booking.get_status_display()}
        )
    before = _snapshot(booking)
    booking.status = status
    booking.hold_expires_at = None
    booking.updated_at = now
    if reason and status == BookingStatus.CANCELLED:
        booking.cancellation_reason = reason
    booking.save()
    _deactivate_assignments(booking)
    _record(
        booking, action, actor=actor, now=now, before=before, after=_snapshot(booking), reason=reason, key=key
    )
    return booking


def _expire(lapsed: Any, now: datetime) -> int:
    bookings = list(lapsed.select_for_update(of=("self",), skip_locked=True))
    if not bookings:
        return 0
    ids = [b.pk for b in bookings]
    Booking.objects.filter(pk__in=ids).update(
        status=BookingStatus.EXPIRED, hold_expires_at=None, updated_at=now
    )
    BookingAssignment.objects.filter(booking_id__in=ids).update(is_active=False)
    BookingEvent.objects.bulk_create(
        [
            BookingEvent(
                tenant_id=b.tenant_id,
                booking=b,
                action="hold_expired",
                created_at=now,
                before={"status": BookingStatus.HELD},
                after={"status": BookingStatus.EXPIRED},
            )
            for b in bookings
        ]
    )
    return len(ids)


def _deactivate_assignments(booking: Booking) -> None:
    booking.assignments.filter(is_active=True).update(is_active=False)


def _locked(booking: Booking) -> Booking:
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("appointment_type__tenant")
        .get(pk=booking.pk)
    )


def _replayed(key: str) -> Booking | None:
    if not key:
        return None
    if len(key) > 100:
        raise BookingError(_("The idempotency key is too long (100 characters at most)."))
    event = BookingEvent.objects.filter(idempotency_key=key).select_related("booking").first()
    return event.booking if event else None


def _reraise_unless_conflict(error: Exception) -> None:
    if isinstance(error, IntegrityError | OperationalError):
        cause = getattr(error, "__cause__", None)
        if getattr(cause, "sqlstate", None) not in CONFLICT_SQLSTATES:
            raise error


def _unavailable(
    appointment_type: AppointmentType,
    starts_at: datetime,
    now: datetime,
    *,
    ignore: Collection[int] = (),
    gone: bool = False,
) -> SlotUnavailable:
    message = (
        _("Your hold on that time ran out and someone else has booked it.")
        if gone
        else _("That time is no longer available.")
    )
    return SlotUnavailable(
        message,
        alternatives=nearest_alternatives(appointment_type, starts_at, now=now, ignore_booking_ids=ignore),
    )


def _new_reference() -> str:
    while True:
        code = "".join(secrets.choice(REFERENCE_ALPHABET) for _i in range(6))
        reference = f"BK-{code[:4]}-{code[4:]}"
        if not Booking.objects.filter(reference=reference).exists():
            return reference


def _snapshot(booking: Booking) -> dict[str, Any]:
    assignments = [a for a in booking.assignments.all() if a.is_active] if booking.pk else []
    return {
        "status": booking.status,
        "starts_at": booking.starts_at.isoformat() if booking.starts_at else None,
        "ends_at": booking.ends_at.isoformat() if booking.ends_at else None,
        "officers": sorted(a.officer_id for a in assignments if a.officer_id),
        "resources": sorted(a.resource_id for a in assignments if a.resource_id),
    }


def _record(
    booking: Booking,
    action: str,
    *,
    actor: User | None,
    now: datetime,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    reason: str = "",
    key: str = "",
) -> None:
    BookingEvent.objects.create(
        tenant_id=booking.tenant_id,
        booking=booking,
        actor=actor,
        action=action,
        before=before or {},
        after=after or {},
        reason=reason[:500],
        idempotency_key=key,
        created_at=now,
    )


# --- customer self-service -----------------------------------------------------------------------------


def access_code_send(*, reference: str, contact: str) -> bool:
    """Sends a one-time code to the email or mobile the booking was made with, if they match.

    Returns whether a code was sent; callers must not tell the person, so a reference cannot be probed.
    """
    from notifications.channels import send_email, send_sms

    from .tokens import one_time_code_issue

    booking = Booking.objects.select_related("customer").filter(reference=reference).first()
    customer = booking.customer if booking else None
    if customer is None:
        return False
    contact = contact.strip()
    by_email = bool(customer.email) and contact.lower() == customer.email.lower()
    by_phone = bool(customer.phone) and normalise_phone(contact) == customer.phone
    if not (by_email or by_phone):
        return False
    code = one_time_code_issue(tenant_id=booking.tenant_id, reference=reference)
    text = _("Your code to manage booking %(reference)s is %(code)s. It works for 10 minutes.") % {
        "reference": reference,
        "code": code,
    }
    if by_email:
        send_email(
            to=customer.email,
            subject=_("Your code for booking %(reference)s") % {"reference": reference},
            body=text,
        )
    else:
        send_sms(to=customer.phone, body=text)
    return True
