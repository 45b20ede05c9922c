"""Officers' calendar passwords, encrypted at rest with Fernet keys from settings (CALENDAR_SECRET_KEYS)."""

from __future__ import annotations

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings


class SecretUnreadable(Exception):
    """Encrypted with a key no longer in settings: the details must be entered again."""


def _fernet() -> MultiFernet:
    keys = list(settings.CALENDAR_SECRET_KEYS)
    if not keys:  # development and tests: derived from SECRET_KEY (production settings refuse this)
        digest = hashlib.sha256(b"calendar-secrets:" + settings.SECRET_KEY.encode()).digest()
        keys = [base64.urlsafe_b64encode(digest).decode()]
    return MultiFernet([Fernet(key) for key in keys])


def encrypt(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as error:
        raise SecretUnreadable from error
