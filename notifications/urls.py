"""Provider webhooks on tenant hosts (config.urls). Twilio's callbacks, and the tracking webhook of each ESP
in EMAIL_TRACKING_ESPS, which exists only once ANYMAIL["WEBHOOK_SECRET"] is set: anymail would otherwise
take anyone's reports. Only the named ESPs' views are mounted: anymail's others refuse to start without
their own keys (a 500 for whoever calls them)."""

from __future__ import annotations

from anymail.urls import urlpatterns as anymail_patterns
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.urls import URLPattern, path

from . import views

app_name = "notifications"

ANYMAIL_VIEWS = {pattern.name: pattern.callback for pattern in anymail_patterns}


def tracking_patterns() -> list[URLPattern]:
    if not settings.ANYMAIL.get("WEBHOOK_SECRET"):
        return []
    patterns = []
    for esp in settings.EMAIL_TRACKING_ESPS:
        view = ANYMAIL_VIEWS.get(f"{esp}_tracking_webhook")
        if view is None:
            raise ImproperlyConfigured(f"EMAIL_TRACKING_ESPS: anymail has no tracking webhook for {esp!r}.")
        patterns.append(
            path(f"hooks/anymail/{esp}/tracking/", views.body_limited(view), name=f"anymail-{esp}-tracking")
        )
    return patterns


urlpatterns = [
    path("hooks/twilio/status/", views.twilio_status, name="twilio-status"),
    path("hooks/twilio/inbound/", views.twilio_inbound, name="twilio-inbound"),
    *tracking_patterns(),
]
