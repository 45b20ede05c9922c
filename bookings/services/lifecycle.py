"""The booking lifecycle: hold, confirm, create, reschedule, cancel, complete, no-show, displace, expire.

Each service runs in one transaction, writes its audit event in that transaction, and is safe to repeat:
with an idempotency key (bound to the operation and the request, see `idempotency`) a second call returns
the first one's booking unchanged, and a different request under the same key is refused. Every object a
service combines must belong to the active tenant (`same_tenant_check`), whatever the caller looked up.
Double-booking is impossible whatever calls these: the exclusion constraints on BookingAssignment reject
overlapping active assignments, and a lost race becomes SlotUnavailable carrying the nearest alternatives.
Messages to the customer are queued in the same transaction (see `messages.customer_tell`).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, User
from accounts.tenancy import TenantMismatch, same_tenant_check
from bookings.availability.travel import travel_applies
from bookings.contacts import ContactDetails
from bookings.errors import BookingError, InvalidTransition, SlotUnavailable, TooManyHolds
from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingStatus,
    Channel,
    ConflictCause,
    Customer,
)
from notifications.models import MessageKind
from scheduling.models import AppointmentType
from scheduling.routing.problem import Point

from .conflict_items import conflicts_open
from .customers import customer_find_or_create
from .history import booking_event_new, booking_event_record, booking_snapshot
from .idempotency import Idempotency, idempotency_for, idempotency_record, replayed
from .messages import customer_tell, reminders_withdraw, survey_invite
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
from .references import reference_new, reference_taken

HOLD_DURATION = timedelta(minutes=10)
REFERENCE_ATTEMPTS = 3


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
    client: str = "",
    point: Point | None = None,
) -> Booking:
    """Holds a slot for HOLD_DURATION while the customer gives their details.

    `point` (where a visit at the customer's address happens) is kept on the booking, and placement then
    offers the slot only to an officer who can travel there in time (see `placement.place`).

    `client` (a keyed hash of the client's address, for portal holds) caps how many live holds one client
    may have at once, in all and per appointment type (PORTAL_LIVE_HOLDS_PER_CLIENT[_AND_TYPE]), so that
    nobody can hold a whole week, with or without cookies: over the cap raises TooManyHolds.
    Raises SlotUnavailable (with alternatives) when the slot is not free, BookingError for a start that
    is off the grid, in the past, too soon or too far ahead.
    """
    now = now or timezone.now()
    _tenant_check(appointment_type, officer_ids=officer_ids)
    idempotency = idempotency_for(
        idempotency_key,
        "booking.hold",
        appointment_type=appointment_type.pk,
        starts_at=starts_at.timestamp(),
        channel=channel,
        priority=priority,
        officer_ids=_ids(officer_ids),
        apply_notice=apply_notice,
        **({"point": [point.latitude, point.longitude]} if point is not None else {}),
    )
    if replay := replayed(idempotency, now=now):
        return replay
    start_check(appointment_type, starts_at, now, apply_notice=apply_notice)
    booking = Booking(
        tenant=appointment_type.tenant,
        appointment_type=appointment_type,
        status=BookingStatus.HELD,
        hold_expires_at=now + HOLD_DURATION,
        priority=priority or appointment_type.default_priority,
        channel=channel,
        client_hash=client,
        created_by=actor,
        created_at=now,
        updated_at=now,
        latitude=point.latitude if point is not None else None,
        longitude=point.longitude if point is not None else None,
    )
    for attempt in range(REFERENCE_ATTEMPTS):
        try:
            with transaction.atomic():
                if client:
                    _live_holds_check(appointment_type, client, now)
                booking.reference = reference_new()

                def held(assignments: list[BookingAssignment]) -> BookingEvent:
                    after = booking_snapshot(booking, assignments=assignments)
                    return booking_event_new(booking, "held", actor=actor, now=now, after=after)

                # The audit event is written with the assignments, in one statement.
                place(
                    booking,
                    starts_at,
                    now=now,
                    officer_ids=officer_ids,
                    apply_notice=apply_notice,
                    event=held,
                )
                idempotency_record(idempotency, booking=booking, now=now)
        except PLACEMENT_CONFLICTS as error:
            if reference_taken(error):
                if attempt + 1 < REFERENCE_ATTEMPTS:
                    continue  # one chance in a billion per booking the tenant has: draw another
                raise
            if replay := replayed(idempotency, now=now):
                return replay
            reraise_unless_conflict(error)
            raise unavailable(appointment_type, starts_at, now, point=point) from error
        return booking
    raise AssertionError("unreachable: the last attempt returns or raises")


def _live_holds_check(appointment_type: AppointmentType, client: str, now: datetime) -> None:
    """Refuses a hold beyond the client's caps. A transaction-scoped advisory lock per client makes the
    count and the insert one step, so parallel requests from one client cannot all slip under the cap."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtext(%s))",
            [f"bookings.hold:{appointment_type.tenant_id}:{client}"],
        )
    live = list(
        Booking.objects.filter(
            client_hash=client, status=BookingStatus.HELD, hold_expires_at__gt=now
        ).values_list("appointment_type_id", "hold_expires_at")
    )
    of_type = [expires for type_id, expires in live if type_id == appointment_type.pk]
    if len(live) >= settings.PORTAL_LIVE_HOLDS_PER_CLIENT:
        lapsing = sorted(expires for _type_id, expires in live)
    elif len(of_type) >= settings.PORTAL_LIVE_HOLDS_PER_CLIENT_AND_TYPE:
        lapsing = sorted(of_type)
    else:
        return
    raise TooManyHolds(
        _("You are already holding as many times as you can at once. Confirm or give up one of them first."),
        retry_at=lapsing[0],
    )


def booking_confirm(
    *,
    booking: Booking,
    customer: Customer,
    contact: ContactDetails | None = None,
    answers: dict[str, Any] | None = None,
    location: str = "",
    notes: str = "",
    case_reference: str = "",
    case_kind: str = "",
    follow_up_of: Booking | None = None,
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
    point: Point | None = None,
) -> Booking:
    """Turns a hold into a confirmed booking. A lapsed hold is re-placed if its slot is still free.

    `point` is where a visit at the customer's address happens when the hold was made without one (the
    customer gave the place only with their details): the hold is placed again there, so the officer can
    travel to it (SlotUnavailable if nobody can), and the booking keeps it.

    The booking keeps `contact` (default: the customer's record as it stands) as the details it was made
    with; its messages and one-time codes go there. Queues the confirmation (for a booking that follows up
    `follow_up_of`, the follow-up message) and plans the reminders in the same transaction.
    """
    now = now or timezone.now()
    _tenant_check(booking, customer, *([follow_up_of] if follow_up_of else []))
    # Without details given (staff booking for a known customer), the record as stored now, not as the
    # caller's copy remembers it.
    contact = contact or ContactDetails.of_customer(Customer.objects.get(pk=customer.pk))
    answers = answers or {}
    idempotency = idempotency_for(
        idempotency_key,
        "booking.confirm",
        booking=booking.pk,
        customer=customer.pk,
        contact=contact.as_dict(),
        answers=answers,
        location=location,
        notes=notes,
        case_reference=case_reference,
        case_kind=case_kind,
        **({"follow_up_of": follow_up_of.pk} if follow_up_of else {}),
        **({"point": [point.latitude, point.longitude]} if point is not None else {}),
    )
    try:
        with transaction.atomic():
            return _confirm(
                booking,
                customer,
                contact,
                idempotency,
                answers=answers,
                location=location,
                notes=notes,
                case_reference=case_reference,
                case_kind=case_kind,
                follow_up_of=follow_up_of,
                actor=actor,
                now=now,
                point=point,
            )
    except IntegrityError:
        # A concurrent request recorded this key first: its result, or a conflict if it asked otherwise.
        if replay := replayed(idempotency, now=now):
            return replay
        raise


def _confirm(
    booking: Booking,
    customer: Customer,
    contact: ContactDetails,
    idempotency: Idempotency | None,
    *,
    answers: dict[str, Any],
    location: str,
    notes: str,
    case_reference: str,
    case_kind: str,
    follow_up_of: Booking | None,
    actor: User | None,
    now: datetime,
    point: Point | None = None,
) -> Booking:
    booking = booking_locked(booking)
    # Under the booking's lock, so a concurrent copy of this request waits, then finds the first one's key.
    if replay := replayed(idempotency, now=now):
        return replay
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
    if point is not None and booking.latitude is None and travel_applies(booking.appointment_type, point):
        booking.latitude, booking.longitude = point.latitude, point.longitude
        try:
            with transaction.atomic():
                assignments_release(booking)
                place(booking, booking.starts_at, now=now)
        except PLACEMENT_CONFLICTS as error:
            reraise_unless_conflict(error)
            raise unavailable(
                booking.appointment_type, booking.starts_at, now, ignore=[booking.pk], point=point
            ) from error
    before = booking_snapshot(booking)
    booking.status = BookingStatus.CONFIRMED
    booking.hold_expires_at = None
    booking.customer = customer
    booking.answers = answers
    booking.location = location
    booking.notes = notes
    booking.case_reference = case_reference
    booking.case_kind = case_kind if case_reference else ""
    booking.follow_up_of = follow_up_of
    booking.updated_at = now
    _contact_keep(booking, contact, now)
    booking.save()
    event = booking_event_record(
        booking, "confirmed", actor=actor, now=now, before=before, after=booking_snapshot(booking)
    )
    idempotency_record(idempotency, booking=booking, now=now)
    customer_tell(booking=booking, kind=MessageKind.CONFIRMATION, event=event, now=now)
    return booking


def _contact_keep(booking: Booking, contact: ContactDetails, now: datetime) -> None:
    for name, value in contact.booking_fields(now).items():
        setattr(booking, name, value)


def booking_confirm_from_portal(
    *,
    booking: Booking,
    contact: ContactDetails,
    address: dict[str, str] | None = None,
    answers: dict[str, Any] | None = None,
    location: str = "",
    case_reference: str = "",
    case_kind: str = "",
    idempotency_key: str = "",
    now: datetime | None = None,
    point: Point | None = None,
) -> Booking:
    """The portal's details step in one transaction: the customer these details name (found, or created;
    an existing customer is never changed) and the hold confirmed with the details as given. The case (from
    a signed case link) goes on the booking only, never on the customer."""
    now = now or timezone.now()
    with transaction.atomic():
        customer = customer_find_or_create(
            tenant=booking.appointment_type.tenant,
            full_name=contact.name,
            email=contact.email,
            phone=contact.phone,
            consent=contact.consent,
            now=now,
            contact_by_email=contact.by_email,
            contact_by_sms=contact.by_sms,
            preferred_language=contact.language,
            accessibility_needs=contact.accessibility_needs,
            **(address or {}),
        )
        return booking_confirm(
            booking=booking,
            customer=customer,
            contact=contact,
            answers=answers,
            location=location,
            case_reference=case_reference,
            case_kind=case_kind,
            now=now,
            idempotency_key=idempotency_key,
            point=point,
        )


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
    contact: ContactDetails | None = None,
    point: Point | None = None,
    **details: Any,
) -> Booking:
    """Books in one step (staff, API): hold and confirm in one transaction. `point`: where a visit at the
    customer's address happens (checked for travel and kept, as for a hold)."""
    now = now or timezone.now()
    _tenant_check(appointment_type, customer, officer_ids=officer_ids)
    idempotency = idempotency_for(
        idempotency_key,
        "booking.create",
        appointment_type=appointment_type.pk,
        starts_at=starts_at.timestamp(),
        customer=customer.pk,
        channel=channel,
        priority=priority,
        officer_ids=_ids(officer_ids),
        apply_notice=apply_notice,
        contact=contact.as_dict() if contact else None,
        details=details,
        **({"point": [point.latitude, point.longitude]} if point is not None else {}),
    )
    if replay := replayed(idempotency, now=now):
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
                point=point,
            )
            booking = booking_confirm(
                booking=booking, customer=customer, contact=contact, actor=actor, now=now, **details
            )
            idempotency_record(idempotency, booking=booking, now=now)
            return booking
    except (SlotUnavailable, IntegrityError):
        # The same request sent twice at once: the other copy won the slot (or the key), and the booking
        # is ours; a different request under the same key raises IdempotencyConflict here.
        if replay := replayed(idempotency, now=now):
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
    officer_ids: Collection[int] | None = None,
) -> Booking:
    """Moves a booking; its old slot is freed in the same transaction as the new one is taken. The customer
    is told of the new time (a new invitation SEQUENCE) and the reminders are planned for it.

    `officer_ids` limits who may take it (the conflict queue's "another officer at the same time")."""
    now = now or timezone.now()
    _tenant_check(booking)
    idempotency = idempotency_for(
        idempotency_key,
        "booking.reschedule",
        booking=booking.pk,
        starts_at=starts_at.timestamp(),
        apply_notice=apply_notice,
        **({"officer_ids": _ids(officer_ids)} if officer_ids is not None else {}),
    )
    if replay := replayed(idempotency, now=now):
        return replay
    _tenant_check(officer_ids=officer_ids)
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
            place(booking, starts_at, now=now, apply_notice=apply_notice, officer_ids=officer_ids)
            booking.status = BookingStatus.CONFIRMED
            booking.sequence += 1
            booking.updated_at = now
            booking.save(update_fields=["status", "sequence", "updated_at"])
            event = booking_event_record(
                booking, "rescheduled", actor=actor, now=now, before=before, after=booking_snapshot(booking)
            )
            idempotency_record(idempotency, booking=booking, now=now)
            customer_tell(booking=booking, kind=MessageKind.RESCHEDULED, event=event, now=now)
    except PLACEMENT_CONFLICTS as error:
        if replay := replayed(idempotency, now=now):
            return replay
        reraise_unless_conflict(error)
        booking.refresh_from_db()
        raise unavailable(appointment_type, starts_at, now, ignore=[booking.pk]) from error
    return booking


