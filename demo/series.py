"""A recurring series in each demo tenant: a licensing applicant's fortnightly check-in with one officer,
starting after the seeded fortnight, so the series page and the officer's calendar feed (an RRULE) have
something real to show."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django.utils import timezone

from accounts.models import Officer, Tenant
from bookings.models import Booking, BookingSeries
from bookings.series_dates import Repeat, series_rule
from bookings.services.series import BEST_EFFORT, series_create
from scheduling.models import AppointmentType

from .diaries import LICENSING, demo_days

OCCURRENCES = 6


def seed_series(tenant: Tenant, *, now: datetime | None = None) -> BookingSeries | None:
    """Runs inside the tenant's scope after `seed_diaries`; a tenant that has a series is left alone."""
    if BookingSeries.objects.exists():
        return None
    now = now or timezone.now()
    appointment_type = AppointmentType.objects.filter(name=LICENSING).first()
    officer = Officer.objects.filter(skills__name="Licensing").order_by("pk").first()
    booking = (
        Booking.objects.filter(appointment_type=appointment_type, customer__isnull=False)
        .select_related("customer")
        .order_by("pk")
        .first()
    )
    if appointment_type is None or officer is None or booking is None:
        return None
    _anchor, days = demo_days(now.astimezone(tenant.zone).date())
    first = days[-1] + timedelta(days=1)
    while first.weekday() != 3:  # the Thursday after the seeded fortnight (Tuesday mornings are food)
        first += timedelta(days=1)
    result = series_create(
        appointment_type=appointment_type,
        customer=booking.customer,
        recurrence=series_rule(Repeat.FORTNIGHTLY, first, count=OCCURRENCES),
        first_date=first,
        start_time=time(14, 0),
        officer=officer,
        mode=BEST_EFFORT,
        notes="Fortnightly check-in while the premises licence conditions are put in place.",
        now=now,
    )
    return result.series
