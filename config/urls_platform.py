"""URLs served on platform hosts (PLATFORM_HOSTS): the operator's admin for tenants and domains."""

from django.urls import path
from django.views.generic import RedirectView

from accounts.admin import platform_admin_site
from config.health import healthz

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("admin/", platform_admin_site.urls),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
