"""`seed_demo` creates accounts with a published password: it refuses to run outside DEBUG unless told."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django_scopes import scopes_disabled

from accounts.models import Tenant, User


def test_refuses_with_debug_off(db, settings) -> None:
    settings.DEBUG = False
    with pytest.raises(CommandError, match="--i-know-this-is-not-production"):
        call_command("seed_demo", "--without-diaries", stdout=StringIO())
    with scopes_disabled():
        assert not Tenant.objects.exists()
    assert not User.objects.exists()


def test_seeds_with_debug_off_when_told_it_is_not_production(db, settings) -> None:
    settings.DEBUG = False
    call_command("seed_demo", "--i-know-this-is-not-production", "--without-diaries", stdout=StringIO())
    with scopes_disabled():
        assert Tenant.objects.filter(slug="northshire").exists()


def test_seeds_with_debug_on(db, settings) -> None:
    settings.DEBUG = True
    call_command("seed_demo", "--without-diaries", stdout=StringIO())
    with scopes_disabled():
        assert Tenant.objects.filter(slug="southvale").exists()
