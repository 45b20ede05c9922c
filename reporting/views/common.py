"""What every reports page shares: who may see them, how the filters are read, and the per-person limit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django_ratelimit.core import get_usage

from accounts.models import Role
from bookings.views.portal import too_many_requests

from ..forms import ReportFilterForm

REPORT_ROLES = (Role.MANAGER, Role.ADMINISTRATOR)


def filter_form(request: HttpRequest) -> ReportFilterForm:
    """The filters in the query string; the default period when there are none."""
    today = timezone.now().astimezone(request.tenant.zone).date()
    given = {name: request.GET[name] for name in request.GET if name in ReportFilterForm.base_fields}
    return ReportFilterForm(given or ReportFilterForm.default_data(today), today=today)


def per_person_limit(rate_setting: str, *, method: str) -> Callable[..., Any]:
    """At most the named setting's rate of this view per signed-in person (an office shares one address),
    then 429 saying when to try again."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            rate = getattr(settings, rate_setting)
            usage = get_usage(request, fn=view, key="user_or_ip", rate=rate, method=method, increment=True)
            if usage and usage["should_limit"]:
                retry_at = timezone.now() + timedelta(seconds=max(usage["time_left"], 1))
                return too_many_requests(request, retry_at=retry_at)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
