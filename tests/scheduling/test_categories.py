"""Every tenant starts with the default categories, however it was created."""

from __future__ import annotations

from django.test import Client
from django_scopes import scope, scopes_disabled

from accounts.models import Tenant
from accounts.services import tenant_create
from scheduling.models import Category
from scheduling.services import categories_create_defaults
from tests.factories import UserFactory
from tests.scheduling.factories import CategoryFactory

DEFAULTS = [("Inspection", 10), ("Consultation", 20), ("Meeting", 30), ("Public service", 40)]


def names_and_positions(tenant: Tenant) -> list[tuple[str, int]]:
    with scope(tenant=tenant):
        return [(c.name, c.position) for c in Category.objects.all()]


def test_defaults_are_created_once_and_existing_ones_are_kept(tenant, other_tenant) -> None:
    CategoryFactory(tenant=tenant, name="Meeting", position=5)
    CategoryFactory(tenant=other_tenant, name="Inspection", position=99)

    first = categories_create_defaults(tenant=tenant)
    second = categories_create_defaults(tenant=tenant)

    assert [c.name for c in first] == [name for name, _ in DEFAULTS]
    assert [c.pk for c in first] == [c.pk for c in second]
    assert names_and_positions(tenant) == [
        ("Meeting", 5),
        ("Inspection", 10),
        ("Consultation", 20),
        ("Public service", 40),
    ]
    assert names_and_positions(other_tenant) == [("Inspection", 99)]


def test_tenant_create_gives_the_tenant_its_categories(db) -> None:
    tenant = tenant_create(name="Eastwick", slug="eastwick", hosts=["eastwick.localhost"])
    assert names_and_positions(tenant) == DEFAULTS


def test_a_tenant_added_in_the_platform_admin_gets_its_categories(db) -> None:
    operator = UserFactory(is_superuser=True, is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    form = {
        "name": "Eastwick",
        "slug": "eastwick",
        "time_zone": "Europe/London",
        "primary_colour": "#1d70b8",
        "accent_colour": "#0b0c0c",
        "is_active": "on",
        "domain_set-TOTAL_FORMS": "1",
        "domain_set-INITIAL_FORMS": "0",
        "domain_set-0-host": "eastwick.localhost",
        "domain_set-0-is_primary": "on",
        "membership_set-TOTAL_FORMS": "0",
        "membership_set-INITIAL_FORMS": "0",
    }
    assert client.post("/admin/accounts/tenant/add/", form).status_code == 302
    with scopes_disabled():
        tenant = Tenant.objects.get(slug="eastwick")
    assert names_and_positions(tenant) == DEFAULTS
