"""The "could not reach" list: customers whose messages bounced or failed lately, for the desk to call."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from accounts.permissions import role_required
from bookings.access import DESK_ROLES
from bookings.selectors.messages import UNREACHABLE_DAYS, unreachable_messages, unreached_with_customers

PAGE_SIZE = 50


@role_required(*DESK_ROLES)
def unreachable(request: HttpRequest) -> HttpResponse:
    page = Paginator(unreachable_messages(now=timezone.now()), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "page": page,
        "rows": unreached_with_customers(list(page.object_list)),
        "days": UNREACHABLE_DAYS,
    }
    return render(request, "bookings/staff/unreachable.html", context)


urls = [path("staff/unreachable/", unreachable, name="unreachable")]
