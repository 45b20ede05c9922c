"""Signed, expiring links and one-time codes that let a customer manage their booking without an account.

Manage and survey links name the booking by its public id (a random UUID), never its sequential pk: even
someone who holds the signing key cannot reach a booking whose public id they have not been sent.

One-time codes resist guessing. Every attempt is counted atomically in Redis (the cache's `add` then
`incr`), per booking and per client, in fixed windows that issuing a new code does not reset. Only the
first PORTAL_CODE_ATTEMPTS attempts on a booking in a window (PORTAL_CODE_CLIENT_ATTEMPTS for one client)
are compared at all; the attempt that reaches the cap without the right code locks the booking's (or the
client's) code entry for PORTAL_CODE_LOCK_MINUTES, and CodeEntryLocked says until when. A code expires
after PORTAL_CODE_TTL_MINUTES and works once: it is spent by an atomic delete, so of two requests racing
with the right code only one gets in.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.utils import timezone

from bookings.models import CaseKind

MANAGE_SALT = "bookings.manage-link"
MANAGE_LINK_MAX_AGE = timedelta(days=90)
SURVEY_SALT = "bookings.survey-link"
SURVEY_LINK_MAX_AGE = timedelta(days=14)
CASE_SALT = "bookings.case-link"
CASE_LINK_MAX_AGE = timedelta(days=60)


class BadLink(Exception):
    """A manage or survey link that was tampered with, belongs elsewhere, or has expired (`expired` tells
    which)."""

    def __init__(self, *, expired: bool) -> None:
        super().__init__("expired" if expired else "invalid")
        self.expired = expired


class CodeEntryLocked(Exception):
    """Too many attempts at a code for this booking (or from this client); `until` is when it unlocks."""

    def __init__(self, until: datetime) -> None:
        super().__init__(f"locked until {until.isoformat()}")
        self.until = until


class _SignedAt(signing.TimestampSigner):
    """Signs as if at `at`: a link in a reminder queued months ahead counts its life from when it is sent."""

    def __init__(self, *, at: datetime, salt: str) -> None:
        super().__init__(salt=salt)
        self.at = at

    def timestamp(self) -> str:
        return signing.b62_encode(int(self.at.timestamp()))


def manage_token(*, tenant_id: int, public_id: uuid.UUID, valid_from: datetime | None = None) -> str:
    """A manage link's token, good for MANAGE_LINK_MAX_AGE from `valid_from` (default: now)."""
    signer = _SignedAt(at=valid_from or timezone.now(), salt=MANAGE_SALT)
    return signer.sign_object({"t": tenant_id, "p": str(public_id)}, compress=True)


def public_id_from_manage_token(token: str, *, tenant_id: int) -> uuid.UUID:
    """The booking's public id; BadLink for a forged, foreign, expired or old-style (pk) token."""
    return _public_id_from(token, salt=MANAGE_SALT, max_age=MANAGE_LINK_MAX_AGE, tenant_id=tenant_id)


def survey_token(*, tenant_id: int, public_id: uuid.UUID) -> str:
    """The satisfaction survey's link for one booking, bound to the tenant, good for SURVEY_LINK_MAX_AGE."""
    return signing.dumps({"t": tenant_id, "p": str(public_id)}, salt=SURVEY_SALT, compress=True)


def public_id_from_survey_token(token: str, *, tenant_id: int) -> uuid.UUID:
    """The booking's public id; BadLink for a forged, foreign, expired or malformed token."""
    return _public_id_from(token, salt=SURVEY_SALT, max_age=SURVEY_LINK_MAX_AGE, tenant_id=tenant_id)


def _public_id_from(token: str, *, salt: str, max_age: timedelta, tenant_id: int) -> uuid.UUID:
    try:
        data = signing.loads(token, salt=salt, max_age=max_age)
    except signing.SignatureExpired as error:
        raise BadLink(expired=True) from error
    except signing.BadSignature as error:
        raise BadLink(expired=False) from error
    if not isinstance(data, dict) or data.get("t") != tenant_id or not isinstance(data.get("p"), str):
        raise BadLink(expired=False)
    try:
        return uuid.UUID(data["p"])
    except ValueError as error:
        raise BadLink(expired=False) from error


def case_link_token(*, tenant_id: int, reference: str, kind: str) -> str:
    """A portal link's `?case=`: the case a customer's booking will belong to, signed so a customer cannot
    choose or change it, bound to the tenant and good for CASE_LINK_MAX_AGE."""
    return signing.dumps({"t": tenant_id, "r": reference, "k": kind}, salt=CASE_SALT, compress=True)


