from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import Client

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


# --- sign-in throttling (django-axes, counted in Redis) -------------------------------------------------


def attempt(client, email: str, password: str, address: str):
    return client.post("/accounts/login/", {"username": email, "password": password}, REMOTE_ADDR=address)


def signed_in(client) -> bool:
    return client.get("/staff/").status_code == 200


def test_wrong_passwords_lock_the_account_from_every_address(tenant, client_for, settings) -> None:
    membership = MembershipFactory(tenant=tenant)
    email = membership.user.email
    # Case does not make a new account: sign-in matches email addresses case-insensitively, so does the count.
    spellings = [email, email.upper(), email.capitalize()]
    for n in range(settings.AXES_FAILURE_LIMIT - 1):
        response = attempt(client_for(tenant), spellings[n % 3], "wrong", f"10.0.0.{n + 1}")
        assert response.status_code == 200
    assert attempt(client_for(tenant), email, "wrong", "10.0.1.1").status_code == 429

    client = client_for(tenant)
    locked = attempt(client, email, PASSWORD, "192.0.2.50")
    assert locked.status_code == 429
    assert not signed_in(client)
    # Another account is not held up.
    other = MembershipFactory(tenant=tenant)
    assert attempt(client_for(tenant), other.user.email, PASSWORD, "192.0.2.50").status_code == 302


def test_failures_from_one_address_lock_that_address_for_every_account(tenant, client_for, settings) -> None:
    member = MembershipFactory(tenant=tenant)
    for n in range(settings.AXES_FAILURE_LIMIT):
        attempt(client_for(tenant), f"guess{n}@example.org", "wrong", "203.0.113.9")

    client = client_for(tenant)
    assert attempt(client, member.user.email, PASSWORD, "203.0.113.9").status_code == 429
    assert not signed_in(client)
    elsewhere = client_for(tenant)
    assert attempt(elsewhere, member.user.email, PASSWORD, "203.0.113.10").status_code == 302
    assert signed_in(elsewhere)


def test_the_address_counted_is_the_client_behind_trusted_proxies(tenant, client_for, settings) -> None:
    settings.TRUSTED_PROXIES = ["10.1.0.0/16"]
    member = MembershipFactory(tenant=tenant)
    for n in range(settings.AXES_FAILURE_LIMIT):
        client_for(tenant).post(
            "/accounts/login/",
            {"username": f"guess{n}@example.org", "password": "wrong"},
            REMOTE_ADDR="10.1.0.2",
            HTTP_X_FORWARDED_FOR="203.0.113.9",
        )
    via_proxy = {"REMOTE_ADDR": "10.1.0.2"}
    ok = {"username": member.user.email, "password": PASSWORD}
    locked = client_for(tenant).post("/accounts/login/", ok, HTTP_X_FORWARDED_FOR="203.0.113.9", **via_proxy)
    assert locked.status_code == 429
    # Another customer of the same proxy is a different client.
    other = client_for(tenant).post("/accounts/login/", ok, HTTP_X_FORWARDED_FOR="203.0.113.77", **via_proxy)
    assert other.status_code == 302


def test_the_lockout_page_is_429_and_says_when_to_try_again(tenant, client_for, settings) -> None:
    membership = MembershipFactory(tenant=tenant)
    # 12:00 UTC is 13:00 in London in June; the lock set now lasts the cool-off (15 minutes by default).
    with time_machine.travel(datetime(2026, 6, 30, 12, 0, tzinfo=UTC), tick=False):
        for _ in range(settings.AXES_FAILURE_LIMIT - 1):
            attempt(client_for(tenant), membership.user.email, "wrong", "198.51.100.1")
        response = attempt(client_for(tenant), membership.user.email, "wrong", "198.51.100.1")
        retry = datetime(2026, 6, 30, 12, 0, tzinfo=UTC) + settings.AXES_COOLOFF_TIME
        again = attempt(client_for(tenant), membership.user.email, PASSWORD, "198.51.100.2")
    for locked in (response, again):
        assert locked.status_code == 429
        assert locked["Retry-After"] == str(int(settings.AXES_COOLOFF_TIME.total_seconds()))
        page = locked.content.decode()
        assert "Too many sign-in attempts" in page
        assert f"try again after {retry.astimezone(tenant.zone):%H:%M}" in page
        assert "Northshire Council" in page  # the tenant's own staff page, not a bare text
    assert "try again after 13:15 (in 15 minutes)" in again.content.decode()  # the default cool-off


def test_after_the_cool_off_signing_in_works_and_refused_attempts_did_not_extend_it(
    tenant, client_for, settings
) -> None:
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    membership = MembershipFactory(tenant=tenant)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        attempt(client_for(tenant), membership.user.email, "wrong", "198.51.100.3")
    time.sleep(0.6)
    assert attempt(client_for(tenant), membership.user.email, "wrong", "198.51.100.3").status_code == 429
    time.sleep(0.6)
    client = client_for(tenant)
    assert attempt(client, membership.user.email, PASSWORD, "198.51.100.3").status_code == 302
    assert signed_in(client)


def test_the_platform_admin_login_is_throttled_too(db, settings) -> None:
    operator = UserFactory(is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST="localhost")
    form = {"username": operator.email, "password": "wrong", "next": "/admin/"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/admin/login/", form, REMOTE_ADDR="10.0.0.1").status_code == 200
    assert client.post("/admin/login/", form, REMOTE_ADDR="10.0.0.1").status_code == 429

    right = {**form, "password": PASSWORD}
    locked = client.post("/admin/login/", right, REMOTE_ADDR="10.0.0.2")
    assert locked.status_code == 429
    assert "Too many sign-in attempts" in locked.content.decode()
    assert client.get("/admin/").status_code == 302  # still signed out


def test_an_address_typed_as_a_user_name_does_not_lock_that_address(tenant, client_for, db, settings) -> None:
    client = Client(HTTP_HOST="localhost")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/admin/login/", {"username": "192.0.2.200", "password": "x"}, REMOTE_ADDR="10.0.0.5")
    member = MembershipFactory(tenant=tenant)
    assert attempt(client_for(tenant), member.user.email, PASSWORD, "192.0.2.200").status_code == 302


def test_the_tenant_admin_signs_in_on_the_throttled_login_page(tenant, client_for) -> None:
    response = client_for(tenant).get("/admin/login/?next=/admin/")
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
