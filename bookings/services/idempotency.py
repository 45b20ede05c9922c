"""Idempotency keys: one key names one operation on one request, in one tenant, for a while.

Done the way payment APIs do it (Stripe's `Idempotency-Key`, the IETF draft): the key is stored with the
operation and a hash of the request, in the same transaction as the change. A retry with the same key and
the same request gets the first result and changes nothing; the same key with a different request, or for
another operation, is refused (409 where a page shows it) rather than silently answered with someone
else's result. After IDEMPOTENCY_KEY_TTL a key is new again; `idempotency_keys_purge` removes lapsed ones.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.errors import BookingError, IdempotencyConflict
from bookings.models import Booking, IdempotencyKey

KEY_MAX_LENGTH = 100


@dataclass(frozen=True)
class Idempotency:
    """A request's key, the operation it asks for, and the fingerprint of what it asks."""

    key: str
    operation: str
    request_hash: str


def key_ttl() -> timedelta:
    return timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)


def idempotency_for(key: str, operation: str, **request: Any) -> Idempotency | None:
    """The key bound to this operation and request; None when the caller gave no key."""
    if not key:
        return None
    if len(key) > KEY_MAX_LENGTH:
        raise BookingError(_("The idempotency key is too long (100 characters at most)."))
    canonical = json.dumps(request, sort_keys=True, default=str, separators=(",", ":"))
    return Idempotency(key, operation, hashlib.sha256(canonical.encode()).hexdigest())


def replayed(idempotency: Idempotency | None, *, now: datetime) -> Booking | None:
    """The booking an earlier call with this key and request produced, or None for a new (or lapsed) key.

    Raises IdempotencyConflict when the key was used for another operation or another request.
    """
    if idempotency is None:
        return None
    record = IdempotencyKey.objects.select_related("booking").filter(key=idempotency.key).first()
    if record is None:
        return None
    if record.expires_at <= now:
        # A lapsed key is new again; clear it now so this request can record it afresh.
        IdempotencyKey.objects.filter(pk=record.pk, expires_at__lte=now).delete()
        return None
    if (record.operation, record.request_hash) != (idempotency.operation, idempotency.request_hash):
        raise IdempotencyConflict(
            _(
                "This request was already made with different details. Nothing was changed: start again "
                "to make a new request."
            )
        )
    return record.booking


def idempotency_record(idempotency: Idempotency | None, *, booking: Booking, now: datetime) -> None:
    """Stores the key with its result; must run in the change's transaction. A concurrent request that
    recorded the same key first makes this raise IntegrityError (unique violation), rolling the change back;
    callers then answer with `replayed`."""
    if idempotency is None:
        return
    IdempotencyKey.objects.create(
        tenant_id=booking.tenant_id,
        key=idempotency.key,
        operation=idempotency.operation,
        request_hash=idempotency.request_hash,
        booking=booking,
        created_at=now,
        expires_at=now + key_ttl(),
    )


def idempotency_keys_purge(*, now: datetime | None = None) -> int:
    """Deletes the active tenant's lapsed keys; running it twice deletes nothing the second time."""
    now = now or timezone.now()
    deleted, _by_model = IdempotencyKey.objects.filter(expires_at__lte=now).delete()
    return deleted
