"""The session engine (SESSION_ENGINE): Django's database sessions, one query cheaper for a new visitor.

Django asks the database whether a freshly drawn random key is free before inserting it; the insert
itself (`save(must_create=True)`) already refuses a taken key and `create()` then draws another. With 32
characters from 36 a repeat never happens in practice, so the question is left to the primary key.
"""

from __future__ import annotations

from django.contrib.sessions.backends import db
from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.utils.crypto import get_random_string


class SessionStore(db.SessionStore):
    def _get_new_session_key(self) -> str:
        return get_random_string(32, VALID_KEY_CHARS)
