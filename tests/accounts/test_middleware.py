from __future__ import annotations

import re
from importlib import import_module

import pytest
import time_machine
from django.conf import settings
from django.test import Client
from django_scopes import scopes_disabled

from accounts.middleware import SESSION_HOST_KEY
from accounts.models import Domain, Role
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import MembershipFactory, UserFactory


@pytest.mark.django_db
def test_unknown_host_gets_a_clean_404_page() -> None:
    response = Client(HTTP_HOST="nowhere.localhost").get("/")
    assert response.status_code == 404
    assert b"There is no service at this address" in response.content


def test_tenant_host_renders_inside_the_tenant(tenant, other_tenant) -> None:
    response = Client(HTTP_HOST="northshire.localhost").get("/")
    assert response.status_code == 200
    assert "Northshire Council" in response.content.decode()
    assert "Southvale" not in response.content.decode()


def test_host_matching_ignores_port_and_case(tenant) -> None:
    response = Client(HTTP_HOST="NorthShire.localhost:8000").get("/")
    assert response.status_code == 200
    assert "Northshire Council" in response.content.decode()


def test_inactive_tenant_is_unknown(tenant) -> None:
    tenant.is_active = False
    tenant.save(update_fields=["is_active"])
    assert Client(HTTP_HOST="northshire.localhost").get("/").status_code == 404


def test_platform_host_serves_the_platform_admin_only(tenant) -> None:
    client = Client(HTTP_HOST="localhost")
    assert client.get("/").url == "/admin/"
    assert client.get("/admin/").status_code == 302  # to the login page
    assert client.get("/staff/").status_code == 404


def test_public_pages_load_htmx_locally_and_send_csrf(tenant) -> None:
    html = Client(HTTP_HOST="northshire.localhost").get("/").content.decode()
    assert '<script src="/static/django-htmx/' in html or 'src="/static/' in html
    # No script or stylesheet from another origin (a CDN): every src/href is site-relative.
    assert not re.search(r'(src|href)="(https?:)?//', html)
    assert 'hx-headers=\'{"X-CSRFToken": "' in html
    assert 'href="#main-content" class="skip-link"' in html
    assert '<main id="main-content"' in html
    assert 'role="banner"' in html


# --- sessions are bound to the host they were made on ---------------------------------------------------


def signed_in_on(host: str, user, path: str = "/accounts/login/") -> Client:
    client = Client(HTTP_HOST=host)
    response = client.post(path, {"username": user.email, "password": "correct-horse-battery"})
    assert response.status_code == 302, response.content.decode()[:1000]
    return client


def replayed(client: Client, host: str) -> Client:
    """Another browser (or a shared cookie domain) presenting the same session cookie on `host`."""
    thief = Client(HTTP_HOST=host)
    thief.cookies[settings.SESSION_COOKIE_NAME] = client.cookies[settings.SESSION_COOKIE_NAME].value
    return thief


def test_sign_in_records_the_host_in_the_session(tenant, member_of) -> None:
    client = signed_in_on("northshire.localhost", member_of(tenant, Role.ADMINISTRATOR).user)
    store = import_module(settings.SESSION_ENGINE).SessionStore
    session = store(client.cookies[settings.SESSION_COOKIE_NAME].value)
    assert session[SESSION_HOST_KEY] == "northshire.localhost"


def test_an_administrators_session_is_anonymous_on_another_tenants_host(tenant, other_tenant) -> None:
    # Administrator of both tenants: the cookie alone would let them in on either, were it honoured.
    user = UserFactory()
    MembershipFactory(tenant=tenant, user=user, role=Role.ADMINISTRATOR)
    MembershipFactory(tenant=other_tenant, user=user, role=Role.ADMINISTRATOR)
    client = signed_in_on("northshire.localhost", user)
    assert client.get("/admin/").status_code == 200

    elsewhere = replayed(client, "southvale.localhost")
    admin = elsewhere.get("/admin/")
    staff = elsewhere.get("/staff/")

    assert admin.status_code == 302 and admin.url.startswith("/admin/login/")  # on to the sign-in page
    assert staff.status_code == 302 and staff.url.startswith("/accounts/login/")
    assert settings.SESSION_COOKIE_NAME not in admin.cookies  # the cookie is not deleted from there
    assert client.get("/admin/").status_code == 200  # and the session still works on its own host


def test_a_session_made_by_force_login_is_bound_where_first_used(
    tenant, other_tenant, client_for, member_of
) -> None:
    user = member_of(tenant, Role.ADMINISTRATOR).user
    MembershipFactory(tenant=other_tenant, user=user, role=Role.ADMINISTRATOR)
    client = client_for(tenant, user)
    assert client.get("/admin/").status_code == 200
    assert replayed(client, "southvale.localhost").get("/admin/").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_the_platform_operators_session_is_anonymous_on_a_tenant_host(tenant) -> None:
    operator = UserFactory(is_superuser=True, is_staff=True)
    client = signed_in_on("localhost", operator, path="/admin/login/?next=/admin/")
    assert client.get("/admin/accounts/tenant/").status_code == 200

    on_tenant = replayed(client, "northshire.localhost").get("/admin/")

    assert on_tenant.status_code == 302 and on_tenant.url.startswith("/admin/login/")


def test_a_tenant_session_is_anonymous_on_the_platform_host(tenant) -> None:
    operator = UserFactory(is_superuser=True, is_staff=True)
    MembershipFactory(tenant=tenant, user=operator, role=Role.ADMINISTRATOR)
    client = signed_in_on("northshire.localhost", operator)
    response = replayed(client, "localhost").get("/admin/accounts/tenant/")
    assert response.status_code == 302 and "/admin/login/" in response.url


def test_portal_holds_are_not_visible_under_another_host_name(tenant) -> None:
    with scopes_disabled():
        Domain.objects.create(tenant=tenant, host="bookings.northshire.localhost")
    with time_machine.travel(NOW, tick=False):
        b.officer(tenant)
        b.appointment_type(tenant, slug="food")
        client = Client(HTTP_HOST="northshire.localhost")
        held = client.post("/services/food/hold/", {"start": at(MONDAY, 10).isoformat()})
        assert held.status_code == 302 and client.get(held.url).status_code == 200

        same_tenant_other_name = replayed(client, "bookings.northshire.localhost")
        assert same_tenant_other_name.get(held.url).status_code == 404
        assert replayed(client, "southvale.localhost").get(held.url).status_code == 404
        assert client.get(held.url).status_code == 200


def test_an_empty_session_is_not_saved_for_a_visit(tenant) -> None:
    response = Client(HTTP_HOST="northshire.localhost").get("/")
    assert settings.SESSION_COOKIE_NAME not in response.cookies
