"""The edge where messages leave: one email through the configured mail backend, one text through Twilio.

Whatever a provider raises (an SMTP error, a refused connection, an anymail or Twilio API error, a
timeout) comes out as one DeliveryFailed that says whether trying again can help. `permanent` means the
address or number itself refuses or cannot be reached (an SMTP 5xx for the recipient, an ESP's rejection,
Twilio's errors for a bad, landline or STOP-ed number): the dispatcher then falls back to the customer's
other channel at once. Anything else (timeouts, refused connections, throttling, a provider's own outage,
our own credentials) is transient: the dispatcher retries with backoff.
"""

from __future__ import annotations

import re
import smtplib
from functools import lru_cache

from anymail.backends.base import AnymailBaseBackend
from anymail.exceptions import AnymailError, AnymailRecipientsRefused
from django.conf import settings
from django.core.mail import BadHeaderError, EmailMultiAlternatives, get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import make_msgid
from django.utils.module_loading import import_string
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

# OSError covers refused and dropped connections and socket timeouts (SMTP and HTTP alike: requests'
# errors are OSErrors too).
EMAIL_FAILURES = (smtplib.SMTPException, AnymailError, BadHeaderError, OSError)
SMS_FAILURES = (TwilioException, OSError)
# Twilio's errors that say the number will never take this text (https://www.twilio.com/docs/api/errors):
# invalid or unreachable numbers, landlines and other numbers that cannot take texts, a country we may not
# text, and a number that texted STOP.
UNREACHABLE_NUMBER_CODES = frozenset(
    {21211, 21214, 21217, 21401, 21407, 21408, 21421, 21610, 21612, 21614, 21635}
)
# Anymail's per-recipient statuses that mean the ESP refused the address (when it is set to report them
# rather than raise AnymailRecipientsRefused).
REFUSED_STATUSES = frozenset({"rejected", "invalid"})
ICS_METHOD = re.compile(r"[A-Z-]+")


class DeliveryFailed(Exception):
    """The provider did not accept the message; nothing was sent. `permanent`: retrying cannot help."""

    def __init__(self, message: str, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def send_email(
    *,
    to: str,
    subject: str,
    text: str = "",
    html: str = "",
    ics: str = "",
    ics_method: str = "",
    message_id: str = "",
    connection: BaseEmailBackend | None = None,
) -> str:
    """Sends one email (plain text, with `html` as its alternative) and returns the provider's id for it:
    the ESP's message id with anymail (what its tracking webhooks report), the Message-ID otherwise.

    A calendar invitation (`ics`, METHOD `ics_method`) travels as Outlook and Gmail expect it: a
    `text/calendar; method=...` alternative beside the text and HTML, and an `invite.ics` attachment. ESP
    APIs take no calendar alternative (anymail refuses one), so through anymail the attachment carries the
    calendar type itself. `message_id` (stable per message) lets a receiving system recognise a repeat.
    Pass `connection` to send many over one connection.
    """
    if ics_method and not ICS_METHOD.fullmatch(ics_method):
        raise ValueError(f"not an iCalendar method: {ics_method!r}")
    message_id = message_id or make_msgid(domain=settings.EMAIL_MESSAGE_ID_DOMAIN)
    if not message_id.startswith("<"):
        message_id = f"<{message_id}>"
    connection = connection or get_connection()
    message = EmailMultiAlternatives(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [to],
        connection=connection,
        headers={"Message-ID": message_id},
    )
    if html:
        message.attach_alternative(html, "text/html")
    if ics:
        calendar = f"text/calendar; method={ics_method}" if ics_method else "text/calendar"
        if isinstance(connection, AnymailBaseBackend):
            message.attach("invite.ics", ics, calendar)
        else:
            message.attach_alternative(ics, calendar)
            message.attach("invite.ics", ics, "application/ics")
    try:
        message.send()
    except EMAIL_FAILURES as error:
        raise DeliveryFailed(
            f"email to the provider failed: {_describe(error)}", permanent=_email_refused(error)
        ) from error
    status = getattr(message, "anymail_status", None)
    if status is None:
        return message_id
    if status.status and status.status <= REFUSED_STATUSES:
        refused = ", ".join(sorted(status.status))
        raise DeliveryFailed(f"email refused by the provider: {refused}", permanent=True)
    return message_id if status.message_id is None else str(status.message_id)


def email_connection() -> BaseEmailBackend:
    """An open connection to the mail backend (an SMTP session, an ESP's HTTP session) for sending many
    emails over: pass it to send_email, and close it after, or after a failure (the next opens afresh)."""
    connection = get_connection()
    try:
        connection.open()
    except EMAIL_FAILURES as error:
        raise DeliveryFailed(f"email to the provider failed: {_describe(error)}") from error
    return connection


def _email_refused(error: Exception) -> bool:
    if isinstance(error, AnymailRecipientsRefused | BadHeaderError):
        return True
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _text in error.recipients.values())
    if isinstance(error, smtplib.SMTPAuthenticationError):
        return False  # our credentials: nothing wrong with the customer's address
    return isinstance(error, smtplib.SMTPResponseException) and error.smtp_code >= 500


def _describe(error: Exception) -> str:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        detail = "; ".join(f"{code} {text!r}" for code, text in error.recipients.values())
    elif isinstance(error, smtplib.SMTPResponseException):
        detail = f"{error.smtp_code} {error.smtp_error!r}"
    else:
        detail = str(error)
    return f"{type(error).__name__}: {detail}"[:400]


def send_sms(*, to: str, body: str, status_callback: str = "") -> str:
    """Sends one text through Twilio's API and returns its message SID (what status callbacks report).
    Twilio reports delivery to `status_callback` (an absolute URL) when one is given."""
    if not (settings.TWILIO_ACCOUNT_SID and settings.TWILIO_AUTH_TOKEN):
        # Twilio's client would go on to call the API as the account "None".
        raise DeliveryFailed("SMS not sent: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN")
    extra = {"status_callback": status_callback} if status_callback else {}
    try:
        client = twilio_client(
            settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN, settings.TWILIO_HTTP_CLIENT
        )
        return client.messages.create(to=to, from_=settings.TWILIO_FROM_NUMBER, body=body, **extra).sid
    except TwilioRestException as error:
        raise DeliveryFailed(
            f"SMS refused by Twilio: HTTP {error.status}, error {error.code}: {error.msg}"[:400],
            permanent=error.code in UNREACHABLE_NUMBER_CODES,
        ) from error
    except SMS_FAILURES as error:
        raise DeliveryFailed(f"SMS to the provider failed: {type(error).__name__}: {error}"[:400]) from error


@lru_cache(maxsize=8)
def twilio_client(account_sid: str, auth_token: str, http_client: str) -> Client:
    """One Twilio client (and its pool of HTTPS connections) per process and configuration. The HTTP
    client is pluggable (`TWILIO_HTTP_CLIENT`), so tests and local runs record texts instead of reaching
    the internet; the real one gives up after TWILIO_TIMEOUT seconds."""
    http = import_string(http_client)() if http_client else TwilioHttpClient(timeout=settings.TWILIO_TIMEOUT)
    return Client(account_sid, auth_token, http_client=http)