def case_from_link(token: str, *, tenant_id: int) -> tuple[str, str]:
    """(case reference, CaseKind value or ""); BadLink for a forged, foreign, expired or malformed token."""
    try:
        data = signing.loads(token, salt=CASE_SALT, max_age=CASE_LINK_MAX_AGE)
    except signing.SignatureExpired as error:
        raise BadLink(expired=True) from error
    except signing.BadSignature as error:
        raise BadLink(expired=False) from error
    if not isinstance(data, dict) or data.get("t") != tenant_id:
        raise BadLink(expired=False)
    reference, kind = data.get("r"), data.get("k")
    if not isinstance(reference, str) or not reference.strip() or len(reference) > 100:
        raise BadLink(expired=False)
    if kind != "" and kind not in CaseKind.values:
        raise BadLink(expired=False)
    return reference.strip(), kind


def client_digest(address: str) -> str:
    """A keyed hash of a client address: enough to count what one client does, useless to read back."""
    message = f"bookings.client:{address}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


# --- one-time codes ---------------------------------------------------------------------------------------


def code_ttl() -> timedelta:
    return timedelta(minutes=settings.PORTAL_CODE_TTL_MINUTES)


def code_lock_time() -> timedelta:
    return timedelta(minutes=settings.PORTAL_CODE_LOCK_MINUTES)


def _code_key(tenant_id: int, reference: str) -> str:
    return f"manage-code:{tenant_id}:{reference}"


def _digest(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


def one_time_code_issue(*, tenant_id: int, reference: str, now: datetime | None = None) -> str:
    """A fresh 6-digit code for this booking, replacing any earlier one; only its keyed hash is stored.

    Attempt counts and locks are kept apart from the code, so asking for a new code resets neither.
    """
    return one_time_code_store(tenant_id=tenant_id, reference=reference, code=one_time_code_new(), now=now)


def one_time_code_new() -> str:
    return f"{secrets.randbelow(10**6):06d}"


def one_time_code_store(*, tenant_id: int, reference: str, code: str, now: datetime | None = None) -> str:
    now = now or timezone.now()
    cache.set(
        _code_key(tenant_id, reference),
        {"digest": _digest(code), "expires_at": (now + code_ttl()).isoformat()},
        timeout=int(code_ttl().total_seconds()),
    )
    return code


def one_time_code_check(
    *, tenant_id: int, reference: str, code: str, client: str, now: datetime | None = None
) -> bool:
    """True once for the right, unexpired code; the code is then spent.

    Raises CodeEntryLocked while this booking's (or this client's) code entry is locked, and on the
    attempt that uses up the last try. `client` is `client_digest` of the client's address.
    """
    now = now or timezone.now()
    booking_key, client_key = f"{tenant_id}:{reference}", f"client:{client}"
    for who in (booking_key, client_key):
        if until := _locked_until(f"manage-code-lock:{who}", now):
            raise CodeEntryLocked(until)
    limits = [
        (_attempt_count(booking_key, now), settings.PORTAL_CODE_ATTEMPTS, booking_key),
        (_attempt_count(client_key, now), settings.PORTAL_CODE_CLIENT_ATTEMPTS, client_key),
    ]
    for count, limit, who in limits:
        if count > limit:  # past the cap (a parallel request locked it meanwhile): not even compared
            raise CodeEntryLocked(_lock(who, now))
    entry = cache.get(_code_key(tenant_id, reference))
    right = (
        isinstance(entry, dict)
        and datetime.fromisoformat(entry["expires_at"]) > now
        and hmac.compare_digest(entry["digest"], _digest(code))
    )
    # Deleting is the atomic step: of two requests with the right code, only one deletes it.
    if right and cache.delete(_code_key(tenant_id, reference)):
        return True
    for count, limit, who in limits:
        if count >= limit:
            raise CodeEntryLocked(_lock(who, now))
    return False


def _attempt_count(who: str, now: datetime) -> int:
    """Counts one attempt in the current fixed window and returns the count so far, atomically."""
    window_seconds = int(code_lock_time().total_seconds())
    window_key = f"manage-code-attempts:{who}:{int(now.timestamp()) // window_seconds}"
    while True:
        cache.add(window_key, 0, timeout=2 * window_seconds)
        try:
            return cache.incr(window_key)
        except ValueError:  # the key lapsed between add and incr: add it again
            continue


def _lock(who: str, now: datetime) -> datetime:
    """Locks until now + the lock time, or keeps an earlier lock that is still running; returns until."""
    key = f"manage-code-lock:{who}"
    until = now + code_lock_time()
    timeout = int(code_lock_time().total_seconds())
    if cache.add(key, until.isoformat(), timeout=timeout):
        return until
    if current := _locked_until(key, now):
        return current
    cache.set(key, until.isoformat(), timeout=timeout)
    return until


def _locked_until(key: str, now: datetime) -> datetime | None:
    value = cache.get(key)
    if not value:
        return None
    until = datetime.fromisoformat(value)
    return until if until > now else None
