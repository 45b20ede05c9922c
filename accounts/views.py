from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from .forms import TenantLoginForm
from .models import Officer, Role
from .permissions import role_required

login = auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=TenantLoginForm)
logout = auth_views.LogoutView.as_view()


def login_locked_out(
    request: HttpRequest, response: HttpResponse | None = None, credentials: dict[str, Any] | None = None
) -> HttpResponse:
    """django-axes' answer to a sign-in refused for too many failures (AXES_LOCKOUT_CALLABLE), on the tenant
    login page and the platform admin's alike: 429 with a page that says when to try again.

    The lock runs for the cool-off from the failure that set it and attempts meanwhile do not extend it, so
    now + cool-off is a time by which it has certainly ended.
    """
    cool_off = settings.AXES_COOLOFF_TIME
    retry_at = timezone.localtime(timezone.now() + cool_off)
    context = {
        # Platform hosts have no tenant and none of the staff pages' links.
        "base_template": "base_staff.html" if getattr(request, "tenant", None) else "base.html",
        "retry_at": retry_at,
        "retry_today": retry_at.date() == timezone.localdate(),
        "minutes": max(1, round(cool_off.total_seconds() / 60)),
    }
    locked = render(request, "accounts/login_locked_out.html", context, status=429)
    locked["Retry-After"] = str(int(cool_off.total_seconds()))
    return locked


OFFICER_VIEWERS = (Role.ADMINISTRATOR, Role.CUSTOMER_SERVICE, Role.MANAGER)


def access_officer(officer_id: int) -> Officer:
    """The officer in the current tenant; another tenant's id is a 404, exactly like a missing one."""
    return get_object_or_404(Officer.objects.select_related("user", "team"), pk=officer_id)


@role_required(*OFFICER_VIEWERS)
def officer_list(request: HttpRequest) -> HttpResponse:
    officers = Officer.objects.active().select_related("user", "team").prefetch_related("skills")
    return render(request, "accounts/officer_list.html", {"officers": officers})


@role_required(*OFFICER_VIEWERS)
def officer_detail(request: HttpRequest, officer_id: int) -> HttpResponse:
    officer = access_officer(officer_id)
    return render(request, "accounts/officer_detail.html", {"officer": officer})
