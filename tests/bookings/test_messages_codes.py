"""One-time codes go through the outbox: queued, sent at once in the request, stored only once sent, and not
left readable in the database; a failed send leaves no code and no message behind."""

from __future__ import annotations

import re
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend

from bookings.contacts import ContactDetails
from bookings.errors import CodeNotSent
from bookings.models import Booking
from bookings.services import access_code_send, booking_create
from bookings.services import codes as codes_module
from bookings.tokens import client_digest, one_time_code_check
from notifications import dispatch
from notifications.fakes import RecordingTwilioClient
from notifications.models import Message, MessageStatus
from tests import builders as b
from tests.builders import MONDAY, NOW, at

ME = client_digest("198.51.100.7")


class FailingMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages) -> int:
        raise OSError("mail provider down")


@pytest.fixture
def booking(in_tenant) -> Booking:
    tenant = in_tenant
    b.officer(tenant)
    contact = ContactDetails(name="Ann", email="ann@example.org", phone="07700 900123", language="cy")
    return booking_create(
        appointment_type=b.appointment_type(tenant),
        starts_at=at(MONDAY, 10),
        customer=b.customer(tenant),
        contact=contact,
        now=NOW,
    )


def codes() -> list[Message]:
    return list(Message.objects.filter(kind="code").order_by("pk"))


def works(booking: Booking, code: str) -> bool:
    return one_time_code_check(
        tenant_id=booking.tenant_id, reference=booking.reference, code=code, client=ME, now=NOW
    )


def test_a_code_is_sent_at_once_through_the_outbox_and_then_unreadable(booking) -> None:
    mail.outbox.clear()
    assert access_code_send(reference=booking.reference, contact="ANN@example.org ", now=NOW) is True

    (message,) = codes()
    assert (message.channel, message.to, message.language) == ("email", "ann@example.org", "cy")
    assert (message.status, message.sent_at, message.attempts, message.max_attempts) == (
        MessageStatus.SENT,
        NOW,
        1,
        1,
    )
    assert message.expires_at == NOW + timedelta(minutes=10)
    assert message.topic == f"booking:{booking.reference}"
    assert message.context["code"] == ""  # blanked once sent
    assert (message.context["minutes_valid"], message.context["reference"]) == ("10", booking.reference)
    (sent,) = mail.outbox
    code = re.search(r"\b(\d{6})\b", sent.body).group(1)
    assert works(booking, code)


def test_a_code_asked_for_by_mobile_is_texted(booking) -> None:
    RecordingTwilioClient.sent.clear()
    assert access_code_send(reference=booking.reference, contact="07700 900123", now=NOW) is True
    (message,) = codes()
    assert (message.channel, message.to, message.status) == ("sms", "+447700900123", MessageStatus.SENT)
    code = re.search(r"\b(\d{6})\b", RecordingTwilioClient.sent[-1]["Body"]).group(1)
    assert works(booking, code)


def test_each_code_is_its_own_message(booking) -> None:
    for _ in range(2):
        access_code_send(reference=booking.reference, contact="ann@example.org", now=NOW)
    first, second = codes()
    assert first.dedupe_key != second.dedupe_key and second.status == MessageStatus.SENT


def test_a_contact_the_booking_was_not_made_with_gets_nothing_and_queues_nothing(booking) -> None:
    assert access_code_send(reference=booking.reference, contact="eve@example.org", now=NOW) is False
    assert codes() == []


def test_a_failed_send_stores_no_code_and_leaves_no_message(booking, settings) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.FailingMailBackend"
    with (
        mock.patch.object(codes_module, "one_time_code_new", return_value="424242"),
        pytest.raises(CodeNotSent),
    ):
        access_code_send(reference=booking.reference, contact="ann@example.org", now=NOW)
    assert codes() == []
    assert not works(booking, "424242")


def test_a_code_the_outbox_sweep_sent_first_still_counts(booking) -> None:
    """The sweep may take the row between the queuing commit and the send in the request: the request
    waits for it and goes by what it did."""

    def sweep_first(message_id: int, *, now=None) -> str:
        assert dispatch.message_deliver(message_id, now=now) == "sent"
        return "skipped"

    with (
        mock.patch.object(codes_module, "message_deliver", side_effect=sweep_first),
        mock.patch.object(codes_module, "one_time_code_new", return_value="515151"),
    ):
        assert access_code_send(reference=booking.reference, contact="ann@example.org", now=NOW)
    assert works(booking, "515151")


def test_a_code_nobody_sent_is_not_stored_nor_left_to_be_sent_later(booking) -> None:
    with (
        mock.patch.object(codes_module, "message_deliver", return_value="skipped"),
        mock.patch.object(codes_module, "one_time_code_new", return_value="616161"),
        pytest.raises(CodeNotSent),
    ):
        access_code_send(reference=booking.reference, contact="ann@example.org", now=NOW)
    assert codes() == [] and not works(booking, "616161")
