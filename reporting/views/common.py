"""What every reports page shares: who may see them, how the filters are read, and the per-person limit."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest
from django.utils import timezone

from accounts.models import Role
from bookings.views.portal import rate_limited

from ..forms import ReportFilterForm

REPORT_ROLES = (Role.MANAGER, Role.ADMINISTRATOR)


def filter_form(request: HttpRequest) -> ReportFilterForm:
    """The filters in the query string; the default period when there are none."""
    today = timezone.now().astimezone(request.tenant.zone).date()
    given = {name: request.GET[name] for name in request.GET if name in ReportFilterForm.base_fields}
    return ReportFilterForm(given or ReportFilterForm.default_data(today), today=today)


def per_person_limit(rate_setting: str, *, method: str) -> Callable[..., Any]:
    """At most the named setting's rate of this view per signed-in person, then 429 saying when to retry."""
    return rate_limited(rate_setting, method=method, key="user_or_ip")
