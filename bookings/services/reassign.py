"""Moving an appointment from one officer to another at the same time (team calendar, conflict queue).

The engine decides who is eligible (skills of the seat, working, free); the exclusion constraint on
BookingAssignment has the last word, so a booking that lands on the new officer between the check and the
write makes this refuse and change nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, OperationalError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, User
from accounts.tenancy import same_tenant_check
from bookings.availability import available_slots
from bookings.errors import BookingError, InvalidTransition, SlotUnavailable
from bookings.models import Booking, BookingAssignment, BookingStatus
from notifications.models import MessageKind
from scheduling.availability.engine import assign

from .history import booking_event_record, booking_snapshot
from .messages import customer_tell, officer_matters_to_customer
from .placement import booking_locked, reraise_unless_conflict


class NotEligible(BookingError):
    """The officer cannot take this appointment (skills, hours, absence or another booking)."""


def reassign_check(booking: Booking, *, from_officer_id: int, to_officer_id: int, now: datetime) -> None:
    """Raises NotEligible unless `to_officer` could take `from_officer`'s seat of the booking right now."""
    kept = [
        a.officer_id
        for a in booking.assignments.all()
        if a.is_active and a.officer_id and a.officer_id != from_officer_id
    ]
    if to_officer_id in kept:
        raise NotEligible(_("That officer is already on this appointment."))
    wanted = {*kept, to_officer_id}
    slots = available_slots(
        booking.appointment_type,
        booking.starts_at,
        booking.starts_at + timedelta(seconds=1),
        now=now,
        ignore_booking_ids=[booking.pk],
        officer_ids=wanted,
        apply_notice=False,
    )
    for slot in slots:
        if slot.start != booking.starts_at or slot.session_key is not None:
            continue
        seats = [[o for o in seat if o in wanted] for seat in slot.officer_seats]
        chosen = assign(seats) if seats else ()
        if chosen is not None and set(chosen) == wanted:
            return
    raise NotEligible(
        _("That officer cannot take this appointment: they lack a skill it needs, or are not free then.")
    )


def booking_reassign(
    *,
    booking: Booking,
    to_officer: Officer,
    actor: User | None,
    now: datetime | None = None,
    from_officer: Officer | None = None,
    reason: str = "",
    tell_customer: bool | None = None,
) -> Booking:
    """Gives `from_officer`'s place on the booking (default: its only officer) to `to_officer`.

    One transaction: the booking row and both officers' calendars are locked (as placement does), the
    assignment is swapped, a "reassigned" event is written and, if the officer matters to the customer
    (`officer_matters_to_customer`, or `tell_customer`), a change message is queued with a new invitation
    SEQUENCE, and the reminders are planned again (they name the officer). Raises NotEligible
    when the engine says no, SlotUnavailable when a concurrent booking won the officer (nothing changed).
    """
    now = now or timezone.now()
    same_tenant_check(booking, to_officer, *([from_officer] if from_officer else []))
    if booking.appointment_type.is_group_session:
        raise BookingError(_("Group sessions cannot be moved to another officer here."))
    with transaction.atomic():
        booking = booking_locked(booking)
        if booking.status != BookingStatus.CONFIRMED:
            raise InvalidTransition(_("Only a confirmed appointment can be given to another officer."))
        if booking.starts_at <= now:
            raise InvalidTransition(_("This appointment has already started."))
        current = [a for a in booking.assignments.all() if a.is_active and a.officer_id]
        if from_officer is None:
            if len(current) != 1:
                raise BookingError(_("Say which officer of this appointment to replace."))
            from_id = current[0].officer_id
        else:
            from_id = from_officer.pk
        assignment = next((a for a in current if a.officer_id == from_id), None)
        if assignment is None:
            raise BookingError(_("That officer is not on this appointment."))
        reassign_check(booking, from_officer_id=from_id, to_officer_id=to_officer.pk, now=now)
        before = booking_snapshot(booking)
        list(
            Officer.objects.select_for_update()
            .filter(pk__in=[from_id, to_officer.pk])
            .order_by("pk")
            .values_list("pk")
        )
        try:
            with transaction.atomic():
                BookingAssignment.objects.filter(pk=assignment.pk).update(officer_id=to_officer.pk)
        except (IntegrityError, OperationalError) as error:
            reraise_unless_conflict(error)
            raise SlotUnavailable(
                _("%(name)s was booked for that time by someone else a moment ago. Nothing was changed.")
                % {"name": to_officer}
            ) from error
        booking = booking_locked(booking)
        event = booking_event_record(
            booking,
            "reassigned",
            actor=actor,
            now=now,
            before=before,
            after=booking_snapshot(booking),
            reason=reason,
        )
        if tell_customer is None:
            tell_customer = officer_matters_to_customer(booking)
        if tell_customer:
            booking.sequence += 1
            booking.save(update_fields=["sequence"])
            customer_tell(booking=booking, kind=MessageKind.RESCHEDULED, event=event, now=now)
    return booking
