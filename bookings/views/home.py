"""The staff start page: what each role needs first."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils import timezone

from accounts.models import Role
from accounts.permissions import STAFF_ROLES, membership_for, role_required
from bookings.selectors import diary


@role_required(*STAFF_ROLES)
def staff_home(request: HttpRequest) -> HttpResponse:
    """An officer sees their day, next up first; customer service the customer search and today's bookings
    made by staff; a manager the team's week and the open conflicts; an administrator that and /admin/."""
    role = membership_for(request).role
    zone = request.tenant.zone
    now = timezone.now()
    today = now.astimezone(zone).date()
    context: dict[str, Any] = {"today": today}
    if role == Role.OFFICER:
        officer = diary.officer_for_user(request.user)
        context["officer"] = officer
        if officer is not None:
            (day,) = diary.officer_diary(officer, today, 1, zone=zone)
            context["day"] = day
            context["next_up"] = next(
                (e for e in day.entries if e.booking.ends_at > now and e.booking.is_active), None
            )
    elif role == Role.CUSTOMER_SERVICE:
        context["made_today"] = diary.staff_bookings_made_on(today, zone=zone)
    else:
        monday = today - timedelta(days=today.weekday())
        context["monday"] = monday
        context["week"] = diary.week_counts(monday, zone=zone)
        context["open_conflicts"] = diary.open_conflicts_count()
    return render(request, "bookings/staff/home.html", context)


urls = [path("staff/", staff_home, name="staff-home")]
