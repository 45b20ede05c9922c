"""Telling customers about their bookings through the notifications outbox.

Every message is queued in the transaction of the change it tells of, in the language the booking was made
in, to the contact details the booking was made with (never the customer's record as it is now: someone
else may have booked with their details, and staff changes to a record apply to new bookings). Its
template variables (the documented set, as plain strings) are fixed when it is queued, dates and times in
the tenant's zone; emails about the appointment carry its calendar invitation, one UID for the booking's
whole life and SEQUENCE `Booking.sequence`, which the services raise with every change they tell of.

Reminders follow what the customer was last told: a confirmation or a new time plans them afresh (and
withdraws the ones still waiting), a cancellation or displacement withdraws them.

A message that fails for good on one channel falls back to the booking's other contact detail when the
customer gave it, agreed to be contacted about the appointment, and did not choose that channel already (it
then has the message anyway). Surveys and one-time codes never fall back: a survey is not worth an
unasked-for text, and a code goes only where the customer asked for it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from typing import Any, NamedTuple

from django.conf import settings
from django.urls import reverse
from django.utils import formats, translation
from django.utils.translation import gettext as _

from accounts.hosts import tenant_absolute_url
from bookings.calendar_files import booking_uid
from bookings.models import Booking, BookingEvent
from bookings.tokens import manage_token, survey_token
from notifications.models import Message, MessageChannel, MessageKind
from notifications.services import message_queue, messages_withdraw
from scheduling.models import AllocationStrategy

# Told with a calendar invitation that takes the appointment out of the customer's calendar.
CANCELLING_KINDS = (MessageKind.CANCELLED, MessageKind.DISPLACED)
# The customer now expects the appointment at the booking's time: its reminders are planned again.
PLANNING_KINDS = (MessageKind.CONFIRMATION, MessageKind.FOLLOW_UP, MessageKind.RESCHEDULED)
SURVEY_OPEN_FOR = timedelta(days=14)


def booking_topic(booking: Booking) -> str:
    return f"booking:{booking.reference}"


def booking_recipient(booking: Booking) -> str:
    return f"customer:{booking.customer_id}"


def officer_matters_to_customer(booking: Booking) -> bool:
    """Customers are told of a new officer only where they chose the officer: a type that is always taken
    by one named officer. Otherwise messages name no officer, and the time and place stay the same."""
    return booking.appointment_type.allocation_strategy == AllocationStrategy.NAMED_OFFICER


def customer_tell(*, booking: Booking, kind: str, event: BookingEvent, now: datetime) -> list[Message]:
    """Queues `kind` on each channel chosen when the booking was made, keyed by the event that caused it,
    so the message exists exactly when the change does and a retried change queues nothing twice.

    A confirmed follow-up is told as a follow-up. Confirmations and new times re-plan the reminders;
    cancellations and displacements withdraw them. Returns the messages told (not the reminders).
    """
    if booking.customer_id is None:
        return []
    if kind == MessageKind.CONFIRMATION and booking.follow_up_of_id is not None:
        kind = MessageKind.FOLLOW_UP
    previous = _previous_start(event) if kind == MessageKind.RESCHEDULED else None
    context = message_context(booking, previous_start=previous)
    invite = booking_invite(booking, method="CANCEL" if kind in CANCELLING_KINDS else "REQUEST")
    told = [
        _queue(
            booking, kind, address, context, f"booking-event:{event.pk}:{kind}:{address.channel}", now, invite
        )
        for address in _addresses(booking)
    ]
    if kind in PLANNING_KINDS:
        reminders_plan(booking=booking, now=now)
    elif kind in CANCELLING_KINDS:
        reminders_withdraw(booking=booking, now=now)
    return told


def reminders_plan(*, booking: Booking, now: datetime) -> list[Message]:
    """Withdraws the booking's reminders still waiting and queues one per offset of its type
    (`reminder_hours`) per chosen channel, due that long before the start and void once it has begun.
    Offsets already past are skipped. Runs once per change the customer is told of, each of which has its
    own start or sequence: both are in the dedupe key, so a booking moved (even back to an earlier time) gets
    reminders of its own rather than finding the withdrawn ones."""
    reminders_withdraw(booking=booking, now=now)
    if booking.customer_id is None:
        return []
    addresses = _addresses(booking)
    start = booking.starts_at.astimezone(UTC).strftime("%Y%m%dT%H%MZ")
    planned = []
    for hours in sorted(set(booking.appointment_type.reminder_hours), reverse=True):
        due = booking.starts_at - timedelta(hours=hours)
        if due <= now or not addresses:
            continue
        # The manage link's 90 days count from when the reminder goes, not from now.
        context = message_context(booking, link_valid_from=due)
        for address in addresses:
            key = f"reminder:{booking.public_id}:{booking.sequence}:{start}:{hours}h:{address.channel}"
            planned.append(
                _queue(
                    booking,
                    MessageKind.REMINDER,
                    address,
                    context,
                    key,
                    now,
                    None,  # the confirmation or change email put it in the calendar already
                    due_at=due,
                    expires_at=booking.starts_at,
                )
            )
    return planned


def reminders_withdraw(*, booking: Booking, now: datetime) -> int:
    """Cancels the booking's reminders not sent yet (the appointment moved, was cancelled or is over)."""
    return messages_withdraw(
        tenant_id=booking.tenant_id, topic=booking_topic(booking), kinds=[MessageKind.REMINDER], now=now
    )


