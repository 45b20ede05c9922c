"""Role checks. Every staff view declares the roles that may use it; menus only mirror this."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from .models import Membership, Role

STAFF_ROLES = tuple(Role)


def membership_for(request: HttpRequest) -> Membership | None:
    """The signed-in user's active membership in the request's tenant, cached on the request."""
    if not hasattr(request, "_membership"):
        membership = None
        user = getattr(request, "user", None)  # absent when a page is rendered before authentication runs
        if getattr(request, "tenant", None) is not None and user is not None and user.is_authenticated:
            membership = Membership.objects.filter(user=user, is_active=True).first()
        request._membership = membership
    return request._membership


def has_role(request: HttpRequest, *roles: str) -> bool:
    membership = membership_for(request)
    return membership is not None and membership.role in roles


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Anonymous users go to the login page; members without one of `roles` get 403."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            if not has_role(request, *roles):
                raise PermissionDenied
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
