"""The messages the demo history's appointments caused, with their final delivery states."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any

from accounts.models import Tenant
from bookings.models import (
    Booking,
    BookingStatus,
)
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus

from .constants import (
    DEDUPE_PREFIX,
    EMAIL_ERRORS,
    SMS_ERRORS,
)
from .rows import (
    _copy,
    _long_date,
    _Visit,
    _weighted,
)


class _Messages:
    """The messages history caused, as the dispatcher left them: mostly delivered, some only sent (no
    receipt), a few bounced or failed, and their fallbacks on the customer's other contact detail."""

    def __init__(self, tenant: Tenant, rng: random.Random, zone: Any) -> None:
        self.tenant = tenant
        self.rng = rng
        self.zone = zone
        self.rows: list[dict[str, Any]] = []
        self.modes: dict[int, str] = {}
        self.fallbacks: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def write(self, visits: list[_Visit]) -> int:
        for visit in visits:
            self._booking(visit)
        _copy(Message, self.rows)
        keys = [original["dedupe_key"] for original, _fallback in self.fallbacks]
        ids = dict(Message.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", "pk"))
        for original, fallback in self.fallbacks:
            fallback["fallback_of_id"] = ids[original["dedupe_key"]]
        _copy(Message, [fallback for _original, fallback in self.fallbacks])
        return len(self.rows) + len(self.fallbacks)

    def _booking(self, visit: _Visit) -> None:
        booking = visit.booking
        if booking.customer is None:
            return
        context = self._context(booking, visit.moved_from)
        addresses = []
        if booking.contact_by_email and booking.contact_email:
            fallback = booking.contact_phone if booking.contact_phone and not booking.contact_by_sms else ""
            addresses.append(
                (
                    MessageChannel.EMAIL,
                    booking.contact_email,
                    MessageChannel.SMS if fallback else "",
                    fallback,
                )
            )
        if booking.contact_by_sms and booking.contact_phone:
            addresses.append((MessageChannel.SMS, booking.contact_phone, "", ""))
        told = [(MessageKind.CONFIRMATION, booking.created_at)]
        for action, at, *_rest in visit.events:
            kind = {
                "rescheduled": MessageKind.RESCHEDULED,
                "cancelled": MessageKind.CANCELLED,
                "displaced": MessageKind.DISPLACED,
            }.get(action)
            if kind:
                told.append((kind, at))
        withdrawn = visit.cancelled_at or visit.displaced_at
        for channel, to, fallback_channel, fallback_to in addresses:
            for n, (kind, at) in enumerate(told):
                self._add(
                    booking, kind, channel, to, context, f"{n}", at, at, None, fallback_channel, fallback_to
                )
            for hours in sorted(set(booking.appointment_type.reminder_hours), reverse=True):
                due = booking.starts_at - timedelta(hours=hours)
                if due <= booking.created_at:
                    continue
                if withdrawn and withdrawn < due:
                    self._add(
                        booking,
                        MessageKind.REMINDER,
                        channel,
                        to,
                        context,
                        f"{hours}h",
                        booking.created_at,
                        due,
                        booking.starts_at,
                        "",
                        "",
                        status=MessageStatus.CANCELLED,
                        status_at=withdrawn,
                    )
                else:
                    self._add(
                        booking,
                        MessageKind.REMINDER,
                        channel,
                        to,
                        context,
                        f"{hours}h",
                        booking.created_at,
                        due,
                        booking.starts_at,
                        fallback_channel,
                        fallback_to,
                    )
            if (
                booking.status == BookingStatus.COMPLETED
                and booking.appointment_type.survey_enabled
                and visit.done_at
            ):
                self._add(
                    booking,
                    MessageKind.SURVEY,
                    channel,
                    to,
                    context,
                    "survey",
                    visit.done_at,
                    visit.done_at,
                    visit.done_at + timedelta(days=14),
                    "",
                    "",
                )

    def _context(self, booking: Booking, moved_from: datetime | None) -> dict[str, str]:
        start, end = booking.starts_at.astimezone(self.zone), booking.ends_at.astimezone(self.zone)
        previous = moved_from.astimezone(self.zone) if moved_from else None
        appointment_type = booking.appointment_type
        if appointment_type.pk not in self.modes:
            self.modes[appointment_type.pk] = str(appointment_type.get_location_mode_display())
        mode = self.modes[appointment_type.pk]
        return {
            "customer_name": booking.contact_name,
            "reference": booking.reference,
            "service": booking.appointment_type.name,
            "date": _long_date(start),
            "time": f"{start:%H:%M}",
            "end_time": f"{end:%H:%M}",
            "location": f"{mode}: {booking.location}" if booking.location else mode,
            "officer": "",
            "council": self.tenant.name,
            "council_phone": "",
            "manage_url": "",
            "previous_date": _long_date(previous) if previous else "",
            "previous_time": f"{previous:%H:%M}" if previous else "",
        }

    def _add(
        self,
        booking: Booking,
        kind: str,
        channel: str,
        to: str,
        context: dict[str, str],
        key: str,
        created_at: datetime,
        due_at: datetime,
        expires_at: datetime | None,
        fallback_channel: str,
        fallback_to: str,
        *,
        status: str | None = None,
        status_at: datetime | None = None,
    ) -> None:
        rng = self.rng
        sent_at = due_at + timedelta(seconds=rng.randint(2, 90))
        if status is None:
            weights = (
                [
                    (MessageStatus.DELIVERED, 88),
                    (MessageStatus.SENT, 7),
                    (MessageStatus.BOUNCED, 3),
                    (MessageStatus.FAILED, 2),
                ]
                if channel == MessageChannel.EMAIL
                else [(MessageStatus.DELIVERED, 85), (MessageStatus.SENT, 9), (MessageStatus.FAILED, 6)]
            )
            status = _weighted(rng, weights)
            status_at = sent_at + timedelta(seconds=rng.randint(1, 600))
        reached = status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.BOUNCED)
        error = ""
        if status in (MessageStatus.BOUNCED, MessageStatus.FAILED):
            error = rng.choice(EMAIL_ERRORS if channel == MessageChannel.EMAIL else SMS_ERRORS)
        message = {
            "tenant_id": self.tenant.pk,
            "kind": kind,
            "channel": channel,
            "to": to,
            "topic": f"booking:{booking.reference}",
            "recipient": f"customer:{booking.customer.pk}",
            "dedupe_key": f"{DEDUPE_PREFIX}{booking.public_id}:{kind}:{key}:{channel}",
            "context": context,
            "status": status,
            "status_at": status_at or created_at,
            "created_at": created_at,
            "due_at": due_at,
            "expires_at": expires_at,
            "attempts": 0
            if status == MessageStatus.CANCELLED
            else 6
            if status == MessageStatus.FAILED
            else 1,
            "last_error": error,
            "sent_at": sent_at if reached else None,
            "provider_id": f"demo-{rng.getrandbits(80):020x}" if reached else "",
            "segments": (2 if kind == MessageKind.CONFIRMATION else 1)
            if channel == MessageChannel.SMS and reached
            else None,
            "fallback_channel": fallback_channel,
            "fallback_to": fallback_to,
        }
        self.rows.append(message)
        if status in (MessageStatus.BOUNCED, MessageStatus.FAILED) and fallback_channel:
            at = (status_at or created_at) + timedelta(seconds=rng.randint(5, 120))
            fallback = {
                **message,
                "channel": fallback_channel,
                "to": fallback_to,
                "dedupe_key": f"{message['dedupe_key']}:fallback",
                "status": MessageStatus.DELIVERED if rng.random() < 0.9 else MessageStatus.SENT,
                "status_at": at + timedelta(seconds=rng.randint(2, 60)),
                "created_at": at,
                "due_at": at,
                "attempts": 1,
                "last_error": "",
                "sent_at": at,
                "provider_id": f"demo-{rng.getrandbits(80):020x}",
                "segments": 1 if fallback_channel == MessageChannel.SMS else None,
                "fallback_channel": "",
                "fallback_to": "",
            }
            self.fallbacks.append((message, fallback))
