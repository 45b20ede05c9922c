"""The dispatcher: each pending, due message sent once; retries, expiry, opt-outs and fallbacks."""

from __future__ import annotations

import itertools
import smtplib
import socket
import threading
import time
from datetime import datetime, timedelta
from typing import Any, ClassVar
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.db import connection
from django_scopes import scopes_disabled

from accounts.models import Tenant
from notifications import dispatch
from notifications.channels import DeliveryFailed
from notifications.dispatch import message_deliver, outbox_drain, retry_delay
from notifications.fakes import RecordingTwilioClient
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus, SmsOptOut
from notifications.services import message_queue, message_status_report

NOW = datetime.fromisoformat("2026-12-01T09:00:00+00:00")
CONTEXT = {
    "customer_name": "Ann Jones",
    "reference": "BK-7Q2X",
    "service": "Food hygiene inspection",
    "date": "Tuesday 8 December 2026",
    "time": "10:00",
    "council": "Northshire Council",
}


KEYS = itertools.count()


@pytest.fixture(autouse=True)
def _no_texts_recorded() -> None:
    RecordingTwilioClient.sent.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def queue(tenant: Tenant, **overrides: object) -> Message:
    fields: dict[str, object] = {
        "tenant_id": tenant.pk,
        "kind": MessageKind.REMINDER,
        "channel": MessageChannel.EMAIL,
        "to": "ann@example.org",
        "dedupe_key": f"test:{next(KEYS)}",
        "topic": "booking:BK-7Q2X",
        "recipient": "customer:1",
        "context": CONTEXT,
        "now": NOW,
        "send_now": False,
    }
    fields.update(overrides)
    with scopes_disabled():
        return message_queue(**fields)  # type: ignore[arg-type]


def reload(message: Message) -> Message:
    with scopes_disabled():
        return Message.objects.get(pk=message.pk)


def test_a_due_message_is_sent_once_and_marked_sent(tenant: Tenant) -> None:
    message = queue(tenant)

    assert message_deliver(message.pk, now=NOW) == "sent"
    assert message_deliver(message.pk, now=NOW) == "skipped"

    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ann@example.org"]
    assert "BK-7Q2X" in mail.outbox[0].body
    sent = reload(message)
    assert (sent.status, sent.attempts, sent.sent_at) == (MessageStatus.SENT, 1, NOW)
    assert sent.provider_id


def test_a_text_is_sent_through_twilio_and_its_segments_counted(tenant: Tenant) -> None:
    message = queue(tenant, channel=MessageChannel.SMS, to="+447700900123")

    assert message_deliver(message.pk, now=NOW) == "sent"

    assert [record["To"] for record in RecordingTwilioClient.sent] == ["+447700900123"]
    sent = reload(message)
    assert sent.provider_id.startswith("SM")
    assert sent.segments is not None and sent.segments >= 1


def test_a_message_not_yet_due_waits_for_the_sweep(tenant: Tenant) -> None:
    message = queue(tenant, due_at=NOW + timedelta(hours=2))

    assert message_deliver(message.pk, now=NOW) == "skipped"
    assert outbox_drain(now=NOW) == 0
    assert outbox_drain(now=NOW + timedelta(hours=2)) == 1

    assert reload(message).status == MessageStatus.SENT
    assert len(mail.outbox) == 1


def test_a_message_past_its_expiry_is_never_sent(tenant: Tenant) -> None:
    message = queue(tenant, due_at=NOW - timedelta(hours=3), expires_at=NOW - timedelta(minutes=1))

    assert outbox_drain(now=NOW) == 1

    assert reload(message).status == MessageStatus.EXPIRED
    assert mail.outbox == []


def test_the_sweep_sends_what_is_due_and_leaves_the_rest(tenant: Tenant) -> None:
    later = queue(tenant, to="later@example.org", due_at=NOW - timedelta(minutes=1))
    earlier = queue(tenant, to="earlier@example.org", due_at=NOW - timedelta(minutes=5))
    queue(tenant, to="future@example.org", due_at=NOW + timedelta(days=1))

    assert outbox_drain(now=NOW) == 2

    assert sorted(m.to[0] for m in mail.outbox) == ["earlier@example.org", "later@example.org"]
    assert reload(later).status == reload(earlier).status == MessageStatus.SENT


class CountingBackend(LocmemBackend):
    """The test mail backend, counting the sessions it opens; a listed address fails once, transiently,
    and leaves the session broken, as a dropped SMTP connection does."""

    opened = 0
    closed = 0
    fail_once: ClassVar[set[str]] = set()

    def open(self) -> bool:
        CountingBackend.opened += 1
        self.broken = False
        return True

    def close(self) -> None:
        CountingBackend.closed += 1

    def send_messages(self, messages: list[Any]) -> int:
        if self.broken:
            raise smtplib.SMTPServerDisconnected("the connection is gone")
        failing = self.fail_once & {address for message in messages for address in message.to}
        if failing:
            self.fail_once -= failing
            self.broken = True
            raise smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
        return super().send_messages(messages)


