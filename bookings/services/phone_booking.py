"""Booking on behalf of a caller: customer service confirms a staff hold for a known or a new customer.

The same engine, holds and validation as the portal (`booking_hold`, then `booking_confirm`); what differs is
who is asked: staff choose the customer (or make a new one, audited), may record the case the appointment
belongs to, and may book a follow-up of an earlier appointment, which is linked and audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from accounts.tenancy import same_tenant_check
from bookings.contacts import ContactDetails
from bookings.errors import BookingError
from bookings.models import Booking, Customer

from .customers import customer_create
from .history import booking_event_record
from .idempotency import idempotency_for, idempotency_record, replayed
from .lifecycle import booking_confirm
from .placement import booking_locked


def booking_confirm_for_caller(
    *,
    booking: Booking,
    contact: ContactDetails,
    actor: User | None,
    customer: Customer | None = None,
    new_customer: dict[str, Any] | None = None,
    answers: dict[str, Any] | None = None,
    location: str = "",
    notes: str = "",
    case_reference: str = "",
    case_kind: str = "",
    follow_up_of: Booking | None = None,
    idempotency_key: str = "",
    now: datetime | None = None,
) -> Booking:
    """Confirms a hold for `customer`, or for a customer made from `new_customer` (through
    `customer_create`, audited), in one transaction. A follow-up keeps the earlier booking's customer and is
    linked to it (`follow_up_of`, with a "follow_up_linked" event). With an idempotency key, a second call
    with the same request returns the first one's booking and creates no second customer.
    """
    now = now or timezone.now()
    if (customer is None) == (new_customer is None):
        raise TypeError("Give either a customer or the details of a new one.")
    same_tenant_check(booking, *(obj for obj in (customer, follow_up_of) if obj is not None))
    if follow_up_of is not None and (customer is None or follow_up_of.customer_id != customer.pk):
        raise BookingError(_("A follow-up is booked for the customer of the first appointment."))
    answers = answers or {}
    idempotency = idempotency_for(
        idempotency_key,
        "booking.confirm_for_caller",
        booking=booking.pk,
        customer=customer.pk if customer else None,
        new_customer=new_customer,
        contact=contact.as_dict(),
        answers=answers,
        location=location,
        notes=notes,
        case_reference=case_reference,
        case_kind=case_kind,
        follow_up_of=follow_up_of.pk if follow_up_of else None,
    )
    if replay := replayed(idempotency, now=now):
        return replay
    try:
        with transaction.atomic():
            booking = booking_locked(booking)
            # Under the hold's lock: a concurrent copy of this request waits here, then finds the key.
            if replay := replayed(idempotency, now=now):
                return replay
            if customer is None:
                customer = customer_create(
                    tenant=booking.appointment_type.tenant, actor=actor, now=now, **(new_customer or {})
                )
            booking = booking_confirm(
                booking=booking,
                customer=customer,
                contact=contact,
                answers=answers,
                location=location,
                notes=notes,
                case_reference=case_reference,
                follow_up_of=follow_up_of,
                actor=actor,
                now=now,
            )
            booking.case_kind = case_kind
            booking.save(update_fields=["case_kind"])
            if follow_up_of is not None:
                booking_event_record(
                    booking,
                    "follow_up_linked",
                    actor=actor,
                    now=now,
                    after={"follow_up_of": follow_up_of.reference},
                )
            idempotency_record(idempotency, booking=booking, now=now)
            return booking
    except IntegrityError:
        if replay := replayed(idempotency, now=now):
            return replay
        raise
