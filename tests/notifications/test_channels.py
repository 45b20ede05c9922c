"""The provider edge: what an email and a text look like when they leave, and how each failure is told apart
(retry later, or give up on this address and fall back)."""

from __future__ import annotations

import json
import smtplib
import socket
from collections.abc import Callable, Iterator
from email import message_from_bytes, policy
from typing import Any, ClassVar

import pytest
import requests
from aiosmtpd.controller import Controller
from anymail.backends.test import EmailBackend as AnymailTestBackend
from anymail.exceptions import AnymailRequestsAPIError
from anymail.message import AnymailRecipientStatus
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from twilio.http.response import Response

from notifications.channels import DeliveryFailed, send_email, send_sms, twilio_client
from notifications.fakes import PostmarkSpoolBackend, RecordingTwilioClient, SpoolEmailBackend

INVITE = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "UID:x@bookings",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)
ANYMAIL_TEST_BACKEND = "anymail.backends.test.EmailBackend"  # pytest-django's test set-up puts locmem in


def esp_error(status: int) -> AnymailRequestsAPIError:
    response = requests.Response()
    response.status_code, response.reason, response._content = status, "Trouble", b'{"Message": "trouble"}'
    return AnymailRequestsAPIError("The ESP answered with an error", response=response)


@pytest.fixture(autouse=True)
def _no_texts_recorded() -> None:
    RecordingTwilioClient.sent.clear()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- email -----------------------------------------------------------------------------------------------


def test_through_anymail_the_invitation_is_an_attachment_of_calendar_type(settings) -> None:
    settings.EMAIL_BACKEND = ANYMAIL_TEST_BACKEND
    mail.outbox = []
    provider_id = send_email(
        to="ann@example.org",
        subject="Your appointment",
        text="See you then.",
        html="<p>See you then.</p>",
        ics=INVITE,
        ics_method="REQUEST",
        message_id="<message-1-7@bookings.invalid>",
    )
    [sent] = mail.outbox
    assert provider_id == str(sent.anymail_status.message_id)  # what the ESP's webhooks will report
    assert (sent.body, sent.alternatives) == ("See you then.", [("<p>See you then.</p>", "text/html")])
    assert sent.attachments == [("invite.ics", INVITE, "text/calendar; method=REQUEST")]
    assert sent.extra_headers["Message-ID"] == "<message-1-7@bookings.invalid>"


