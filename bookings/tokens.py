"""Signed, expiring links and one-time codes that let a customer manage their booking without an account."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache

MANAGE_SALT = "bookings.manage-link"
MANAGE_LINK_MAX_AGE = timedelta(days=90)
CODE_TTL = timedelta(minutes=10)
CODE_ATTEMPTS = 5


class BadLink(Exception):
    """A manage link that was tampered with, belongs elsewhere, or has expired (`expired` tells which)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


def manage_token(*, tenant_id: int, booking_id: int) -> str:
    return signing.dumps({"t": tenant_id, "b": booking_id}, salt=MANAGE_SALT, compress=True)


def booking_id_from_manage_token(token: str, *, tenant_id: int) -> int:
    try:
        data = signing.loads(token, salt=MANAGE_SALT, max_age=MANAGE_LINK_MAX_AGE)
    except signing.SignatureExpired as error:
        raise BadLink(expired=True) from error
    except signing.BadSignature as error:
        raise BadLink(expired=False) from error
    if not isinstance(data, dict) or data.get("t") != tenant_id or not isinstance(data.get("b"), int):
        raise BadLink(expired=False)
    return data["b"]


def _code_key(tenant_id: int, reference: str) -> str:
    return f"manage-code:{tenant_id}:{reference}"


def _digest(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def one_time_code_issue(*, tenant_id: int, reference: str) -> str:
    """A fresh 6-digit code for this booking; only its keyed hash is stored, for CODE_TTL."""
    code = f"{secrets.randbelow(10**6):06d}"
    cache.set(
        _code_key(tenant_id, reference),
        {"digest": _digest(code), "attempts": 0},
        timeout=int(CODE_TTL.total_seconds()),
    )
    return code


def one_time_code_check(*, tenant_id: int, reference: str, code: str) -> bool:
    """True once for the right code; the code is then spent. Wrong guesses are counted and capped."""
    key = _code_key(tenant_id, reference)
    entry = cache.get(key)
    if not entry or entry["attempts"] >= CODE_ATTEMPTS:
        return False
    if hmac.compare_digest(entry["digest"], _digest(code)):
        cache.delete(key)
        return True
    entry["attempts"] += 1
    cache.set(key, entry, timeout=int(CODE_TTL.total_seconds()))
    return False
