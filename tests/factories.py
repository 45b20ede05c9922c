"""factory-boy factories. Each keeps its whole object graph inside one tenant."""

from __future__ import annotations

import factory
from django_scopes import scope

from accounts.models import Domain, Membership, Officer, Role, Skill, Team, Tenant, User


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Council {n}")
    slug = factory.Sequence(lambda n: f"council-{n}")
    time_zone = "Europe/London"

    @factory.post_generation
    def host(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if create:
            Domain.objects.create(tenant=self, host=extracted or f"{self.slug}.localhost", is_primary=True)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.django.Password("correct-horse-battery")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    tenant = factory.SubFactory(TenantFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OFFICER


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Team {n}")


class SkillFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Skill

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Skill {n}")


class OfficerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Officer
        skip_postgeneration_save = True

    tenant = factory.SubFactory(TenantFactory)
    user = factory.LazyAttribute(lambda o: MembershipFactory(tenant=o.tenant, role=Role.OFFICER).user)

    @factory.post_generation
    def skills(self, create: bool, extracted: list[Skill] | None, **kwargs: object) -> None:
        if create and extracted:
            with scope(tenant=self.tenant):
                self.skills.set(extracted, through_defaults={"tenant": self.tenant})
