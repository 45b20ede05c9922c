"""Writes for tenants, users and memberships."""

from __future__ import annotations

from django.db import transaction
from django_scopes import scopes_disabled

from .models import Domain, Membership, Officer, Role, Skill, Team, Tenant, User


@transaction.atomic
def tenant_create(*, name: str, slug: str, hosts: list[str], time_zone: str = "Europe/London") -> Tenant:
    """A tenant with its host names (the first host is the primary one) and the default categories."""
    tenant = Tenant(name=name, slug=slug, time_zone=time_zone)
    tenant.full_clean()
    tenant.save()
    with scopes_disabled():
        for index, host in enumerate(hosts):
            Domain.objects.create(tenant=tenant, host=host.lower(), is_primary=index == 0)
    from scheduling.services import categories_create_defaults  # scheduling depends on accounts

    categories_create_defaults(tenant=tenant)
    return tenant


@transaction.atomic
def member_add(
    *, tenant: Tenant, email: str, full_name: str, role: Role, password: str | None = None
) -> Membership:
    """Adds a person to a tenant with one role, creating their account if they have none anywhere yet."""
    user = User.objects.filter(email=email.lower()).first()
    if user is None:
        user = User.objects.create_user(email=email, password=password, full_name=full_name)
    return Membership.objects.create(tenant=tenant, user=user, role=role)


@transaction.atomic
def officer_create(
    *,
    tenant: Tenant,
    email: str,
    full_name: str,
    skills: list[Skill] = (),
    team: Team | None = None,
    home_base: str = "",
    password: str | None = None,
) -> Officer:
    membership = member_add(
        tenant=tenant, email=email, full_name=full_name, role=Role.OFFICER, password=password
    )
    officer = Officer.objects.create(tenant=tenant, user=membership.user, team=team, home_base=home_base)
    officer.skills.set(skills)
    return officer
