"""Sending the outbox: each pending, due message exactly once, whatever crashes or repeats.

A message is sent while its row is locked (`SELECT ... FOR UPDATE SKIP LOCKED`) and marked sent in the same
transaction. Two workers, a duplicated task or the sweep racing the fast path never take the same row: the
second skips it, then finds it sent. A worker killed mid-send holds no lock once PostgreSQL sees its
connection drop; its transaction rolls back, the row is pending again, and the next sweep sends it. So
nothing is lost and nothing is sent twice, except in the one window no outbox can close: the provider
accepted the message and the worker died before its commit. Emails carry a stable Message-ID for that
case, so receiving systems can recognise the repeat.

Transient failures (timeouts, refused connections, throttling) retry with exponential backoff up to the
message's `max_attempts`; permanent ones (a refused address, a number that cannot take texts or texted
STOP) fail at once. A failed message falls back once to the customer's other channel.
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_scopes import scopes_disabled

from accounts.hosts import tenant_absolute_url

from .channels import EMAIL_FAILURES, DeliveryFailed, email_connection, send_email, send_sms
from .invites import invite_ics
from .models import Message, MessageChannel, MessageKind, MessageStatus, SmsOptOut
from .rendering import message_render
from .services import message_fall_back
from .sms import sms_segments

logger = logging.getLogger(__name__)

# Variables that must not stay readable in the database once sent.
SECRET_VARIABLES = {MessageKind.CODE: ("code",)}


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min... capped at an hour: quick for a blip, patient with an outage."""
    return timedelta(seconds=min(30 * 2 ** max(attempts - 1, 0), 3600))


@scopes_disabled()
def message_deliver(message_id: int, *, now: datetime | None = None) -> str:
    """Sends one message if it is still pending and due. Returns what happened: "sent", "retry",
    "failed", "expired", or "skipped" (not pending, not due, or another worker holds it)."""
    lookups = Lookups()
    try:
        with transaction.atomic():
            message = _claim(_CLAIM_ONE, [message_id])
            if message is None or message.due_at > (now or timezone.now()):
                return "skipped"
            return _deliver_locked(message, now=now or timezone.now(), lookups=lookups)
    finally:
        lookups.close()


@scopes_disabled()
def outbox_drain(*, limit: int = 10_000, seconds: float = 50.0, now: datetime | None = None) -> int:
    """Sends pending messages that are due, oldest due first, one locked row at a time, until none is left,
    `limit` were handled or `seconds` have passed (the next sweep carries on). Returns how many it handled.

    Rows another worker holds are skipped, so any number of drains and fast-path tasks run side by side.
    """
    deadline = time.monotonic() + seconds
    lookups = Lookups()
    handled = 0
    try:
        while handled < limit and time.monotonic() < deadline:
            moment = now or timezone.now()
            with transaction.atomic():
                message = _claim(_CLAIM_DUE, [moment])
                if message is None:
                    break
                _deliver_locked(message, now=moment, lookups=lookups)
            handled += 1
    finally:
        lookups.close()
    return handled


# Claiming a row and writing it back are the whole per-message cost of the outbox besides the send, so
# they are plain SQL rather than ORM queries compiled afresh for every message, and go through a cursor
# that sends the parameters apart from the statement (server-side binding) rather than Django's, which
# quotes them into the text in Python. So the connection prepares them once and plans them no more
# (DATABASE_PREPARE_THRESHOLD). Same connection, same transaction.
_TABLE = Message._meta.db_table
_FIELDS = Message._meta.concrete_fields
_CLAIM_ONE = (
    f"SELECT {', '.join(connection.ops.quote_name(field.column) for field in _FIELDS)} FROM {_TABLE} "
    "WHERE id = %s AND status = 'pending' FOR UPDATE SKIP LOCKED"
)
_CLAIM_DUE = (
    f"SELECT {', '.join(connection.ops.quote_name(field.column) for field in _FIELDS)} FROM {_TABLE} "
    "WHERE status = 'pending' AND due_at <= %s ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED"
)
_WRITE_BACK = (
    f"UPDATE {_TABLE} SET status = %s, status_at = %s, due_at = %s, attempts = %s, last_error = %s, "
    "provider_id = %s, sent_at = %s, segments = %s, context = %s::jsonb WHERE id = %s"
)


def _execute(sql: str, params: list[object]) -> psycopg.Cursor[Any]:
    connection.ensure_connection()
    return psycopg.Cursor(connection.connection).execute(sql, params)