def survey_invite(*, booking: Booking, now: datetime) -> list[Message]:
    """Asks the customer of a completed appointment to score it, once per booking and channel, if its type
    asks for surveys. The link (signed, naming the booking's public id) works for SURVEY_OPEN_FOR; the
    message is not sent once that has passed."""
    if booking.customer_id is None or not booking.appointment_type.survey_enabled:
        return []
    token = survey_token(tenant_id=booking.tenant_id, public_id=booking.public_id)
    context = {
        **message_context(booking),
        "survey_url": _absolute(booking, reverse("bookings:survey", args=[token])),
    }
    return [
        _queue(
            booking,
            MessageKind.SURVEY,
            address._replace(fallback_channel="", fallback_to=""),
            context,
            f"survey:{booking.public_id}:{address.channel}",
            now,
            None,
            expires_at=now + SURVEY_OPEN_FOR,
        )
        for address in _addresses(booking)
    ]


# --- what a message says ----------------------------------------------------------------------------------


def message_context(
    booking: Booking, *, previous_start: datetime | None = None, link_valid_from: datetime | None = None
) -> dict[str, str]:
    """The documented template variables for a message about `booking`, in its language and its tenant's
    zone. `previous_*` say where a moved appointment was ("" when only the officer changed)."""
    appointment_type = booking.appointment_type
    tenant = appointment_type.tenant
    zone = tenant.zone
    start, end = booking.starts_at.astimezone(zone), booking.ends_at.astimezone(zone)
    moved_from = (
        previous_start.astimezone(zone) if previous_start and previous_start != booking.starts_at else None
    )
    token = manage_token(tenant_id=booking.tenant_id, public_id=booking.public_id, valid_from=link_valid_from)
    with translation.override(booking.contact_language):
        return {
            "customer_name": booking.contact_name or (booking.customer.full_name if booking.customer else ""),
            "reference": booking.reference,
            "service": appointment_type.name,
            "date": formats.date_format(start, "l j F Y"),
            "time": formats.date_format(start, "H:i"),
            "end_time": formats.date_format(end, "H:i"),
            "location": booking_place(booking),
            "officer": _officers(booking),
            "council": tenant.name,
            "council_phone": "",
            "manage_url": _absolute(booking, reverse("bookings:manage", args=[token])),
            "previous_date": formats.date_format(moved_from, "l j F Y") if moved_from else "",
            "previous_time": formats.date_format(moved_from, "H:i") if moved_from else "",
        }


