"""Tenant administrators see and change only their own tenant's rows through /admin/."""

from __future__ import annotations

import re

from django.contrib.messages import get_messages
from django.test import Client
from django.utils.html import escape
from django_scopes import scope, scopes_disabled

from accounts.models import Domain, Membership, Officer, Role, Skill, Tenant
from scheduling.models import Category
from tests.factories import MembershipFactory, OfficerFactory, SkillFactory, UserFactory


def test_tenant_admin_lists_only_own_rows(tenant, other_tenant, client_for, member_of) -> None:
    SkillFactory(tenant=tenant, name="Food hygiene")
    SkillFactory(tenant=other_tenant, name="Secret other skill")
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    page = client.get("/admin/accounts/skill/").content.decode()
    assert "Food hygiene" in page
    assert "Secret other skill" not in page


def test_tenant_admin_cannot_open_or_change_another_tenants_row(
    tenant, other_tenant, client_for, member_of
) -> None:
    theirs = SkillFactory(tenant=other_tenant, name="Theirs")
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    response = client.get(f"/admin/accounts/skill/{theirs.pk}/change/")
    assert response.status_code == 302  # the admin's "does not exist" redirect, exactly as for a missing id
    client.post(f"/admin/accounts/skill/{theirs.pk}/change/", {"name": "Hijacked"})
    client.post(f"/admin/accounts/skill/{theirs.pk}/delete/", {"post": "yes"})
    with scopes_disabled():
        theirs.refresh_from_db()
    assert theirs.name == "Theirs"


def test_new_rows_belong_to_the_admins_tenant_and_duplicates_are_friendly(
    tenant, other_tenant, client_for, member_of
) -> None:
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    SkillFactory(tenant=other_tenant, name="Gas safety")
    assert client.post("/admin/accounts/skill/add/", {"name": "Gas safety"}).status_code == 302
    response = client.post("/admin/accounts/skill/add/", {"name": "Gas safety"})
    assert response.status_code == 200
    assert "already exists" in response.content.decode()
    with scope(tenant=tenant):
        assert Skill.objects.filter(name="Gas safety").count() == 1


