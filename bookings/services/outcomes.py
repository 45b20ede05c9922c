"""What staff record about an appointment after (or around) it: its outcome and the case it belongs to."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.tenancy import same_tenant_check
from bookings.errors import BookingError, InvalidTransition
from bookings.models import Booking, BookingStatus, CaseKind

from .history import booking_event_record
from .lifecycle import booking_complete, booking_mark_no_show
from .placement import booking_locked, started_check

OUTCOMES = (BookingStatus.COMPLETED, BookingStatus.NO_SHOW)


@transaction.atomic
def booking_outcome_record(
    *,
    booking: Booking,
    outcome: str,
    notes: str,
    follow_up_needed: bool,
    actor: User | None,
    now: datetime | None = None,
) -> Booking:
    """Records that a confirmed appointment happened (or the customer did not come), the officer's notes and
    whether a follow-up is needed; never before the appointment has started.

    The status change goes through booking_complete/booking_mark_no_show (their own audit event); the notes
    and flag get an "outcome_recorded" event when they change. Recording the same outcome twice changes
    nothing the second time; changing notes on a recorded outcome is allowed (and audited); switching a
    completed appointment to a no-show (or back) is refused by the lifecycle.
    """
    now = now or timezone.now()
    if outcome not in OUTCOMES:
        raise BookingError(_("Choose whether the appointment was completed or the customer did not come."))
    same_tenant_check(booking)
    booking = booking_locked(booking)
    started_check(booking, now)
    if booking.status != outcome:
        if booking.status in OUTCOMES:
            raise InvalidTransition(
                _("The outcome of this appointment is already recorded as %(status)s.")
                % {"status": booking.get_status_display()}
            )
        record = booking_complete if outcome == BookingStatus.COMPLETED else booking_mark_no_show
        booking = record(booking=booking, actor=actor, now=now)
    before = {"outcome_notes": booking.outcome_notes, "follow_up_needed": booking.follow_up_needed}
    after = {"outcome_notes": notes, "follow_up_needed": follow_up_needed}
    if before == after:
        return booking
    booking.outcome_notes = notes
    booking.follow_up_needed = follow_up_needed
    booking.updated_at = now
    booking.save(update_fields=["outcome_notes", "follow_up_needed", "updated_at"])
    booking_event_record(booking, "outcome_recorded", actor=actor, now=now, before=before, after=after)
    return booking


@transaction.atomic
def booking_case_link(
    *, booking: Booking, reference: str, kind: str, actor: User | None, now: datetime | None = None
) -> Booking:
    """Links a booking to the regulatory case it belongs to (or unlinks it, with a blank reference).

    A reference without a kind, or a kind without a reference, is refused; the same link twice changes
    nothing the second time.
    """
    now = now or timezone.now()
    reference = reference.strip()
    if kind and kind not in CaseKind.values:
        raise BookingError(_("Choose a kind of case from the list."))
    if bool(reference) != bool(kind):
        raise BookingError(_("Give both the case reference and the kind of case, or neither."))
    same_tenant_check(booking)
    booking = booking_locked(booking)
    before = {"case_reference": booking.case_reference, "case_kind": booking.case_kind}
    after = {"case_reference": reference, "case_kind": kind}
    if before == after:
        return booking
    booking.case_reference = reference
    booking.case_kind = kind
    booking.updated_at = now
    booking.save(update_fields=["case_reference", "case_kind", "updated_at"])
    booking_event_record(booking, "case_linked", actor=actor, now=now, before=before, after=after)
    return booking
