from __future__ import annotations

from unittest import mock

import pytest
from django.core.cache.backends.redis import RedisCache
from django.db import OperationalError
from django.test import Client


@pytest.mark.django_db
def test_healthz_reports_ok_on_any_host() -> None:
    response = Client(HTTP_HOST="unknown.example").get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "redis": "ok"}


@pytest.mark.django_db
def test_healthz_is_503_when_redis_is_unreachable(tmp_path) -> None:
    unreachable = RedisCache(f"unix://{tmp_path}/no-such.sock", {})
    with mock.patch("config.health.cache", unreachable):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["redis"] == "failing"
    assert "sock" not in response.content.decode()


@pytest.mark.django_db
def test_healthz_is_503_when_the_database_is_unreachable() -> None:
    with mock.patch(
        "config.health.connection.cursor", side_effect=OperationalError("could not connect to /x")
    ):
        response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "failing"
    assert "connect" not in response.content.decode()
