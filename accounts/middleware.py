"""Resolve the tenant from the Host header and run the whole request inside its scope."""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib import import_module

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest, HttpResponse
from django.middleware.locale import LocaleMiddleware
from django.shortcuts import render
from django.utils import timezone, translation
from django_scopes import scope, scopes_disabled

from .models import Domain, Tenant

HOST_INDEPENDENT_PATHS = ("/healthz",)
# The host a session was first saved on (login, a portal hold); it is honoured there only.
SESSION_HOST_KEY = "_session_host"

logger = logging.getLogger(__name__)


def request_host(request: HttpRequest) -> str:
    """The host name the request was made to, lower-case and without a port (cookies ignore ports too)."""
    return request.get_host().rsplit(":", 1)[0].lower()


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

        host = request_host(request)
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


class SessionHostMiddleware:
    """Binds each session to the host it was made on: a session cookie presented on another host (another
    tenant's, the platform's, or another name of the same tenant) is not honoured there.

    The host is recorded in the session when it is first saved with something in it (a login, a portal
    hold). Presented elsewhere, the request runs anonymous with a new, empty session; the original is left
    alone, still good on its own host, and its cookie is neither replaced nor deleted unless this host
    starts a session of its own. A session without a recorded host (made before this check, or by the test
    client's force_login) is bound to the first host it is used on. Goes after SessionMiddleware and
    AuthenticationMiddleware, before anything that reads the session or the user.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if getattr(request, "session", None) is None:
            return self.get_response(request)
        host = request_host(request)
        if request.session.session_key is not None:
            bound = request.session.get(SESSION_HOST_KEY)
            if bound is not None and bound != host:
                logger.info("A session made on %s was presented on %s; running anonymous.", bound, host)
                self._start_afresh(request)
        response = self.get_response(request)
        self._bind(request.session, host)
        return response

    @staticmethod
    def _start_afresh(request: HttpRequest) -> None:
        request.session = import_module(settings.SESSION_ENGINE).SessionStore()
        # Forgotten for this request only, so SessionMiddleware does not delete a cookie that may be shared
        # with the session's own host (SESSION_COOKIE_DOMAIN).
        request.COOKIES.pop(settings.SESSION_COOKIE_NAME, None)
        request.user = AnonymousUser()

    @staticmethod
    def _bind(session: SessionBase, host: str) -> None:
        if not (session.accessed or session.modified):
            return
        if SESSION_HOST_KEY not in session and session.keys():  # something worth keeping, not yet bound
            session[SESSION_HOST_KEY] = host


class TenantLocaleMiddleware(LocaleMiddleware):
    """Django's language choice (cookie, then browser), limited to the languages the tenant offers."""

    def process_request(self, request: HttpRequest) -> None:
        super().process_request(request)
        tenant = getattr(request, "tenant", None)
        offered = tenant.language_codes if tenant else [settings.LANGUAGE_CODE]
        if translation.get_language() not in offered:
            translation.activate(offered[0])
            request.LANGUAGE_CODE = offered[0]
