"""URLs served on tenant hosts."""

from django.conf import settings
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from accounts.admin import tenant_admin_site
from accounts.media import serve_upload
from config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", tenant_admin_site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    # Uploads (logos) in every environment, not only under DEBUG: the requesting tenant's own, as images.
    path(f"{settings.MEDIA_URL.strip('/')}/<path:name>", serve_upload, name="media"),
    path("", include("accounts.urls")),
    path("", include("bookings.urls")),
    path("", include("integrations.urls")),
    # The manager dashboards: included by name, since nothing imports the reporting app.
    path("", include("reporting.urls")),
    # Provider webhooks (Twilio, the ESP's delivery reports): tenant hosts only.
    path("", include("notifications.urls")),
]
