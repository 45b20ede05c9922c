"""Resolve the tenant from the Host header and run the whole request inside its scope."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled

from .models import Domain, Tenant

HOST_INDEPENDENT_PATHS = ("/healthz",)


def tenant_for_host(host: str) -> Tenant | None:
    # Tenancy code is the one place allowed to look across tenants: it has to, to find the tenant.
    with scopes_disabled():
        domain = Domain.objects.select_related("tenant").filter(host=host, tenant__is_active=True).first()
    return domain.tenant if domain else None


class TenantMiddleware:
    """Unknown hosts get a 404 page; platform hosts get the platform admin; tenant hosts run scoped.

    The response is rendered inside the scope so that lazy querysets in templates stay tenant-bound.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None
        if request.path in HOST_INDEPENDENT_PATHS:
            return self.get_response(request)

        host = request.get_host().rsplit(":", 1)[0].lower()
        if host in settings.PLATFORM_HOSTS:
            request.urlconf = settings.PLATFORM_URLCONF
            with scopes_disabled():
                return self._rendered(self.get_response(request))

        tenant = tenant_for_host(host)
        if tenant is None:
            return render(request, "tenancy/unknown_host.html", {"host": host}, status=404)

        request.tenant = tenant
        with scope(tenant=tenant), timezone.override(tenant.zone):
            return self._rendered(self.get_response(request))

    @staticmethod
    def _rendered(response: HttpResponse) -> HttpResponse:
        if hasattr(response, "render") and callable(response.render) and not response.is_rendered:
            response.render()
        return response


class TenantLocaleMiddleware(LocaleMiddleware):
    """Django's language choice (cookie, then browser), limited to the languages the tenant offers."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        tenant = getattr(request, "tenant", None)
        offered = tenant.language_codes if tenant else [settings.LANGUAGE_CODE]
        if translation.get_language() not in offered:
            translation.activate(offered[0])
            request.LANGUAGE_CODE = offered[0]