def booking_cancel(
    *,
    booking: Booking,
    reason: str = "",
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
) -> Booking:
    """Cancels a booking (or abandons a hold) and frees its officers and resources. A confirmed booking's
    customer is told, with an invitation that takes it out of their calendar; its reminders are withdrawn."""
    now = now or timezone.now()
    _tenant_check(booking)
    idempotency = idempotency_for(idempotency_key, "booking.cancel", booking=booking.pk, reason=reason)
    try:
        with transaction.atomic():
            booking = booking_locked(booking)
            if replay := replayed(idempotency, now=now):
                return replay
            if booking.status == BookingStatus.CANCELLED:
                return booking
            allowed = (*ACTIVE_STATUSES, BookingStatus.NEEDS_REBOOKING)
            was_confirmed = booking.status != BookingStatus.HELD
            if was_confirmed:
                booking.sequence += 1  # saved by the transition; the invitation it sends cancels
            booking, event = _transition(
                booking, BookingStatus.CANCELLED, allowed, "cancelled", actor, now, reason
            )
            idempotency_record(idempotency, booking=booking, now=now)
            if was_confirmed:
                customer_tell(booking=booking, kind=MessageKind.CANCELLED, event=event, now=now)
            return booking
    except IntegrityError:
        if replay := replayed(idempotency, now=now):
            return replay
        raise


