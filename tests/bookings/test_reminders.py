"""Reminders per appointment type: planned on confirmation, planned again when the time moves, withdrawn
when the appointment is cancelled, displaced or over; never planned for the past, never sent once it began."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django_scopes import scope

from accounts.models import Role
from bookings.contacts import ContactDetails
from bookings.models import Booking
from bookings.services import (
    booking_cancel,
    booking_create,
    booking_mark_no_show,
    booking_reschedule,
)
from bookings.tokens import BadLink, public_id_from_manage_token
from notifications.dispatch import message_deliver
from notifications.models import Message, MessageStatus
from scheduling.models import AppointmentType
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.scheduling.test_admin import appointment_type_post, form_errors

ANN = ContactDetails(
    name="Ann Jones", email="ann@example.org", phone="07700 900123", by_sms=True, consent=True
)


@pytest.fixture
def world(in_tenant):
    tenant = in_tenant
    b.officer(tenant)
    b.officer(tenant)
    return tenant, b.appointment_type(tenant)


def confirm(kind, start=None, n=1, contact=ANN, **kwargs) -> Booking:
    return booking_create(
        appointment_type=kind,
        starts_at=start or at(MONDAY, 10),
        customer=b.customer(kind.tenant, n),
        contact=contact,
        now=kwargs.pop("now", NOW),
        **kwargs,
    )


def reminders(booking: Booking, status: str = MessageStatus.PENDING) -> list[tuple]:
    return list(
        Message.objects.filter(topic=f"booking:{booking.reference}", kind="reminder", status=status)
        .order_by("due_at", "channel")
        .values_list("due_at", "channel", "expires_at")
    )


def planned(start, hours=(48, 2), channels=("email", "sms")) -> list[tuple]:
    return [(start - timedelta(hours=h), channel, start) for h in hours for channel in channels]


def test_confirming_plans_a_reminder_per_offset_and_chosen_channel(world) -> None:
    _tenant, kind = world
    booking = confirm(kind)

    assert reminders(booking) == planned(at(MONDAY, 10))
    reminder = Message.objects.get(
        topic=f"booking:{booking.reference}", kind="reminder", channel="email", due_at=at(MONDAY, 8)
    )
    assert reminder.to == "ann@example.org" and reminder.language == "en-gb"
    assert reminder.context["date"] == "Monday 1 March 2027" and reminder.context["time"] == "10:00"
    assert reminder.invite is None  # the confirmation put the appointment in the calendar already
    assert "20270301T1000Z" in reminder.dedupe_key  # the start: a moved booking gets reminders of its own


def test_offsets_already_past_are_not_planned(world) -> None:
    _tenant, kind = world
    tomorrow = confirm(kind, start=NOW + timedelta(hours=30))  # the 48-hour reminder would be in the past
    within_the_hour = confirm(kind, start=NOW + timedelta(hours=1), n=2)

    assert reminders(tomorrow) == planned(NOW + timedelta(hours=30), hours=(2,))
    assert reminders(within_the_hour) == []
    assert Message.objects.filter(kind="reminder", due_at__lte=NOW).count() == 0


def test_a_type_without_reminders_plans_none_and_its_own_offsets_are_used(world) -> None:
    tenant, _kind = world
    silent = b.appointment_type(tenant, reminder_hours=[])
    weekly = b.appointment_type(tenant, reminder_hours=[1, 168])
    assert reminders(confirm(silent)) == []
    assert reminders(confirm(weekly, start=at(MONDAY, 14), n=2)) == planned(at(MONDAY, 14), hours=(168, 1))


def test_moving_withdraws_the_waiting_reminders_and_plans_new_ones_even_moving_back(world) -> None:
    _tenant, kind = world
    booking = confirm(kind)

    booking_reschedule(booking=booking, starts_at=at(MONDAY, 14), now=NOW)
    assert reminders(booking) == planned(at(MONDAY, 14))
    assert reminders(booking, MessageStatus.CANCELLED) == planned(at(MONDAY, 10))

    booking_reschedule(booking=booking, starts_at=at(MONDAY, 10), now=NOW)
    assert reminders(booking) == planned(at(MONDAY, 10))  # fresh ones, not the withdrawn ones revived
    pending = Message.objects.filter(topic=f"booking:{booking.reference}", kind="reminder", status="pending")
    assert {m.dedupe_key.split(":")[2] for m in pending} == {"2"}  # the sequence of the second move


def test_moving_close_to_the_time_plans_only_what_is_still_ahead(world) -> None:
    _tenant, kind = world
    booking = confirm(kind)
    later = NOW + timedelta(days=5)  # 2027-02-27 09:00, two days before the appointment
    booking_reschedule(booking=booking, starts_at=at(MONDAY, 10), now=later - timedelta(hours=1))
    booking_reschedule(booking=booking, starts_at=at(MONDAY, 9), now=later)
    assert reminders(booking) == planned(at(MONDAY, 9), hours=(2,))


@pytest.mark.parametrize("end", ["cancel", "no-show"])
def test_cancelling_or_a_no_show_withdraws_the_reminders(world, end) -> None:
    _tenant, kind = world
    booking = confirm(kind)
    if end == "cancel":
        booking_cancel(booking=booking, now=NOW)
    else:
        booking_mark_no_show(booking=booking, now=at(MONDAY, 10, 15))
    assert reminders(booking) == []
    assert reminders(booking, MessageStatus.CANCELLED) == planned(at(MONDAY, 10))


def test_each_place_in_a_group_session_has_its_own_reminders(world) -> None:
    tenant, _kind = world
    session = b.appointment_type(tenant, capacity=3, name="Licensing workshop")
    first = confirm(session)
    second = confirm(session, n=2, contact=ContactDetails(name="Bob", email="bob@example.org", consent=True))
    assert first.session_key == second.session_key
    assert reminders(first) == planned(at(MONDAY, 10))
    assert reminders(second) == planned(at(MONDAY, 10), channels=("email",))


def test_a_reminder_goes_when_due_and_never_once_the_appointment_has_begun(world) -> None:
    _tenant, kind = world
    booking = confirm(kind, contact=ContactDetails(name="Ann", email="ann@example.org"))
    early, late = Message.objects.filter(kind="reminder").order_by("due_at")

    two_days_before = at(MONDAY, 10) - timedelta(hours=48)
    assert message_deliver(early.pk, now=two_days_before - timedelta(minutes=1)) == "skipped"  # not due
    assert message_deliver(early.pk, now=two_days_before) == "sent"
    assert len(mail.outbox) == 1 and booking.reference in mail.outbox[0].body
    assert message_deliver(late.pk, now=at(MONDAY, 10)) == "expired"  # the appointment has begun
    assert len(mail.outbox) == 1


def test_a_reminder_sent_months_later_carries_a_manage_link_that_still_works(world) -> None:
    tenant, kind = world
    start = at(MONDAY + timedelta(days=140), 10)
    booking = confirm(kind, start=start, contact=ContactDetails(name="Ann", email="ann@example.org"))
    confirmation = Message.objects.get(topic=f"booking:{booking.reference}", kind="confirmation")
    reminder = Message.objects.filter(kind="reminder").order_by("due_at").first()

    def token(message: Message) -> str:
        return message.context["manage_url"].rstrip("/").rsplit("/", 1)[1]

    with time_machine.travel(start - timedelta(hours=47), tick=False):
        with pytest.raises(BadLink) as old:
            public_id_from_manage_token(token(confirmation), tenant_id=tenant.pk)
        assert old.value.expired
        assert public_id_from_manage_token(token(reminder), tenant_id=tenant.pk) == booking.public_id


# --- the setting -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "valid"),
    [([48, 2], True), ([], True), ([720, 1], True), ([0], False), ([721], False), ([2, 2], False)],
)
def test_reminder_hours_are_each_1_to_720_hours_and_given_once(world, hours, valid) -> None:
    tenant, _kind = world
    kind = AppointmentType(
        tenant=tenant,
        name="Check",
        slug="check",
        category=_kind.category,
        duration_minutes=30,
        location_mode="office",
        reminder_hours=hours,
    )
    if valid:
        kind.full_clean()
    else:
        with pytest.raises(ValidationError) as error:
            kind.full_clean()
        assert "reminder_hours" in error.value.message_dict


def test_administrators_set_the_reminders_and_the_survey_in_the_admin(tenant, client_for, member_of) -> None:
    admin = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    kind = b.appointment_type(tenant, slug="gas-safety-check")
    url = f"/admin/scheduling/appointmenttype/{kind.pk}/change/"
    page = admin.get(url).content.decode()
    assert 'name="reminder_hours"' in page and 'value="48,2"' in page and 'name="survey_enabled"' in page

    data = appointment_type_post(kind.category_id, reminder_hours="24,24")
    refused = admin.post(url, data)
    assert refused.status_code == 200 and "Give each number of hours once." in str(form_errors(refused))

    assert admin.post(url, appointment_type_post(kind.category_id, reminder_hours="72, 1")).status_code == 302
    with scope(tenant=tenant):
        kind.refresh_from_db()
    assert kind.reminder_hours == [72, 1] and kind.survey_enabled is False  # the box was left unticked