def test_over_smtp_the_invitation_is_an_alternative_and_an_attachment(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    provider_id = send_email(
        to="ann@example.org",
        subject="Cancelled",
        text="Cancelled.",
        html="<p>Cancelled.</p>",
        ics=INVITE.replace("REQUEST", "CANCEL"),
        ics_method="CANCEL",
        message_id="message-1-8@bookings.invalid",
    )
    parsed = message_from_bytes(mail.outbox[0].message().as_bytes(), policy=policy.default)
    assert provider_id == parsed["Message-ID"] == "<message-1-8@bookings.invalid>"  # brackets added
    calendar = next(p for p in parsed.walk() if p.get_content_type() == "text/calendar")
    assert calendar.get_param("method") == "CANCEL" and "METHOD:CANCEL" in calendar.get_content()
    attachment = next(p for p in parsed.walk() if p.get_filename() == "invite.ics")
    assert attachment.get_content_type() == "application/ics"


def test_without_a_message_id_one_is_made_and_returned(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    mail.outbox = []
    first = send_email(to="ann@example.org", subject="Code", text="123456")
    second = send_email(to="ann@example.org", subject="Code", text="654321")
    assert first != second and first.endswith("@bookings.invalid>")
    assert [m.body for m in mail.outbox] == ["123456", "654321"]
    assert mail.outbox[0].message()["Message-ID"] == first


def test_one_connection_sends_many(tmp_path, settings) -> None:
    settings.EMAIL_SPOOL_DIR = str(tmp_path)
    connection = SpoolEmailBackend()
    ids = [
        send_email(to=f"{name}@example.org", subject="Hello", text="Hi", connection=connection)
        for name in ("ann", "bob")
    ]
    files = sorted(tmp_path.iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    assert sorted(message_from_bytes(f.read_bytes())["Message-ID"] for f in files) == sorted(ids)


def test_the_esp_fake_sends_through_anymail_and_keeps_each_api_call(tmp_path, settings) -> None:
    settings.EMAIL_SPOOL_DIR = str(tmp_path)
    connection = PostmarkSpoolBackend()
    connection.open()
    ids = [
        send_email(
            to=f"{name}@example.org",
            subject="Hello",
            text="Hi",
            html="<p>Hi</p>",
            ics=INVITE,
            ics_method="REQUEST",
            connection=connection,
        )
        for name in ("ann", "bob")
    ]
    connection.close()

    calls = {path.stem: json.loads(path.read_text()) for path in tmp_path.iterdir()}
    assert sorted(calls) == sorted(ids)  # the provider id is the ESP's MessageID
    call = calls[ids[0]]
    assert (call["To"], call["Subject"], call["TextBody"], call["HtmlBody"]) == (
        "ann@example.org",
        "Hello",
        "Hi",
        "<p>Hi</p>",
    )
    assert call["Attachments"][0]["Name"] == "invite.ics"
    assert call["Attachments"][0]["ContentType"].startswith("text/calendar")


class ScriptedAnymailBackend(AnymailTestBackend):
    """The ESP answering as the test says: a recipient status, or an API error to raise."""

    answer: ClassVar[Any] = None

    def post_to_esp(self, payload: Any, message: Any) -> Any:
        if isinstance(self.answer, str):
            status = AnymailRecipientStatus(message_id=None, status=self.answer)
            message.anymail_test_response = {
                "recipient_status": dict.fromkeys(payload.recipient_emails, status)
            }
        else:
            message.anymail_test_response = self.answer
        return super().post_to_esp(payload, message)


@pytest.mark.parametrize(
    ("answer", "ignore_status", "permanent"),
    [
        ("rejected", False, True),  # AnymailRecipientsRefused
        ("invalid", False, True),
        ("rejected", True, True),  # reported rather than raised: refused all the same
        (esp_error(503), False, False),
        (esp_error(429), False, False),
    ],
)
def test_an_esp_refusing_the_address_is_permanent_and_its_trouble_transient(
    answer, ignore_status, permanent, settings
) -> None:
    settings.ANYMAIL = {**settings.ANYMAIL, "IGNORE_RECIPIENT_STATUS": ignore_status}
    ScriptedAnymailBackend.answer = answer
    with pytest.raises(DeliveryFailed) as failed:
        send_email(to="ann@example.org", subject="Hi", text="Hi", connection=ScriptedAnymailBackend())
    assert failed.value.permanent is permanent


class RefusingHandler:
    """An SMTP server that refuses every recipient with the reply it is given."""

    def __init__(self, reply: str) -> None:
        self.reply = reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, options: Any) -> str:
        return self.reply


@pytest.fixture
def smtp_refusing(settings) -> Iterator[Callable[[str], None]]:
    """Starts a local SMTP server refusing recipients with a reply the test chooses."""
    started: list[Controller] = []

    def start(reply: str) -> None:
        port = free_port()
        controller = Controller(RefusingHandler(reply), hostname="127.0.0.1", port=port)
        controller.start()
        started.append(controller)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port

    yield start
    for controller in started:
        controller.stop()


@pytest.mark.parametrize(
    ("reply", "permanent"),
    [
        ("550 5.1.1 No such user here", True),
        ("553 5.1.3 Bad recipient address syntax", True),
        ("451 4.3.0 Mailbox temporarily unavailable", False),
        ("452 4.2.2 Mailbox full, try later", False),
    ],
)
def test_an_smtp_server_refusing_the_recipient(smtp_refusing, reply, permanent) -> None:
    smtp_refusing(reply)
    with pytest.raises(DeliveryFailed) as failed:
        send_email(to="ann@example.org", subject="Hi", text="Hi")
    assert failed.value.permanent is permanent
    assert reply[:3] in str(failed.value) and isinstance(
        failed.value.__cause__, smtplib.SMTPRecipientsRefused
    )


def test_an_smtp_server_that_does_not_answer_is_transient(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    with pytest.raises(DeliveryFailed) as failed:
        send_email(to="ann@example.org", subject="Hi", text="Hi")
    assert not failed.value.permanent and "ConnectionRefusedError" in str(failed.value)


def test_a_subject_that_would_inject_headers_is_refused_for_good(settings) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with pytest.raises(DeliveryFailed) as failed:
        send_email(to="ann@example.org", subject="Hi\nBcc: everyone@example.org", text="Hi")
    assert failed.value.permanent


def test_an_invented_calendar_method_is_a_bug_not_a_delivery_failure() -> None:
    with pytest.raises(ValueError, match="iCalendar method"):
        send_email(
            to="a@example.org",
            subject="x",
            ics=INVITE,
            ics_method="REQUEST\r\nBcc: x",
            connection=LocmemBackend(),
        )


# --- texts -----------------------------------------------------------------------------------------------


def test_a_text_goes_to_twilio_with_its_status_callback() -> None:
    sid = send_sms(to="+447700900123", body="Reminder", status_callback="https://northshire.example/hooks/")
    [sent] = RecordingTwilioClient.sent
    assert sid.startswith("SM") and sent["uri"].endswith("/Accounts/ACtest/Messages.json")
    assert (sent["To"], sent["From"], sent["Body"]) == ("+447700900123", "+447700900000", "Reminder")
    assert sent["StatusCallback"] == "https://northshire.example/hooks/"
    send_sms(to="+447700900123", body="No callback")
    assert "StatusCallback" not in RecordingTwilioClient.sent[-1]


class CountingTwilioClient(RecordingTwilioClient):
    made: ClassVar[int] = 0

    def __init__(self) -> None:
        super().__init__()
        CountingTwilioClient.made += 1


def test_one_twilio_client_serves_every_text_of_a_process(settings) -> None:
    settings.TWILIO_HTTP_CLIENT = f"{__name__}.CountingTwilioClient"
    twilio_client.cache_clear()
    before = CountingTwilioClient.made
    for n in range(3):
        send_sms(to="+447700900123", body=f"Text {n}")
    assert CountingTwilioClient.made == before + 1 and len(RecordingTwilioClient.sent) == 3


@pytest.mark.parametrize(
    ("number", "code"),
    [
        ("+15005550001", 21211),  # not a valid number
        ("+15005550002", 21612),  # cannot be reached
        ("+15005550003", 21408),  # a country we may not text
        ("+15005550004", 21610),  # texted STOP
        ("+15005550009", 21614),  # not a mobile
    ],
)
def test_twilio_refusing_the_number_is_permanent(number, code) -> None:
    with pytest.raises(DeliveryFailed) as failed:
        send_sms(to=number, body="Hello")
    assert failed.value.permanent and f"error {code}" in str(failed.value)
    assert RecordingTwilioClient.sent == []


class ThrottledTwilioClient(RecordingTwilioClient):
    def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Response:
        return Response(429, '{"code": 20429, "message": "Too Many Requests", "status": 429}')


@pytest.mark.parametrize(
    "client",
    [
        "notifications.fakes.FailingTwilioClient",
        "notifications.fakes.UnreachableTwilioClient",
        f"{__name__}.ThrottledTwilioClient",
    ],
)
def test_twilio_trouble_is_transient(client, settings) -> None:
    settings.TWILIO_HTTP_CLIENT = client
    with pytest.raises(DeliveryFailed) as failed:
        send_sms(to="+447700900123", body="Hello")
    assert not failed.value.permanent


def test_without_credentials_a_text_fails_transiently(settings) -> None:
    settings.TWILIO_ACCOUNT_SID = settings.TWILIO_AUTH_TOKEN = ""
    settings.TWILIO_HTTP_CLIENT = ""
    with pytest.raises(DeliveryFailed) as failed:
        send_sms(to="+447700900123", body="Hello")
    assert not failed.value.permanent and "TWILIO_ACCOUNT_SID" in str(failed.value)


def test_texts_are_spooled_as_json_beside_the_emails(tmp_path, settings) -> None:
    settings.SMS_SPOOL_DIR = str(tmp_path / "sms")
    sids = {send_sms(to="+447700900123", body=f"Text {n}", status_callback="https://x/") for n in range(2)}
    files = list((tmp_path / "sms").iterdir())
    texts = [json.loads(f.read_text()) for f in files]
    assert len(files) == 2 and all(f.suffix == ".json" for f in files)
    assert {t["sid"] for t in texts} == sids
    assert {t["body"] for t in texts} == {"Text 0", "Text 1"}
    assert all(
        (t["to"], t["from"], t["status_callback"]) == ("+447700900123", "+447700900000", "https://x/")
        and t["time"]
        for t in texts
    )