@transaction.atomic
def booking_complete(
    *, booking: Booking, notes: str = "", actor: User | None = None, now: datetime | None = None
) -> Booking:
    """Records that the appointment happened, and asks the customer for a score if the type has a survey."""
    return _attended(booking, BookingStatus.COMPLETED, "completed", actor, now or timezone.now(), notes)


@transaction.atomic
def booking_mark_no_show(
    *, booking: Booking, actor: User | None = None, now: datetime | None = None
) -> Booking:
    """Records that the customer did not come."""
    return _attended(booking, BookingStatus.NO_SHOW, "no_show", actor, now or timezone.now())


def _attended(
    booking: Booking, status: str, action: str, actor: User | None, now: datetime, notes: str = ""
) -> Booking:
    """What happened at a confirmed appointment, once it has started; recording it again changes nothing.
    Reminders still waiting (none should be: they lapse at the start) are withdrawn."""
    _tenant_check(booking)
    booking = booking_locked(booking)
    if booking.status == status:
        return booking
    started_check(booking, now)
    if notes:
        booking.notes = notes
    booking, _event = _transition(booking, status, [BookingStatus.CONFIRMED], action, actor, now)
    reminders_withdraw(booking=booking, now=now)
    if status == BookingStatus.COMPLETED:
        survey_invite(booking=booking, now=now)
    return booking


