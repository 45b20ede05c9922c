"""factory-boy factories for scheduling models. Each keeps its whole object graph inside one tenant."""

from __future__ import annotations

from datetime import date, time

import factory
from django.utils.text import slugify
from django_scopes import scope

from scheduling.models import (
    AppointmentType,
    Category,
    LocationMode,
    Resource,
    ResourceKind,
    ServiceBlock,
    WorkingPattern,
)
from tests.factories import OfficerFactory, TenantFactory


class CategoryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Category

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Category {n}")


class AppointmentTypeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AppointmentType

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Appointment type {n}")
    slug = factory.LazyAttribute(lambda o: slugify(o.name))
    category = factory.SubFactory(CategoryFactory, tenant=factory.SelfAttribute("..tenant"))
    duration_minutes = 30
    location_mode = LocationMode.OFFICE


class ResourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Resource

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Room {n}")
    kind = ResourceKind.ROOM


class WorkingPatternFactory(factory.django.DjangoModelFactory):
    """An officer's pattern with no intervals; pass `officer=None, resource=...` for a resource's."""

    class Meta:
        model = WorkingPattern

    tenant = factory.SubFactory(TenantFactory)
    officer = factory.SubFactory(OfficerFactory, tenant=factory.SelfAttribute("..tenant"))
    resource = None
    valid_from = date(2026, 1, 1)
    valid_until = None


class ServiceBlockFactory(factory.django.DjangoModelFactory):
    """Tuesday mornings; pass `appointment_types=[...]` and `officers=[...]` of the same tenant."""

    class Meta:
        model = ServiceBlock
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Block {n}")
    start = time(9)
    end = time(12)
    recurrence = "RRULE:FREQ=WEEKLY;BYDAY=TU"

    @factory.post_generation
    def appointment_types(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            with scope(tenant=self.tenant):
                self.appointment_types.set(extracted, through_defaults={"tenant": self.tenant})

    @factory.post_generation
    def officers(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create and extracted:
            with scope(tenant=self.tenant):
                self.officers.set(extracted, through_defaults={"tenant": self.tenant})
