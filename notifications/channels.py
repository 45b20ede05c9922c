"""Immediate sends for messages that cannot wait for the outbox (one-time codes).

Whatever a provider raises (an SMTP error, a refused connection, an anymail or Twilio API error, a
timeout) comes out as one DeliveryFailed, so callers handle "the message did not go" once.
"""

from __future__ import annotations

import smtplib

from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.mail import send_mail
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException
from twilio.rest import Client

# OSError covers refused and dropped connections and socket timeouts (SMTP and HTTP alike).
EMAIL_FAILURES = (smtplib.SMTPException, AnymailError, OSError)
SMS_FAILURES = (TwilioException, OSError)


class DeliveryFailed(Exception):
    """The provider did not accept the message; nothing was sent."""


def send_email(*, to: str, subject: str, body: str) -> None:
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except EMAIL_FAILURES as error:
        raise DeliveryFailed(f"email to the provider failed: {type(error).__name__}") from error


def send_sms(*, to: str, body: str) -> str:
    """Sends through Twilio's API and returns the message SID. The HTTP client is pluggable so tests and
    local runs record requests instead of reaching the internet."""
    http_client = import_string(settings.TWILIO_HTTP_CLIENT)() if settings.TWILIO_HTTP_CLIENT else None
    client = Client(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, http_client=http_client)
    try:
        return client.messages.create(to=to, from_=settings.TWILIO_FROM_NUMBER, body=body).sid
    except SMS_FAILURES as error:
        raise DeliveryFailed(f"SMS to the provider failed: {type(error).__name__}") from error
