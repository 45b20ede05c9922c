from __future__ import annotations

import os
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django_scopes import scope

from accounts.models import Membership, Role, Tenant, User
from tests.factories import MembershipFactory, TenantFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(autouse=True)
def fresh_cache() -> Iterator[None]:
    """Rate-limit counters and one-time codes from one test must not leak into the next."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def tenant(db: None) -> Tenant:
    return TenantFactory(name="Northshire Council", slug="northshire", host="northshire.localhost")


@pytest.fixture
def other_tenant(db: None) -> Tenant:
    return TenantFactory(name="Southvale Agency", slug="southvale", host="southvale.localhost")


@pytest.fixture
def in_tenant(tenant: Tenant) -> Iterator[Tenant]:
    """Runs the test body inside the tenant's scope, as a request or a task would."""
    with scope(tenant=tenant):
        yield tenant


def host_of(tenant: Tenant) -> str:
    return f"{tenant.slug}.localhost"


@pytest.fixture
def client_for() -> Callable[..., Client]:
    """A Django test client on the tenant's host, signed in as the member (or user) if one is given."""

    def make(tenant: Tenant, who: Membership | User | None = None) -> Client:
        client = Client(HTTP_HOST=host_of(tenant))
        if who is not None:
            client.force_login(who.user if isinstance(who, Membership) else who)
        return client

    return make


@pytest.fixture
def member_of() -> Callable[..., Membership]:
    def make(tenant: Tenant, role: Role = Role.ADMINISTRATOR) -> Membership:
        return MembershipFactory(tenant=tenant, role=role)

    return make
