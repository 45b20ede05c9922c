"""What each booking change tells the customer: exactly which messages are queued, on which channels, in
which language, with which template variables and calendar invitation (method and SEQUENCE)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from email.utils import parseaddr

import pytest
from django.conf import settings

from accounts.models import Role
from bookings.contacts import ContactDetails
from bookings.errors import SlotUnavailable
from bookings.models import Booking, BookingStatus, Channel
from bookings.services import (
    booking_cancel,
    booking_confirm_for_caller,
    booking_create,
    booking_create_displacing,
    booking_hold,
    booking_reassign,
    booking_reschedule,
    conflict_resolve,
)
from bookings.tokens import public_id_from_manage_token
from notifications.models import Message, MessageStatus
from scheduling.models import Absence, AllocationStrategy, Priority
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import MembershipFactory

ANN = ContactDetails(
    name="Ann Jones",
    email="ann@example.org",
    phone="07700 900123",
    by_email=True,
    by_sms=True,
    consent=True,
)


@pytest.fixture
def world(in_tenant):
    tenant = in_tenant
    officer = b.officer(tenant)
    kind = b.appointment_type(tenant, documents_to_bring="Your food business licence")
    return tenant, officer, kind


def confirm(
    kind, start: datetime | None = None, contact: ContactDetails = ANN, n: int = 1, **details
) -> Booking:
    return booking_create(
        appointment_type=kind,
        starts_at=start or at(MONDAY, 10),
        customer=b.customer(kind.tenant, n),
        contact=contact,
        now=NOW,
        **details,
    )


def told(booking: Booking) -> list[Message]:
    """The messages telling the customer of a change (reminders have their own tests), in order."""
    return list(
        Message.objects.filter(topic=f"booking:{booking.reference}").exclude(kind="reminder").order_by("pk")
    )


def summary(messages: list[Message]) -> list[tuple]:
    return [
        (m.kind, m.channel, (m.invite or {}).get("method"), (m.invite or {}).get("sequence"))
        for m in messages
    ]


def pending_reminders(booking: Booking) -> list[Message]:
    return list(
        Message.objects.filter(
            topic=f"booking:{booking.reference}", kind="reminder", status=MessageStatus.PENDING
        ).order_by("due_at", "channel")
    )


# --- confirmation: variables, language, invitation ---------------------------------------------------------


def test_confirmation_goes_on_each_chosen_channel_with_its_variables_and_invitation(world) -> None:
    tenant, _officer, kind = world
    booking = confirm(kind, location="1 High Street, Northtown")

    messages = told(booking)

    assert [(m.kind, m.channel, m.to, m.language) for m in messages] == [
        ("confirmation", "email", "ann@example.org", "en-gb"),
        ("confirmation", "sms", "+447700900123", "en-gb"),
    ]
    email, sms = messages
    manage_url = email.context.pop("manage_url")
    assert email.context == {
        "customer_name": "Ann Jones",
        "reference": booking.reference,
        "service": "Food hygiene inspection",
        "date": "Monday 1 March 2027",
        "time": "10:00",
        "end_time": "11:00",
        "location": "At the customer's address: 1 High Street, Northtown",
        "officer": "",
        "council": "Northshire Council",
        "council_phone": "",
        "previous_date": "",
        "previous_time": "",
    }
    assert manage_url.startswith("https://northshire.localhost/manage/") and manage_url.endswith("/")
    token = manage_url.removeprefix("https://northshire.localhost/manage/").removesuffix("/")
    assert public_id_from_manage_token(token, tenant_id=tenant.pk) == booking.public_id
    assert email.invite == {
        "uid": f"{booking.public_id}@bookings",
        "sequence": 0,
        "method": "REQUEST",
        "starts_at": "2027-03-01T10:00:00+00:00",
        "ends_at": "2027-03-01T11:00:00+00:00",
        "summary": "Food hygiene inspection – Northshire Council",
        "location": "At the customer's address: 1 High Street, Northtown",
        "description": f"Reference: {booking.reference}\n\nPlease bring:\n- Your food business licence",
        "organizer": parseaddr(settings.DEFAULT_FROM_EMAIL)[1],
        "attendee": "ann@example.org",
        "time_zone": "Europe/London",
    }
    # The text says the same; it keeps the invitation for an email that may fall back from it.
    assert sms.invite == email.invite and sms.context["reference"] == booking.reference
    assert all(m.due_at == NOW and m.status == MessageStatus.PENDING for m in messages)
    assert {m.recipient for m in messages} == {f"customer:{booking.customer_id}"}


def test_a_welsh_booking_is_told_in_welsh_in_the_tenants_summer_time(world) -> None:
    _tenant, _officer, kind = world
    summer = datetime(2027, 6, 7, 9, 0, tzinfo=UTC)  # 10:00 in London (BST)
    welsh = ContactDetails(name="Siân Jones", email="sian@example.org", by_email=True, language="cy")
    booking = confirm(kind, start=summer, contact=welsh, location="1 Stryd Fawr")

    (message,) = told(booking)

    assert (message.kind, message.channel, message.language) == ("confirmation", "email", "cy")
    context = message.context
    assert (context["date"], context["time"], context["end_time"]) == (
        "Dydd Llun 7 Mehefin 2027",
        "10:00",
        "11:00",
    )
    assert context["location"] == "Yng nghyfeiriad y cwsmer: 1 Stryd Fawr"
    assert context["customer_name"] == "Siân Jones"
    assert message.invite["description"] == (
        f"Cyfeirnod: {booking.reference}\n\nDewch â'r canlynol:\n- Your food business licence"
    )
    assert message.invite["starts_at"] == "2027-06-07T09:00:00+00:00"  # UTC in the invitation


def test_the_officer_is_named_only_where_the_customer_chose_them(in_tenant) -> None:
    tenant = in_tenant
    named = b.officer(tenant)
    chosen = b.appointment_type(
        tenant, allocation_strategy=AllocationStrategy.NAMED_OFFICER, named_officer=named
    )
    anyone = b.appointment_type(tenant)
    assert told(confirm(chosen))[0].context["officer"] == named.user.full_name
    assert told(confirm(anyone, start=at(MONDAY, 14), n=2))[0].context["officer"] == ""


# --- changes: the right kinds, methods and an increasing sequence ------------------------------------------


def test_moving_then_cancelling_tells_each_change_with_a_higher_sequence(world) -> None:
    _tenant, _officer, kind = world
    booking = confirm(kind)
    booking_reschedule(booking=booking, starts_at=at(MONDAY, 14), now=NOW)
    booking_cancel(booking=booking, now=NOW)

    messages = told(booking)

    assert summary(messages) == [
        ("confirmation", "email", "REQUEST", 0),
        ("confirmation", "sms", "REQUEST", 0),
        ("rescheduled", "email", "REQUEST", 1),
        ("rescheduled", "sms", "REQUEST", 1),
        ("cancelled", "email", "CANCEL", 2),
        ("cancelled", "sms", "CANCEL", 2),
    ]
    moved = messages[2].context
    assert (moved["previous_date"], moved["previous_time"]) == ("Monday 1 March 2027", "10:00")
    assert (moved["date"], moved["time"]) == ("Monday 1 March 2027", "14:00")
    assert messages[2].invite["starts_at"] == "2027-03-01T14:00:00+00:00"
    assert len({m.invite["uid"] for m in messages}) == 1  # one calendar entry, updated
    booking.refresh_from_db()
    assert booking.sequence == 2


def test_a_failed_move_and_a_hold_given_up_tell_nothing_and_keep_the_sequence(world) -> None:
    _tenant, _officer, kind = world
    booking = confirm(kind)
    other = confirm(kind, start=at(MONDAY, 14), n=2)
    with pytest.raises(SlotUnavailable):
        booking_reschedule(booking=booking, starts_at=other.starts_at, now=NOW)
    hold = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 16), now=NOW)
    booking_cancel(booking=hold, now=NOW)

    booking.refresh_from_db()
    hold.refresh_from_db()
    assert summary(told(booking)) == [
        ("confirmation", "email", "REQUEST", 0),
        ("confirmation", "sms", "REQUEST", 0),
    ]
    assert booking.sequence == 0 and told(hold) == [] and hold.sequence == 0


def test_a_follow_up_is_told_as_a_follow_up_not_a_confirmation(world) -> None:
    tenant, _officer, kind = world
    first = confirm(kind)
    actor = MembershipFactory(tenant=tenant, role=Role.CUSTOMER_SERVICE).user
    hold = booking_hold(
        appointment_type=kind, starts_at=at(MONDAY + timedelta(days=7), 10), now=NOW, channel=Channel.STAFF
    )
    follow_up = booking_confirm_for_caller(
        booking=hold, contact=ANN, actor=actor, customer=first.customer, follow_up_of=first, now=NOW
    )

    assert follow_up.follow_up_of == first
    assert summary(told(follow_up)) == [
        ("follow_up", "email", "REQUEST", 0),
        ("follow_up", "sms", "REQUEST", 0),
    ]
    assert told(follow_up)[0].context["date"] == "Monday 8 March 2027"
    assert len(pending_reminders(follow_up)) == 4  # two offsets, two channels: like any confirmation


def test_a_new_officer_is_told_only_when_it_matters_and_then_raises_the_sequence(world) -> None:
    tenant, officer, kind = world
    actor = MembershipFactory(tenant=tenant, role=Role.MANAGER).user
    second, third = b.officer(tenant), b.officer(tenant)
    booking = confirm(kind, officer_ids=[officer.pk])
    reminders = pending_reminders(booking)

    booking_reassign(booking=booking, to_officer=second, actor=actor, now=NOW)
    booking.refresh_from_db()
    assert booking.sequence == 0 and len(told(booking)) == 2  # the confirmation only
    assert pending_reminders(booking) == reminders  # same time, same reminders

    booking_reassign(booking=booking, to_officer=third, actor=actor, now=NOW, tell_customer=True)
    booking.refresh_from_db()
    assert booking.sequence == 1
    assert summary(told(booking))[2:] == [
        ("rescheduled", "email", "REQUEST", 1),
        ("rescheduled", "sms", "REQUEST", 1),
    ]
    changed = told(booking)[2].context
    assert (changed["previous_date"], changed["previous_time"]) == ("", "")  # the time did not move
    # The reminders follow what the customer was last told: planned again, with the new sequence.
    assert {m.dedupe_key.split(":")[2] for m in pending_reminders(booking)} == {"1"}
    assert all(Message.objects.get(pk=m.pk).status == MessageStatus.CANCELLED for m in reminders)


def test_displacing_then_resolving_with_a_new_time_tells_exactly_that(world) -> None:
    tenant, officer, kind = world
    actor = MembershipFactory(tenant=tenant, role=Role.MANAGER).user
    urgent = b.appointment_type(tenant, urgent_target_hours=4, slug="urgent")
    routine = confirm(kind, officer_ids=[officer.pk])
    booking_create_displacing(
        appointment_type=urgent,
        starts_at=at(MONDAY, 10),
        customer=b.customer(tenant, 99),
        displace_booking_ids=[routine.pk],
        officer_ids=[officer.pk],
        reason="Gas leak",
        priority=Priority.URGENT,
        actor=actor,
        now=NOW,
    )
    routine.refresh_from_db()
    assert routine.status == BookingStatus.NEEDS_REBOOKING and routine.sequence == 1
    assert summary(told(routine))[2:] == [
        ("displaced", "email", "CANCEL", 1),
        ("displaced", "sms", "CANCEL", 1),
    ]
    assert pending_reminders(routine) == []  # nothing reminds of a time that is gone

    item = routine.conflicts.get()
    conflict_resolve(item=item, starts_at=at(MONDAY, 14), actor=actor, now=NOW)

    routine.refresh_from_db()
    assert routine.sequence == 2
    assert summary(told(routine))[4:] == [
        ("rescheduled", "email", "REQUEST", 2),
        ("rescheduled", "sms", "REQUEST", 2),
    ]
    assert [m.due_at for m in pending_reminders(routine)] == [
        at(MONDAY, 14) - timedelta(hours=48),
        at(MONDAY, 14) - timedelta(hours=48),
        at(MONDAY, 14) - timedelta(hours=2),
        at(MONDAY, 14) - timedelta(hours=2),
    ]


def test_resolving_an_absence_with_another_officer_tells_nothing(world) -> None:
    tenant, officer, kind = world
    actor = MembershipFactory(tenant=tenant, role=Role.MANAGER).user
    booking = confirm(kind, officer_ids=[officer.pk])
    second = b.officer(tenant)
    reminders = pending_reminders(booking)
    Absence.objects.create(tenant=tenant, officer=officer, starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 17))

    conflict_resolve(item=booking.conflicts.get(), to_officer=second, actor=actor, now=NOW)

    booking.refresh_from_db()
    assert len(told(booking)) == 2 and booking.sequence == 0
    assert pending_reminders(booking) == reminders


# --- where messages go when a channel fails for good -------------------------------------------------------


@pytest.mark.parametrize(
    ("contact", "expected"),
    [
        # Chose email, gave a mobile and agreed to be contacted: a bounced email is texted instead.
        (
            ContactDetails(name="A", email="a@example.org", phone="07700 900123", consent=True),
            [("email", "sms", "+447700900123")],
        ),
        (
            ContactDetails(
                name="A",
                email="a@example.org",
                phone="07700 900123",
                by_email=False,
                by_sms=True,
                consent=True,
            ),
            [("sms", "email", "a@example.org")],
        ),
        # Did not agree to be contacted: only the chosen channel.
        (ContactDetails(name="A", email="a@example.org", phone="07700 900123"), [("email", "", "")]),
        # Chose both: each channel has the message already.
        (
            ContactDetails(name="A", email="a@example.org", phone="07700 900123", by_sms=True, consent=True),
            [("email", "", ""), ("sms", "", "")],
        ),
        # Nothing else to try.
        (ContactDetails(name="A", email="a@example.org", consent=True), [("email", "", "")]),
    ],
)
def test_a_message_falls_back_to_the_other_contact_given_with_consent(world, contact, expected) -> None:
    _tenant, _officer, kind = world
    booking = confirm(kind, contact=contact)
    assert [(m.channel, m.fallback_channel, m.fallback_to) for m in told(booking)] == expected
    reminders = Message.objects.filter(topic=f"booking:{booking.reference}", kind="reminder")
    assert {(m.channel, m.fallback_channel, m.fallback_to) for m in reminders} == set(expected)


def test_a_booking_made_in_another_week_tells_its_own_date(world) -> None:
    """The variables are the booking's own, fixed when queued: a later change does not rewrite them."""
    _tenant, _officer, kind = world
    booking = confirm(kind, start=at(date(2027, 3, 2), 9))
    first = told(booking)[0]
    booking_reschedule(booking=booking, starts_at=at(date(2027, 3, 3), 9), now=NOW)
    first.refresh_from_db()
    assert first.context["date"] == "Tuesday 2 March 2027" and first.context["time"] == "09:00"
    assert told(booking)[2].context["date"] == "Wednesday 3 March 2027"