def test_officer_form_offers_only_own_skills_and_members(tenant, other_tenant, client_for, member_of) -> None:
    own_skill = SkillFactory(tenant=tenant)
    their_skill = SkillFactory(tenant=other_tenant)
    outsider = member_of(other_tenant, Role.OFFICER).user
    insider = member_of(tenant, Role.OFFICER).user
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    page = client.get("/admin/accounts/officer/add/").content.decode()
    assert own_skill.name in page and their_skill.name not in page
    # Names are HTML-escaped on the page: "O'Connor" is drawn as "O&#x27;Connor".
    assert insider.email in page or escape(insider.full_name) in page
    assert escape(outsider.full_name) not in page and outsider.email not in page

    response = client.post(
        "/admin/accounts/officer/add/",
        {"user": outsider.pk, "skills": [their_skill.pk], "is_active": "on"},
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
    with scope(tenant=tenant):
        assert not Officer.objects.exists()


def test_admin_adds_a_member_by_email(tenant, client_for, member_of) -> None:
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    response = client.post(
        "/admin/accounts/membership/add/",
        {
            "email": "New.Person@example.org",
            "full_name": "New Person",
            "role": Role.OFFICER,
            "is_active": "on",
        },
    )
    assert response.status_code == 302
    with scope(tenant=tenant):
        membership = Membership.objects.get(user__email="new.person@example.org")
    assert membership.role == Role.OFFICER and membership.tenant == tenant


def test_only_administrators_reach_the_tenant_admin(tenant, client_for, member_of) -> None:
    for role in [Role.OFFICER, Role.CUSTOMER_SERVICE, Role.MANAGER]:
        client = client_for(tenant, member_of(tenant, role))
        response = client.get("/admin/accounts/skill/", follow=True)
        assert response.status_code == 403


def test_tenant_admin_signs_in_on_the_tenant_sign_in_page(tenant, client_for, member_of) -> None:
    membership = member_of(tenant, Role.ADMINISTRATOR)
    client = client_for(tenant)
    response = client.get("/admin/accounts/skill/", follow=True)
    assert response.redirect_chain[-1][0].startswith("/accounts/login/?next=/admin/accounts/skill/")
    signed_in = client.post(
        "/accounts/login/?next=/admin/accounts/skill/",
        {
            "username": membership.user.email,
            "password": "correct-horse-battery",
            "next": "/admin/accounts/skill/",
        },
    )
    assert signed_in.url == "/admin/accounts/skill/"
    assert client.get("/admin/accounts/skill/").status_code == 200


def test_administrator_of_tenant_a_is_not_admin_on_tenant_b(tenant, other_tenant, client_for) -> None:
    user = UserFactory()
    with scopes_disabled():
        Membership.objects.create(tenant=tenant, user=user, role=Role.ADMINISTRATOR)
        Membership.objects.create(tenant=other_tenant, user=user, role=Role.OFFICER)
    assert client_for(tenant, user).get("/admin/").status_code == 200
    assert client_for(other_tenant, user).get("/admin/", follow=True).status_code == 403


def test_platform_admin_manages_tenants_and_domains(db) -> None:
    operator = UserFactory(is_superuser=True, is_staff=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    response = client.post(
        "/admin/accounts/tenant/add/",
        {
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
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    with scopes_disabled():
        tenant = Tenant.objects.get(slug="eastwick")
        assert Domain.objects.get(host="eastwick.localhost").tenant == tenant
    assert Client(HTTP_HOST="eastwick.localhost").get("/").status_code == 200
    with scope(tenant=tenant):  # the platform admin provisions the default categories too
        assert list(Category.objects.values_list("name", flat=True)) == [
            "Inspection",
            "Consultation",
            "Meeting",
            "Public service",
        ]


def test_tenant_administrator_cannot_use_the_platform_admin(tenant, member_of) -> None:
    client = Client(HTTP_HOST="localhost")
    client.force_login(member_of(tenant, Role.ADMINISTRATOR).user)
    assert client.get("/admin/accounts/tenant/").status_code == 302


def test_officer_factory_keeps_graph_in_one_tenant(tenant) -> None:
    officer = OfficerFactory(tenant=tenant)
    with scopes_disabled():
        assert Membership.objects.get(user=officer.user).tenant == tenant


def test_tenant_admin_edits_only_their_own_organisation(tenant, other_tenant, client_for, member_of) -> None:
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    listing = client.get("/admin/accounts/tenant/").content.decode()
    assert "Northshire Council" in listing and "Southvale" not in listing
    assert client.get(f"/admin/accounts/tenant/{other_tenant.pk}/change/").status_code == 302
    assert client.get("/admin/accounts/tenant/add/").status_code == 403
    response = client.post(
        f"/admin/accounts/tenant/{tenant.pk}/change/",
        {
            "name": "Northshire Council",
            "primary_colour": "#005ea5",
            "accent_colour": "#0b0c0c",
            "time_zone": "Europe/London",
            "welsh_enabled": "on",
        },
    )
    assert response.status_code == 302
    tenant.refresh_from_db()
    assert tenant.welsh_enabled and tenant.primary_colour == "#005ea5"
    bad = client.post(
        f"/admin/accounts/tenant/{tenant.pk}/change/",
        {"name": "X", "primary_colour": "blue", "accent_colour": "#0b0c0c", "time_zone": "Mars/Base"},
    )
    assert bad.status_code == 200 and "is not a known time zone" in bad.content.decode()
    other_tenant.refresh_from_db()
    assert not other_tenant.welsh_enabled


# --- a person's identity is theirs across tenants -------------------------------------------------------


def member_page_inputs(page: str) -> set[str]:
    return set(re.findall(r'<input[^>]*name="([a-z_]+)"', page))


def test_adding_someone_with_an_account_elsewhere_neither_changes_nor_shows_them(
    tenant, other_tenant, client_for, member_of
) -> None:
    person = UserFactory(email="priya@example.org", full_name="Priya Secretname")
    MembershipFactory(tenant=other_tenant, user=person, role=Role.ADMINISTRATOR)
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    typed = {"email": "Priya@Example.org", "full_name": "Someone Else", "is_active": "on"}

    invalid = client.post("/admin/accounts/membership/add/", typed)  # no role: the form comes back
    assert invalid.status_code == 200 and "Priya Secretname" not in invalid.content.decode()
    added = client.post("/admin/accounts/membership/add/", {**typed, "role": Role.OFFICER})

    assert added.status_code == 302 and "Priya Secretname" not in added.content.decode()
    said = " ".join(str(m) for m in get_messages(added.wsgi_request))
    assert "priya@example.org" in said and "Priya Secretname" not in said
    person.refresh_from_db()
    assert person.full_name == "Priya Secretname" and person.check_password("correct-horse-battery")
    with scope(tenant=tenant):
        assert Membership.objects.get(user=person).role == Role.OFFICER


def test_name_and_email_of_a_member_of_another_tenant_are_read_only(
    tenant, other_tenant, client_for, member_of
) -> None:
    person = UserFactory(email="sam@example.org", full_name="Sam Shared")
    MembershipFactory(tenant=other_tenant, user=person, role=Role.OFFICER)
    membership = MembershipFactory(tenant=tenant, user=person, role=Role.OFFICER)
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    url = f"/admin/accounts/membership/{membership.pk}/change/"

    page = client.get(url).content.decode()
    assert {"full_name", "email"}.isdisjoint(member_page_inputs(page)) and "role" in page
    assert "sam@example.org" in page  # shown, as the tenant knows them
    response = client.post(
        url, {"email": "evil@example.org", "full_name": "Renamed", "role": Role.MANAGER, "is_active": "on"}
    )

    assert response.status_code == 302
    person.refresh_from_db()
    assert (person.email, person.full_name) == ("sam@example.org", "Sam Shared")
    membership.refresh_from_db()
    assert membership.role == Role.MANAGER  # the tenant's own part stays the tenant's to change


def test_the_platform_operators_identity_is_read_only_in_a_tenant(tenant, client_for, member_of) -> None:
    operator = UserFactory(full_name="Platform Operator", is_superuser=True, is_staff=True)
    membership = MembershipFactory(tenant=tenant, user=operator, role=Role.ADMINISTRATOR)
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    url = f"/admin/accounts/membership/{membership.pk}/change/"
    assert "full_name" not in member_page_inputs(client.get(url).content.decode())
    client.post(url, {"full_name": "Renamed", "role": Role.ADMINISTRATOR, "is_active": "on"})
    operator.refresh_from_db()
    assert operator.full_name == "Platform Operator"


def test_a_member_of_this_tenant_only_can_have_their_name_corrected(tenant, client_for, member_of) -> None:
    membership = member_of(tenant, Role.OFFICER)
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    url = f"/admin/accounts/membership/{membership.pk}/change/"
    inputs = member_page_inputs(client.get(url).content.decode())
    assert "full_name" in inputs and "email" not in inputs
    response = client.post(
        url,
        {"email": "evil@example.org", "full_name": "Corrected Name", "role": Role.OFFICER, "is_active": "on"},
    )
    assert response.status_code == 302
    membership.user.refresh_from_db()
    assert membership.user.full_name == "Corrected Name" and membership.user.email != "evil@example.org"


def test_tenant_admin_has_no_page_for_users_or_their_passwords(tenant, client_for, member_of) -> None:
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    someone = member_of(tenant, Role.OFFICER).user
    assert client.get("/admin/accounts/user/").status_code == 404
    assert client.get(f"/admin/accounts/user/{someone.pk}/password/").status_code == 404


def test_the_platform_admin_still_changes_a_shared_persons_identity(tenant, other_tenant) -> None:
    person = UserFactory(email="sam@example.org", full_name="Sam Shared")
    MembershipFactory(tenant=tenant, user=person)
    MembershipFactory(tenant=other_tenant, user=person)
    client = Client(HTTP_HOST="localhost")
    client.force_login(UserFactory(is_superuser=True, is_staff=True))
    response = client.post(
        f"/admin/accounts/user/{person.pk}/change/",
        {"email": "sam.new@example.org", "full_name": "Sam Renamed", "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    person.refresh_from_db()
    assert (person.email, person.full_name) == ("sam.new@example.org", "Sam Renamed")
