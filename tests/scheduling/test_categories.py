"""Every tenant starts with the default categories, however it was created."""

from __future__ import annotations

from django_scopes import scope

from accounts.models import Tenant
from accounts.services import tenant_create
from scheduling.models import Category
from scheduling.services import categories_create_defaults
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