@pytest.fixture
def counting_backend(settings) -> type[CountingBackend]:
    settings.EMAIL_BACKEND = f"{__name__}.CountingBackend"
    CountingBackend.opened = CountingBackend.closed = 0
    CountingBackend.fail_once = set()
    return CountingBackend


def test_a_sweep_sends_its_emails_over_one_session_and_reopens_one_that_broke(
    tenant: Tenant, counting_backend: type[CountingBackend]
) -> None:
    for name in ("ann", "bob", "cat"):
        queue(tenant, to=f"{name}@example.org", due_at=NOW - timedelta(minutes=1))
    assert outbox_drain(now=NOW) == 3
    assert (counting_backend.opened, counting_backend.closed) == (1, 1)
    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "bob@example.org", "cat@example.org"]

    mail.outbox = []
    counting_backend.opened = counting_backend.closed = 0
    counting_backend.fail_once = {"dan@example.org"}
    dan = queue(tenant, to="dan@example.org", due_at=NOW - timedelta(minutes=2))
    queue(tenant, to="eve@example.org", due_at=NOW - timedelta(minutes=1))
    assert outbox_drain(now=NOW) == 2

    # Dan's send broke the session: it was closed, not reused, and Eve's email went over a new one.
    assert [m.to[0] for m in mail.outbox] == ["eve@example.org"]
    assert (counting_backend.opened, counting_backend.closed) == (2, 2)
    assert (reload(dan).status, reload(dan).attempts) == (MessageStatus.PENDING, 1)
    assert "SMTPServerDisconnected" in reload(dan).last_error


