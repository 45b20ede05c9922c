"""Immediate sends for messages that cannot wait for the outbox (one-time codes)."""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string
from twilio.rest import Client


def send_email(*, to: str, subject: str, body: str) -> None:
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])


def send_sms(*, to: str, body: str) -> str:
    """Sends through Twilio's API and returns the message SID. The HTTP client is pluggable so tests and
    local runs record requests instead of reaching the internet."""
    http_client = import_string(settings.TWILIO_HTTP_CLIENT)() if settings.TWILIO_HTTP_CLIENT else None
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
    return client.messages.create(to=to, from_=settings.TWILIO_FROM_NUMBER, body=body).sid