@transaction.atomic
def bookings_displace(
    *, bookings: Iterable[Booking], reason: str, actor: User | None = None, now: datetime | None = None
) -> list[Booking]:
    """Moves bookings out of the way of an urgent one: they need rebooking and free their officers, and
    each lands in the conflict queue (cause "displaced") in the same transaction."""
    now = now or timezone.now()
    bookings = list(bookings)
    _tenant_check(*bookings)
    displaced = []
    for booking in bookings:
        booking = booking_locked(booking)
        officers = sorted(a.officer_id for a in booking.assignments.all() if a.is_active and a.officer_id)
        booking.sequence += 1  # saved by the transition; the invitation it sends cancels the old time
        booking, event = _transition(
            booking,
            BookingStatus.NEEDS_REBOOKING,
            [BookingStatus.CONFIRMED],
            "displaced",
            actor,
            now,
            reason,
        )
        customer_tell(booking=booking, kind=MessageKind.DISPLACED, event=event, now=now)
        conflicts_open(
            bookings=[booking],
            cause=ConflictCause.DISPLACED,
            officer_id=officers[0] if officers else None,
            detail=reason,
            now=now,
        )
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
    _tenant_check(appointment_type, customer, officer_ids=officer_ids)
    idempotency = idempotency_for(
        idempotency_key,
        "booking.create_displacing",
        appointment_type=appointment_type.pk,
        starts_at=starts_at.timestamp(),
        customer=customer.pk,
        displace_booking_ids=_ids(displace_booking_ids),
        officer_ids=_ids(officer_ids),
        reason=reason,
        priority=priority,
        details=details,
    )
    if replay := replayed(idempotency, now=now):
        return replay
    try:
        with transaction.atomic():
            # Scoped query: another tenant's booking ids are simply not found, and refused below.
            victims = list(Booking.objects.filter(pk__in=displace_booking_ids, priority__lt=priority))
            if len(victims) != len(set(displace_booking_ids)):
                raise BookingError(_("Only bookings of lower priority can be displaced."))
            bookings_displace(bookings=victims, reason=reason, actor=actor, now=now)
            booking = booking_create(
                appointment_type=appointment_type,
                starts_at=starts_at,
                customer=customer,
                actor=actor,
                now=now,
                priority=priority,
                officer_ids=officer_ids,
                apply_notice=False,
                **details,
            )
            idempotency_record(idempotency, booking=booking, now=now)
            return booking
    except (SlotUnavailable, IntegrityError):
        if replay := replayed(idempotency, now=now):
            return replay
        raise


@transaction.atomic
def holds_expire(*, now: datetime | None = None) -> int:
    """Expires lapsed holds in the active tenant; running it twice changes nothing the second time."""
    now = now or timezone.now()
    lapsed = Booking.objects.filter(status=BookingStatus.HELD, hold_expires_at__lte=now)
    return holds_expire_lapsed(lapsed, now)


def _tenant_check(*objects: object, officer_ids: Collection[int] | None = None) -> None:
    """Every object combined, and every officer named, belongs to the active tenant; views' access helpers
    answer 404 first, so this is a backstop against a caller that looked something up unscoped."""
    same_tenant_check(*objects)
    if officer_ids:
        wanted = set(officer_ids)
        if Officer.objects.filter(pk__in=wanted).count() != len(wanted):
            raise TenantMismatch("Officers of another tenant (or none) cannot be booked.")


def _ids(ids: Collection[int] | None) -> list[int] | None:
    return sorted(set(ids)) if ids is not None else None


def _transition(
    booking: Booking,
    status: str,
    allowed: Iterable[str],
    action: str,
    actor: User | None,
    now: datetime,
    reason: str = "",
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
    )
