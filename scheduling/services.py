"""Writes for scheduling configuration."""

from __future__ import annotations

from django.db import transaction
from django_scopes import scope

from accounts.models import Tenant

from .models import Category

DEFAULT_CATEGORIES = [("Inspection", 10), ("Consultation", 20), ("Meeting", 30), ("Public service", 40)]


@transaction.atomic
def categories_create_defaults(*, tenant: Tenant) -> list[Category]:
    """Gives a tenant the four categories every organisation starts with, in their usual order.

    Safe to run again: a category that already exists by name is left exactly as the tenant has it (its
    position may have been changed). Returns the four categories, existing or new, in default order.
    """
    with scope(tenant=tenant):
        return [
            Category.objects.get_or_create(tenant=tenant, name=name, defaults={"position": position})[0]
            for name, position in DEFAULT_CATEGORIES
        ]
