"""Absolute links on a tenant's own host, for what leaves a request: emails, texts, provider callbacks."""

from __future__ import annotations

from django.conf import settings
from django_scopes import scopes_disabled

from .models import Domain


def tenant_absolute_url(tenant_id: int, path: str) -> str:
    """`path` on the tenant's primary host (or any of its hosts when none is primary), with the scheme and
    port public links use (PUBLIC_URL_SCHEME, PUBLIC_URL_PORT: https and none in production)."""
    with scopes_disabled():
        host = (
            Domain.objects.filter(tenant_id=tenant_id)
            .order_by("-is_primary", "host")
            .values_list("host", flat=True)
            .first()
        )
    if host is None:
        raise LookupError(f"tenant {tenant_id} has no host name")
    port = f":{settings.PUBLIC_URL_PORT}" if settings.PUBLIC_URL_PORT else ""
    return f"{settings.PUBLIC_URL_SCHEME}://{host}{port}{path}"
