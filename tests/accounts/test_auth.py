from __future__ import annotations

import pytest

from accounts.models import Role
from tests.factories import MembershipFactory, UserFactory

PASSWORD = "correct-horse-battery"


def login(client, email: str, password: str = PASSWORD):
    return client.post("/accounts/login/", {"username": email, "password": password})


def test_member_logs_in_by_email_and_out_again(tenant, client_for) -> None:
    membership = MembershipFactory(tenant=tenant, role=Role.CUSTOMER_SERVICE)
    client = client_for(tenant)
    response = login(client, membership.user.email.upper())
    assert response.status_code == 302 and response.url == "/staff/"
    page = client.get("/staff/").content.decode()
    assert "Customer service" in page
    client.post("/accounts/logout/")
    assert client.get("/staff/").status_code == 302


def test_member_of_another_tenant_cannot_log_in_here(tenant, other_tenant, client_for) -> None:
    membership = MembershipFactory(tenant=other_tenant, role=Role.ADMINISTRATOR)
    client = client_for(tenant)
    response = login(client, membership.user.email)
    assert response.status_code == 200
    assert "Enter a correct email address and password" in response.content.decode()
    assert client.get("/staff/").status_code == 302


def test_one_person_can_hold_different_roles_in_two_tenants(tenant, other_tenant, client_for) -> None:
    user = UserFactory()
    MembershipFactory(tenant=tenant, user=user, role=Role.OFFICER)
    MembershipFactory(tenant=other_tenant, user=user, role=Role.MANAGER)
    assert "Officer" in client_for(tenant, user).get("/staff/").content.decode()
    assert "Manager" in client_for(other_tenant, user).get("/staff/").content.decode()


def test_inactive_membership_cannot_log_in(tenant, client_for) -> None:
    membership = MembershipFactory(tenant=tenant, is_active=False)
    assert login(client_for(tenant), membership.user.email).status_code == 200


def test_wrong_password_is_refused(tenant, client_for) -> None:
    membership = MembershipFactory(tenant=tenant)
    response = login(client_for(tenant), membership.user.email, "wrong")
    assert "Enter a correct email address and password" in response.content.decode()


def test_anonymous_staff_page_redirects_to_login(tenant, client_for) -> None:
    response = client_for(tenant).get("/staff/officers/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/?next=/staff/officers/")


@pytest.mark.parametrize(
    ("role", "status"),
    [(Role.ADMINISTRATOR, 200), (Role.CUSTOMER_SERVICE, 200), (Role.MANAGER, 200), (Role.OFFICER, 403)],
)
def test_officer_list_is_enforced_by_role_not_by_menu(tenant, client_for, member_of, role, status) -> None:
    response = client_for(tenant, member_of(tenant, role)).get("/staff/officers/")
    assert response.status_code == status


def test_staff_navigation_mirrors_roles(tenant, client_for, member_of) -> None:
    officer_page = client_for(tenant, member_of(tenant, Role.OFFICER)).get("/staff/").content.decode()
    admin_page = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR)).get("/staff/").content.decode()
    assert "/staff/officers/" not in officer_page and "/admin/" not in officer_page
    assert "/staff/officers/" in admin_page and "/admin/" in admin_page
