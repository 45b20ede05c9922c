from __future__ import annotations

import re

import pytest
from django.test import Client


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