def _claim(sql: str, params: list[object]) -> Message | None:
    """Locks a pending message no other worker holds (the one named, or the next due)."""
    with _execute(sql, params) as cursor:
        row = cursor.fetchone()
    if row is None:
        return None
    values = [
        field.from_db_value(value, None, connection) if hasattr(field, "from_db_value") else value
        for field, value in zip(_FIELDS, row, strict=True)
    ]
    return Message.from_db(connection.alias, [field.attname for field in _FIELDS], values)


def _write_back(message: Message) -> None:
    _execute(
        _WRITE_BACK,
        [
            message.status,
            message.status_at,
            message.due_at,
            message.attempts,
            message.last_error,
            message.provider_id,
            message.sent_at,
            message.segments,
            json.dumps(message.context),
            message.pk,
        ],
    ).close()


class Lookups:
    """What one drain reads or opens once rather than once per message: message wordings, opted-out
    numbers and the status callback URL per tenant, and the connection to the mail backend. A sweep lasts
    under a minute, so a template edited meanwhile applies from the next sweep; a STOP that arrives
    meanwhile is still honoured, as Twilio refuses texts to such a number (error 21610), which fails the
    message for good."""

    def __init__(self) -> None:
        self.wordings: dict[tuple[int, str, str, str], tuple[str, str]] = {}
        self._opted_out: dict[int, set[str]] = {}
        self._callbacks: dict[int, str] = {}
        self._mail: BaseEmailBackend | None = None

    def mail(self) -> BaseEmailBackend:
        if self._mail is None:
            self._mail = email_connection()
        return self._mail

    def mail_close(self) -> None:
        """After a failed email, or at the end: a broken session is not reused; the next email reopens."""
        mail, self._mail = self._mail, None
        if mail is not None:
            try:
                mail.close()
            except EMAIL_FAILURES:  # closing a broken session must not hide why it broke
                logger.warning("closing the mail connection failed", exc_info=True)

    def close(self) -> None:
        self.mail_close()

    def opted_out(self, message: Message) -> bool:
        if message.tenant_id not in self._opted_out:
            self._opted_out[message.tenant_id] = set(
                SmsOptOut.objects.filter(tenant_id=message.tenant_id).values_list("number", flat=True)
            )
        return message.to in self._opted_out[message.tenant_id]

    def status_callback(self, message: Message) -> str:
        if not settings.TWILIO_STATUS_CALLBACKS:
            return ""
        if message.tenant_id not in self._callbacks:
            try:
                url = tenant_absolute_url(message.tenant_id, reverse("notifications:twilio-status"))
            except LookupError:  # a tenant without a host name gets no delivery reports
                url = ""
            self._callbacks[message.tenant_id] = url
        return self._callbacks[message.tenant_id]


def _deliver_locked(message: Message, *, now: datetime, lookups: Lookups) -> str:
    if message.expires_at is not None and now >= message.expires_at:
        return _close(message, MessageStatus.EXPIRED, now=now)
    if message.channel == MessageChannel.SMS and lookups.opted_out(message):
        message.last_error = "The number texted STOP: no texts until it texts START."
        return _fail(message, now=now)
    message.attempts += 1
    try:
        provider_id = _send(message, lookups)
    except DeliveryFailed as error:
        message.last_error = str(error)[:500]
        if error.permanent or message.attempts >= message.max_attempts:
            return _fail(message, now=now)
        message.due_at = now + retry_delay(message.attempts)
        _write_back(message)
        return "retry"
    message.provider_id = provider_id[:100]
    message.sent_at = now
    for name in SECRET_VARIABLES.get(message.kind, ()):
        message.context = {**message.context, name: ""}
    _close(message, MessageStatus.SENT, now=now)
    return "sent"


def _send(message: Message, lookups: Lookups) -> str:
    rendered = message_render(message, lookups.wordings)
    if message.channel == MessageChannel.SMS:
        message.segments = sms_segments(rendered.text).segments
        return send_sms(to=message.to, body=rendered.text, status_callback=lookups.status_callback(message))
    invite = message.invite or None
    try:
        return send_email(
            to=message.to,
            subject=rendered.subject,
            text=rendered.text,
            html=rendered.html,
            ics=invite_ics(invite) if invite else "",
            ics_method=invite["method"] if invite else "",
            message_id=f"<message-{message.tenant_id}-{message.pk}@{settings.EMAIL_MESSAGE_ID_DOMAIN}>",
            connection=lookups.mail(),
        )
    except DeliveryFailed:
        lookups.mail_close()
        raise


def _fail(message: Message, *, now: datetime) -> str:
    _close(message, MessageStatus.FAILED, now=now)
    message_fall_back(message, now=now)
    return "failed"


def _close(message: Message, status: str, *, now: datetime) -> str:
    message.status = status
    message.status_at = now
    _write_back(message)
    return str(status)
