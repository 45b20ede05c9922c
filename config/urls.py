"""URLs served on tenant hosts."""

from django.conf import settings
from django.conf.urls.static import static
from django.urls import include, path
from django.views.i18n import JavaScriptCatalog

from accounts.admin import tenant_admin_site
from config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("admin/", tenant_admin_site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("accounts.urls")),
    path("", include("bookings.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
