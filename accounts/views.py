from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from .forms import TenantLoginForm
from .models import Officer, Role
from .permissions import STAFF_ROLES, role_required

login = auth_views.LoginView.as_view(template_name="accounts/login.html", authentication_form=TenantLoginForm)
logout = auth_views.LogoutView.as_view()

OFFICER_VIEWERS = (Role.ADMINISTRATOR, Role.CUSTOMER_SERVICE, Role.MANAGER)


def access_officer(officer_id: int) -> Officer:
    """The officer in the current tenant; another tenant's id is a 404, exactly like a missing one."""
    return get_object_or_404(Officer.objects.select_related("user", "team"), pk=officer_id)


@role_required(*STAFF_ROLES)
def staff_home(request: HttpRequest) -> HttpResponse:
    return render(request, "accounts/staff_home.html")


@role_required(*OFFICER_VIEWERS)
def officer_list(request: HttpRequest) -> HttpResponse:
    officers = Officer.objects.active().select_related("user", "team").prefetch_related("skills")
    return render(request, "accounts/officer_list.html", {"officers": officers})


@role_required(*OFFICER_VIEWERS)
def officer_detail(request: HttpRequest, officer_id: int) -> HttpResponse:
    officer = access_officer(officer_id)
    return render(request, "accounts/officer_detail.html", {"officer": officer})