def test_a_mail_server_that_cannot_be_reached_is_a_retry(tenant: Tenant, settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    message = queue(tenant)
    assert message_deliver(message.pk, now=NOW) == "retry"
    retried = reload(message)
    assert (retried.status, retried.attempts) == (MessageStatus.PENDING, 1)
    assert "ConnectionRefusedError" in retried.last_error


def test_a_transient_failure_retries_with_growing_delays_then_fails_and_falls_back(tenant: Tenant) -> None:
    message = queue(tenant, max_attempts=3, fallback_channel=MessageChannel.SMS, fallback_to="+447700900123")
    failing = mock.patch.object(dispatch, "send_email", side_effect=DeliveryFailed("timed out"))

    moment = NOW
    with failing:
        assert message_deliver(message.pk, now=moment) == "retry"
        first = reload(message)
        assert (first.status, first.attempts, first.due_at) == ("pending", 1, moment + retry_delay(1))
        assert message_deliver(message.pk, now=moment) == "skipped"  # not due again yet
        moment = first.due_at
        assert message_deliver(message.pk, now=moment) == "retry"
        assert reload(message).due_at == moment + retry_delay(2) == moment + timedelta(minutes=1)
        moment = reload(message).due_at
        assert message_deliver(message.pk, now=moment) == "failed"

    failed = reload(message)
    assert (failed.status, failed.attempts, failed.last_error) == (MessageStatus.FAILED, 3, "timed out")
    with scopes_disabled():
        fallback = Message.objects.get(fallback_of=failed)
    assert (fallback.channel, fallback.to, fallback.status) == ("sms", "+447700900123", "pending")
    assert message_deliver(fallback.pk, now=moment) == "sent"
    assert len(RecordingTwilioClient.sent) == 1


def test_a_permanent_failure_fails_at_once_and_falls_back_only_once(tenant: Tenant) -> None:
    message = queue(tenant, fallback_channel=MessageChannel.SMS, fallback_to="+447700900123")
    refused = DeliveryFailed("address refused", permanent=True)

    with mock.patch.object(dispatch, "send_email", side_effect=refused):
        assert message_deliver(message.pk, now=NOW) == "failed"
    fallback_failing = DeliveryFailed("not a mobile", permanent=True)
    with scopes_disabled():
        fallback = Message.objects.get(fallback_of=message)
    with mock.patch.object(dispatch, "send_sms", side_effect=fallback_failing):
        assert message_deliver(fallback.pk, now=NOW) == "failed"

    with scopes_disabled():
        assert Message.objects.filter(status=MessageStatus.FAILED).count() == 2
        assert Message.objects.count() == 2  # a fallback does not fall back again


def test_a_number_that_texted_stop_gets_no_text_and_the_email_goes_instead(tenant: Tenant) -> None:
    with scopes_disabled():
        SmsOptOut.objects.create(tenant=tenant, number="+447700900123")
    message = queue(
        tenant,
        channel=MessageChannel.SMS,
        to="+447700900123",
        fallback_channel=MessageChannel.EMAIL,
        fallback_to="ann@example.org",
    )

    assert outbox_drain(now=NOW) == 2  # the text fails without reaching Twilio; its email fallback goes

    assert RecordingTwilioClient.sent == []
    assert reload(message).status == MessageStatus.FAILED
    assert "STOP" in reload(message).last_error
    assert [m.to[0] for m in mail.outbox] == ["ann@example.org"]


def test_a_one_time_code_is_not_left_readable_once_sent(tenant: Tenant) -> None:
    message = queue(
        tenant, kind=MessageKind.CODE, context={**CONTEXT, "code": "482913", "minutes_valid": "10"}
    )

    assert message_deliver(message.pk, now=NOW) == "sent"

    assert "482913" in mail.outbox[0].body
    assert reload(message).context["code"] == ""


def test_an_email_carries_the_invitation_and_a_stable_message_id(tenant: Tenant) -> None:
    invite = {
        "uid": "6c1d@northshire.localhost",
        "sequence": 2,
        "method": "REQUEST",
        "starts_at": "2026-12-08T10:00:00+00:00",
        "ends_at": "2026-12-08T11:00:00+00:00",
        "summary": "Food hygiene inspection",
        "location": "1 High Street",
        "description": "",
        "organizer": "bookings@localhost",
        "attendee": "ann@example.org",
        "time_zone": "Europe/London",
    }
    message = queue(tenant, kind=MessageKind.CONFIRMATION, invite=invite)

    assert message_deliver(message.pk, now=NOW) == "sent"

    sent = mail.outbox[0]
    assert sent.extra_headers["Message-ID"] == f"<message-{tenant.pk}-{message.pk}@bookings.invalid>"
    calendar = "".join(str(part) for part in sent.attachments) + "".join(str(a[0]) for a in sent.alternatives)
    assert "METHOD:REQUEST" in calendar and "6c1d@northshire.localhost" in calendar


def test_queuing_the_same_key_twice_keeps_one_message(tenant: Tenant) -> None:
    first = queue(tenant, dedupe_key="booking-event:1:confirmation:email")
    again = queue(tenant, dedupe_key="booking-event:1:confirmation:email", to="someone@else.example")

    assert again.pk == first.pk and again.to == "ann@example.org"


def test_a_message_due_now_is_handed_to_a_worker_only_after_its_transaction_commits(
    tenant: Tenant, django_capture_on_commit_callbacks
) -> None:
    with (
        mock.patch("notifications.tasks.message_send.delay") as delay,
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        message = queue(tenant, send_now=True)
        later = queue(tenant, send_now=True, due_at=NOW + timedelta(days=1))
        assert not delay.called

    assert len(callbacks) == 1 and later.pk != message.pk
    delay.assert_called_once_with(message.pk)


def test_provider_reports_move_a_message_forward_only_and_a_bounce_falls_back(tenant: Tenant) -> None:
    message = queue(tenant, fallback_channel=MessageChannel.SMS, fallback_to="+447700900123")
    message_deliver(message.pk, now=NOW)
    provider_id = reload(message).provider_id

    message_status_report(channel="email", provider_id=provider_id, status=MessageStatus.DELIVERED, at=NOW)
    message_status_report(channel="email", provider_id=provider_id, status=MessageStatus.SENT, at=NOW)
    assert reload(message).status == MessageStatus.DELIVERED
    assert message_status_report(channel="email", provider_id="unknown", status="bounced") is None
    assert message_status_report(channel="sms", provider_id=provider_id, status="bounced") is None

    message_status_report(
        channel="email", provider_id=provider_id, status=MessageStatus.BOUNCED, error="mailbox full", at=NOW
    )
    bounced = reload(message)
    assert (bounced.status, bounced.last_error) == (MessageStatus.BOUNCED, "mailbox full")
    with scopes_disabled():
        assert Message.objects.get(fallback_of=message).channel == MessageChannel.SMS


@pytest.mark.django_db(transaction=True)
def test_a_second_worker_skips_the_message_the_first_is_sending(tenant: Tenant) -> None:
    message = queue(tenant, channel=MessageChannel.SMS, to="+447700900123")
    results: list[str] = []
    sending = threading.Event()
    real_send = dispatch.send_sms

    def slow_send(**kwargs: object) -> str:
        sending.set()
        time.sleep(0.3)  # the first worker is mid-send, its row locked
        return real_send(**kwargs)  # type: ignore[arg-type]

    def work() -> None:
        try:
            results.append(message_deliver(message.pk, now=NOW))
        finally:
            connection.close()

    with mock.patch.object(dispatch, "send_sms", side_effect=slow_send):
        first = threading.Thread(target=work)
        first.start()
        assert sending.wait(timeout=5)
        second = threading.Thread(target=work)
        second.start()
        first.join()
        second.join()

    assert results == ["skipped", "sent"]
    assert len(RecordingTwilioClient.sent) == 1
    assert reload(message).status == MessageStatus.SENT
