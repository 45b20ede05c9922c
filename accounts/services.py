"""Writes for tenants, users and memberships."""

from __future__ import annotations

from django.db import transaction
from django_scopes import scopes_disabled

from .models import Domain, Membership, Officer, Role, Skill, Team, Tenant, User
from .signals import tenant_created
from .tenancy import same_tenant_check


@transaction.atomic
def tenant_create(*, name: str, slug: str, hosts: list[str], time_zone: str = "Europe/London") -> Tenant:
    """A tenant with its host names (the first host is the primary one), onboarded (see tenant_onboard)."""
    tenant = Tenant(name=name, slug=slug, time_zone=time_zone)
    tenant.full_clean()
    tenant_onboard(tenant=tenant, hosts=hosts)
    return tenant


@transaction.atomic
def tenant_onboard(*, tenant: Tenant, hosts: list[str] = ()) -> Tenant:
    """Saves a new tenant and its host names, then sends `tenant_created` in the same transaction so every
    app gives it its defaults (scheduling: the default categories). The one way a tenant comes to exist:
    the platform admin and the demo seed both come through here."""
    tenant.save()
    with scopes_disabled():
        for index, host in enumerate(hosts):
            Domain.objects.create(tenant=tenant, host=host.lower(), is_primary=index == 0)
    tenant_created.send(sender=Tenant, tenant=tenant)
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
    """A member with the officer role and their working profile; team and skills must be the tenant's own."""
    same_tenant_check(tenant, team, *skills)
    membership = member_add(
        tenant=tenant, email=email, full_name=full_name, role=Role.OFFICER, password=password
    )
    officer = Officer.objects.create(tenant=tenant, user=membership.user, team=team, home_base=home_base)
    officer.skills.set(skills, through_defaults={"tenant": tenant})
    return officer
