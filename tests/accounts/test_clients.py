"""The client address every limit keys on, with and without trusted proxies."""

from __future__ import annotations

import pytest
from django.test import RequestFactory, override_settings

from accounts.clients import client_ip
from accounts.tenancy import TenantMismatch, same_tenant_check


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@override_settings(TRUSTED_PROXIES=[])
def test_without_trusted_proxies_the_forwarded_header_is_ignored() -> None:
    assert client_ip(request_from("203.0.113.9", "198.51.100.1")) == "203.0.113.9"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_behind_a_trusted_proxy_the_nearest_untrusted_hop_is_the_client() -> None:
    # The client forged the first entry; the proxy appended what it really saw.
    assert client_ip(request_from("10.0.0.2", "1.2.3.4, 198.51.100.7")) == "198.51.100.7"
    assert client_ip(request_from("10.0.0.2", "198.51.100.7, 10.1.1.1")) == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_direct_client_cannot_claim_another_address() -> None:
    assert client_ip(request_from("198.51.100.7", "1.2.3.4")) == "198.51.100.7"


@override_settings(TRUSTED_PROXIES=["10.0.0.0/8"])
def test_a_malformed_chain_falls_back_to_the_peer() -> None:
    assert client_ip(request_from("10.0.0.2", "not-an-address")) == "10.0.0.2"
    assert client_ip(request_from("10.0.0.2", "")) == "10.0.0.2"


def test_objects_of_two_tenants_cannot_be_combined(tenant, other_tenant) -> None:
    from django_scopes import scope

    with scope(tenant=tenant):
        same_tenant_check(tenant, None)
        with pytest.raises(TenantMismatch):
            same_tenant_check(other_tenant)
