"""The DATABASE_URL handed to child processes (a Celery worker in tests, gunicorn in bench_load)."""

from __future__ import annotations

import environ
import pytest

from config.database_url import database_url


@pytest.mark.parametrize(
    "database",
    [
        {
            "NAME": "bookings",
            "USER": "postgres",
            "PASSWORD": "",
            "HOST": "/work/main/.local/run",
            "PORT": 5432,
        },
        {
            "NAME": "bookings",
            "USER": "app@x",
            "PASSWORD": "p:w/?",
            "HOST": "db",
            "PORT": "5433",
            "OPTIONS": {},
        },
        {
            "NAME": "bookings",
            "USER": "app",
            "PASSWORD": "",
            "HOST": "db",
            "PORT": "",
            "OPTIONS": {"sslmode": "require"},
        },
    ],
)
def test_the_database_url_reads_back_as_the_same_database(database: dict) -> None:
    database = {"ENGINE": "django.db.backends.postgresql", **database}

    parsed = environ.Env.db_url_config(database_url(database))

    for key in ("ENGINE", "NAME", "USER", "PASSWORD", "HOST"):
        assert parsed[key] == database[key]
    assert str(parsed.get("PORT") or 5432) == str(database["PORT"] or 5432)
    assert parsed.get("OPTIONS", {}) == database.get("OPTIONS", {})


def test_a_database_a_url_cannot_carry_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be written as a URL"):
        database_url({"ENGINE": "django.db.backends.sqlite3", "NAME": "/tmp/db.sqlite3"})
