"""Provider webhooks with the providers' documented payloads: Twilio's status callbacks and inbound texts
(signed as Twilio signs them), and Postmark's delivery reports through anymail (basic auth). A bad or
missing proof changes nothing."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django_scopes import scope, scopes_disabled
from twilio.request_validator import RequestValidator

from accounts.models import Tenant
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus, SmsOptOut

SID = "SM1f0e8ae6ade43cb3c0ce4525424e404f"
# Twilio's status callback for a delivered text, as its documentation shows it (form-encoded POST).
DELIVERED = {
    "AccountSid": "ACtest",
    "ApiVersion": "2010-04-01",
    "From": "+447700900000",
    "MessageSid": SID,
    "MessageStatus": "delivered",
    "SmsSid": SID,
    "SmsStatus": "delivered",
    "To": "+447700900123",
}
UNDELIVERED = {**DELIVERED, "MessageStatus": "undelivered", "SmsStatus": "undelivered", "ErrorCode": "30003"}
# An inbound text, as Twilio posts it to the number's messaging webhook.
INBOUND = {
    "ToCountry": "GB",
    "SmsMessageSid": "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "NumMedia": "0",
    "SmsSid": "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "SmsStatus": "received",
    "To": "+447700900000",
    "NumSegments": "1",
    "MessageSid": "SM0a1b2c3d4e5f60718293a4b5c6d7e8f9",
    "AccountSid": "ACtest",
    "From": "+447700900123",
    "ApiVersion": "2010-04-01",
    "FromCountry": "GB",
}
POSTMARK_ID = "883953f4-6105-42a2-a16a-77a8eac79483"
# Postmark's delivery and bounce webhooks (Postmark's and anymail's documentation).
POSTMARK_DELIVERY = {
    "RecordType": "Delivery",
    "ServerID": 23,
    "MessageStream": "outbound",
    "MessageID": POSTMARK_ID,
    "Recipient": "ann@example.org",
    "Tag": "reminder",
    "DeliveredAt": "2026-12-01T13:28:10.2735393-04:00",
    "Details": "Test delivery webhook details",
    "Metadata": {},
}
POSTMARK_BOUNCE = {
    "RecordType": "Bounce",
    "ID": 901542550,
    "Type": "HardBounce",
    "TypeCode": 1,
    "ServerID": 23,
    "Name": "Hard bounce",
    "MessageID": POSTMARK_ID,
    "Description": "The server was unable to deliver your message (ex: unknown user, mailbox not found).",
    "Details": "smtp;550 5.1.1 The email account that you tried to reach does not exist.",
    "Email": "ann@example.org",
    "From": "bookings@northshire.example",
    "BouncedAt": "2026-12-01T16:28:50.3963933-04:00",
    "DumpAvailable": True,
    "Inactive": True,
    "CanActivate": True,
    "Subject": "Your appointment",
}
POSTMARK_OPEN = {
    "RecordType": "Open",
    "FirstOpen": True,
    "MessageID": POSTMARK_ID,
    "ReceivedAt": "2026-12-01T16:21:41.2493688-04:00",
    "Recipient": "ann@example.org",
}
TRACKING = "/hooks/anymail/postmark/tracking/"


def sent(tenant: Tenant, *, channel: str, provider_id: str, **fields: Any) -> Message:
    with scope(tenant=tenant):
        return Message.objects.create(
            tenant=tenant,
            kind=MessageKind.REMINDER,
            channel=channel,
            to="+447700900123" if channel == MessageChannel.SMS else "ann@example.org",
            dedupe_key=f"test:{provider_id}",
            status=MessageStatus.SENT,
            provider_id=provider_id,
            **fields,
        )


def reload(message: Message) -> Message:
    with scopes_disabled():
        return Message.objects.get(pk=message.pk)


def twilio_post(
    client: Client, path: str, data: dict[str, str], *, url: str = "", token: str = "", **extra: Any
):
    """POSTs as Twilio does, signed for `url` (by default the URL the request goes to) with `token`."""
    url = url or f"http://{client.defaults['HTTP_HOST']}{path}"
    signature = RequestValidator(token or django_settings.TWILIO_AUTH_TOKEN).compute_signature(url, data)
    return client.post(path, data, HTTP_X_TWILIO_SIGNATURE=signature, **extra)


def postmark_post(client: Client, payload: dict[str, Any], auth: str = "anymail:test-webhook-secret"):
    credentials = base64.b64encode(auth.encode()).decode()
    return client.post(
        TRACKING,
        json.dumps(payload),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Basic {credentials}",
    )


# --- Twilio status callbacks -----------------------------------------------------------------------------


def test_a_signed_delivery_report_marks_the_text_delivered(tenant, client_for) -> None:
    message = sent(tenant, channel=MessageChannel.SMS, provider_id=SID)
    response = twilio_post(client_for(tenant), "/hooks/twilio/status/", DELIVERED)
    assert response.status_code == 204 and response.content == b""
    assert reload(message).status == MessageStatus.DELIVERED


def test_an_undelivered_text_fails_with_twilios_error_and_falls_back_to_email(tenant, client_for) -> None:
    message = sent(
        tenant,
        channel=MessageChannel.SMS,
        provider_id=SID,
        fallback_channel="email",
        fallback_to="ann@example.org",
    )
    assert twilio_post(client_for(tenant), "/hooks/twilio/status/", UNDELIVERED).status_code == 204
    failed = reload(message)
    assert failed.status == MessageStatus.FAILED and "30003" in failed.last_error
    with scopes_disabled():
        fallback = Message.objects.get(fallback_of=message)
    assert (fallback.channel, fallback.to, fallback.status) == (
        "email",
        "ann@example.org",
        MessageStatus.PENDING,
    )


@pytest.mark.parametrize(
    "forgery",
    ["no signature", "wrong token", "signed for another host", "signed for other values", "tampered after"],
)
def test_a_report_without_twilios_signature_is_refused_and_changes_nothing(
    forgery, tenant, client_for
) -> None:
    message = sent(tenant, channel=MessageChannel.SMS, provider_id=SID)
    client, path = client_for(tenant), "/hooks/twilio/status/"
    if forgery == "no signature":
        response = client.post(path, UNDELIVERED)
    elif forgery == "wrong token":
        response = twilio_post(client, path, UNDELIVERED, token="not-our-token")
    elif forgery == "signed for another host":
        response = twilio_post(client, path, UNDELIVERED, url=f"http://southvale.localhost{path}")
    elif forgery == "signed for other values":
        signature = RequestValidator(django_settings.TWILIO_AUTH_TOKEN).compute_signature(
            f"http://northshire.localhost{path}", DELIVERED
        )
        response = client.post(path, UNDELIVERED, HTTP_X_TWILIO_SIGNATURE=signature)
    else:
        signature = RequestValidator(django_settings.TWILIO_AUTH_TOKEN).compute_signature(
            f"http://northshire.localhost{path}", DELIVERED
        )
        response = client.post(
            path, {**DELIVERED, "MessageStatus": "failed"}, HTTP_X_TWILIO_SIGNATURE=signature
        )
    assert response.status_code == 403
    assert reload(message).status == MessageStatus.SENT


def test_behind_a_tls_proxy_the_signature_is_checked_against_the_https_url(
    tenant, client_for, settings
) -> None:
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    message = sent(tenant, channel=MessageChannel.SMS, provider_id=SID)
    client, path = client_for(tenant), "/hooks/twilio/status/"
    as_twilio_called = f"https://northshire.localhost{path}"
    plain = twilio_post(client, path, UNDELIVERED, url=as_twilio_called)  # the proxy said nothing: http
    assert plain.status_code == 403 and reload(message).status == MessageStatus.SENT
    response = twilio_post(client, path, DELIVERED, url=as_twilio_called, HTTP_X_FORWARDED_PROTO="https")
    assert response.status_code == 204 and reload(message).status == MessageStatus.DELIVERED


def test_a_report_about_a_text_we_do_not_know_changes_nothing(tenant, client_for) -> None:
    message = sent(tenant, channel=MessageChannel.SMS, provider_id="SMsomeoneelses")
    assert twilio_post(client_for(tenant), "/hooks/twilio/status/", UNDELIVERED).status_code == 204
    assert reload(message).status == MessageStatus.SENT


def test_a_late_sent_report_does_not_undo_delivered(tenant, client_for) -> None:
    message = sent(tenant, channel=MessageChannel.SMS, provider_id=SID)
    client = client_for(tenant)
    twilio_post(client, "/hooks/twilio/status/", DELIVERED)
    twilio_post(client, "/hooks/twilio/status/", {**DELIVERED, "MessageStatus": "sent", "SmsStatus": "sent"})
    assert reload(message).status == MessageStatus.DELIVERED


def test_webhooks_take_only_post_and_refuse_large_bodies(tenant, client_for, settings) -> None:
    settings.WEBHOOK_MAX_BYTES = 1000
    message = sent(tenant, channel=MessageChannel.SMS, provider_id=SID)
    client = client_for(tenant)
    assert client.get("/hooks/twilio/status/").status_code == 405
    assert client.put("/hooks/twilio/inbound/")["Allow"] == "POST, OPTIONS"
    big = twilio_post(client, "/hooks/twilio/status/", {**UNDELIVERED, "Padding": "x" * 2000})
    assert big.status_code == 413 and reload(message).status == MessageStatus.SENT
    big_json = postmark_post(client, {**POSTMARK_BOUNCE, "Content": "x" * 2000})
    assert big_json.status_code == 413


def test_webhooks_are_on_tenant_hosts_only(db) -> None:
    response = twilio_post(Client(HTTP_HOST="localhost"), "/hooks/twilio/status/", DELIVERED)
    assert response.status_code == 404


# --- Twilio inbound texts: STOP and START ----------------------------------------------------------------


def test_stop_opts_the_number_out_and_start_back_in(tenant, other_tenant, client_for) -> None:
    client = client_for(tenant)

    def opted_out(of: Tenant) -> bool:
        with scope(tenant=of):
            return SmsOptOut.objects.filter(number="+447700900123").exists()

    stop = twilio_post(client, "/hooks/twilio/inbound/", {**INBOUND, "Body": "Stop"})
    assert stop.status_code == 200 and stop["Content-Type"].startswith("text/xml")
    assert stop.content.decode().endswith("<Response/>")  # empty TwiML: Twilio sends its own reply
    assert opted_out(tenant) and not opted_out(other_tenant)  # the tenant whose number was texted

    twilio_post(client, "/hooks/twilio/inbound/", {**INBOUND, "Body": "Thanks, see you"})
    assert opted_out(tenant)
    twilio_post(client, "/hooks/twilio/inbound/", {**INBOUND, "Body": "START"})
    assert not opted_out(tenant)


def test_a_forged_stop_is_refused(tenant, client_for) -> None:
    response = client_for(tenant).post("/hooks/twilio/inbound/", {**INBOUND, "Body": "STOP"})
    assert response.status_code == 403
    with scope(tenant=tenant):
        assert not SmsOptOut.objects.exists()


# --- email delivery reports (anymail, Postmark) ----------------------------------------------------------


def test_postmark_reports_delivery_then_a_bounce_falls_back_to_a_text(tenant, client_for) -> None:
    message = sent(
        tenant,
        channel=MessageChannel.EMAIL,
        provider_id=POSTMARK_ID,
        fallback_channel="sms",
        fallback_to="+447700900123",
    )
    client = client_for(tenant)
    assert postmark_post(client, POSTMARK_OPEN).status_code == 200
    assert reload(message).status == MessageStatus.SENT  # an open says nothing we track
    assert postmark_post(client, POSTMARK_DELIVERY).status_code == 200
    assert reload(message).status == MessageStatus.DELIVERED
    assert postmark_post(client, POSTMARK_BOUNCE).status_code == 200
    bounced = reload(message)
    assert bounced.status == MessageStatus.BOUNCED and "unknown user" in bounced.last_error
    with scopes_disabled():
        assert Message.objects.get(fallback_of=message).channel == MessageChannel.SMS


@pytest.mark.parametrize("auth", ["anymail:wrong", "someone:test-webhook-secret", ""])
def test_a_report_without_the_webhook_secret_is_refused(auth, tenant, client_for) -> None:
    message = sent(tenant, channel=MessageChannel.EMAIL, provider_id=POSTMARK_ID)
    client = client_for(tenant)
    response = (
        postmark_post(client, POSTMARK_BOUNCE, auth)
        if auth
        else client.post(TRACKING, json.dumps(POSTMARK_BOUNCE), content_type="application/json")
    )
    assert response.status_code == 400
    assert reload(message).status == MessageStatus.SENT


def test_a_report_about_an_email_we_do_not_know_changes_nothing(tenant, client_for) -> None:
    message = sent(tenant, channel=MessageChannel.EMAIL, provider_id="another-systems-id")
    text = sent(tenant, channel=MessageChannel.SMS, provider_id=POSTMARK_ID)  # same id, other channel
    assert postmark_post(client_for(tenant), POSTMARK_BOUNCE).status_code == 200
    assert reload(message).status == reload(text).status == MessageStatus.SENT
