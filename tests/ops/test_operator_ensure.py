"""`manage.py operator_ensure`: docker-compose's first platform operator, from the environment, idempotent."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from accounts.models import User
from tests.factories import UserFactory

OPERATOR = {
    "DJANGO_SUPERUSER_EMAIL": "Operator@Council.example",
    "DJANGO_SUPERUSER_PASSWORD": "a long operator passphrase",
    "DJANGO_SUPERUSER_FULL_NAME": "Pat Operator",
}


@pytest.fixture
def environment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name, value in OPERATOR.items():
        monkeypatch.setenv(name, value)
    return monkeypatch


def ensure() -> str:
    out = StringIO()
    call_command("operator_ensure", stdout=out)
    return out.getvalue()


def test_creates_the_operator_who_can_sign_in_to_the_platform_admin(db, environment) -> None:
    assert "created" in ensure()
    operator = User.objects.get()
    assert (operator.email, operator.full_name) == ("operator@council.example", "Pat Operator")
    assert operator.is_superuser and operator.is_staff and operator.is_active
    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/admin/login/?next=/admin/",
        {"username": "operator@council.example", "password": OPERATOR["DJANGO_SUPERUSER_PASSWORD"]},
    )
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_second_start_succeeds_and_changes_nothing(db, environment) -> None:
    ensure()
    first = User.objects.get()
    environment.setenv("DJANGO_SUPERUSER_PASSWORD", "another long passphrase entirely")
    environment.setenv("DJANGO_SUPERUSER_FULL_NAME", "Someone Else")
    assert "nothing changed" in ensure()
    again = User.objects.get()
    assert (again.pk, again.full_name, again.password) == (first.pk, "Pat Operator", first.password)


@pytest.mark.parametrize("name", sorted(OPERATOR))
def test_refuses_without_each_variable(db, environment, name: str) -> None:
    environment.delenv(name)
    with pytest.raises(CommandError, match=name):
        ensure()
    assert not User.objects.exists()


def test_refuses_a_weak_password(db, environment) -> None:
    environment.setenv("DJANGO_SUPERUSER_PASSWORD", "password")
    with pytest.raises(CommandError, match="too weak"):
        ensure()
    assert not User.objects.exists()


def test_refuses_a_bad_email(db, environment) -> None:
    environment.setenv("DJANGO_SUPERUSER_EMAIL", "not-an-address")
    with pytest.raises(CommandError, match="not an email address"):
        ensure()


def test_never_promotes_someone_who_already_has_the_address(db, environment) -> None:
    staff = UserFactory(email="operator@council.example")
    with pytest.raises(CommandError, match="not an active platform operator"):
        ensure()
    staff.refresh_from_db()
    assert not staff.is_superuser and not staff.is_staff
