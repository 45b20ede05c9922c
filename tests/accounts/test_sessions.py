"""The session engine: a new session is inserted without asking first whether its key is free, and a key
that is taken after all is refused by the database and another one drawn."""

from __future__ import annotations

from unittest import mock

import pytest
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.sessions import SessionStore

pytestmark = pytest.mark.django_db


def test_a_new_session_is_one_insert() -> None:
    store = SessionStore()
    store["portal_holds"] = ["BK-2345-67"]
    with CaptureQueriesContext(connection) as queries:
        store.save()
    statements = [
        q["sql"] for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]
    assert len(statements) == 1 and statements[0].startswith("INSERT")
    assert SessionStore(session_key=store.session_key)["portal_holds"] == ["BK-2345-67"]


def test_a_taken_key_is_refused_and_another_drawn() -> None:
    first = SessionStore()
    first["who"] = "first"
    first.save()
    draws = iter([first.session_key, "k" * 32])
    with mock.patch.object(SessionStore, "_get_new_session_key", lambda self: next(draws)):
        second = SessionStore()
        second["who"] = "second"
        second.save()
    assert second.session_key == "k" * 32
    assert SessionStore(session_key=first.session_key)["who"] == "first"  # never overwritten
    assert Session.objects.count() == 2