def booking_place(booking: Booking) -> str:
    """Where, in the active language: "At our office: 1 High Street", "By phone"."""
    how = booking.appointment_type.get_location_mode_display()
    return f"{how}: {booking.location}" if booking.location else str(how)


def booking_invite(booking: Booking, *, method: str) -> dict[str, Any]:
    """The calendar invitation for the booking as it stands (plain data; notifications renders it)."""
    appointment_type = booking.appointment_type
    tenant = appointment_type.tenant
    with translation.override(booking.contact_language):
        lines = [_("Reference: %(reference)s") % {"reference": booking.reference}]
        if documents := appointment_type.documents():
            lines += ["", _("Please bring:"), *[f"- {document}" for document in documents]]
        location = booking_place(booking)
    return {
        "uid": booking_uid(booking),
        "sequence": booking.sequence,
        "method": method,
        "starts_at": booking.starts_at.astimezone(UTC).isoformat(),
        "ends_at": booking.ends_at.astimezone(UTC).isoformat(),
        "summary": f"{appointment_type.name} – {tenant.name}",
        "location": location,
        "description": "\n".join(lines),
        "organizer": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        "attendee": booking.contact_email,
        "time_zone": tenant.time_zone,
    }


def _officers(booking: Booking) -> str:
    if not officer_matters_to_customer(booking):
        return ""
    names = (
        booking.assignments.filter(is_active=True, officer__isnull=False)
        .order_by("officer__user__full_name")
        .values_list("officer__user__full_name", flat=True)
    )
    return ", ".join(names)


def _absolute(booking: Booking, path: str) -> str:
    try:
        return tenant_absolute_url(booking.tenant_id, path)
    except LookupError:  # a tenant without a host name has no links to give; the message still goes
        return ""


def _previous_start(event: BookingEvent) -> datetime | None:
    value = (event.before or {}).get("starts_at")
    return datetime.fromisoformat(value) if value else None


# --- where a message goes ---------------------------------------------------------------------------------


class Address(NamedTuple):
    """A chosen channel and its address, with the other contact detail to fall back to (or "")."""

    channel: str
    to: str
    fallback_channel: str
    fallback_to: str


def _addresses(booking: Booking) -> list[Address]:
    """The chosen channels with their addresses, each with the other contact detail to fall back to."""
    given = {
        MessageChannel.EMAIL: (booking.contact_email, booking.contact_by_email),
        MessageChannel.SMS: (booking.contact_phone, booking.contact_by_sms),
    }
    addresses = []
    for channel, (to, chosen) in given.items():
        if not (to and chosen):
            continue
        other = MessageChannel.SMS if channel == MessageChannel.EMAIL else MessageChannel.EMAIL
        other_to, other_chosen = given[other]
        falls_back = bool(other_to) and not other_chosen and booking.contact_consent_at is not None
        addresses.append(Address(channel, to, other if falls_back else "", other_to if falls_back else ""))
    return addresses


def _queue(
    booking: Booking,
    kind: str,
    address: Address,
    context: dict[str, str],
    dedupe_key: str,
    now: datetime,
    invite: dict[str, Any] | None,
    *,
    due_at: datetime | None = None,
    expires_at: datetime | None = None,
) -> Message:
    return message_queue(
        tenant_id=booking.tenant_id,
        kind=kind,
        channel=address.channel,
        to=address.to,
        dedupe_key=dedupe_key,
        topic=booking_topic(booking),
        recipient=booking_recipient(booking),
        language=booking.contact_language,
        context=context,
        # Only emails attach it; a text keeps it so that an email falling back from the text carries it.
        invite=invite,
        due_at=due_at,
        expires_at=expires_at,
        fallback_channel=address.fallback_channel,
        fallback_to=address.fallback_to,
        now=now,
    )
