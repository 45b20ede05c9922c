"""Access helpers for staff views: fetch what a URL names inside the active tenant, or answer 404.

Another tenant's object and a missing one are the same 404 (the scoped managers never see the former).
Role checks are the views' `@role_required(...)`; these only find things.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404

from accounts.models import Officer, Role

from .models import Booking, Customer

# Who may open any officer's diary, the team calendar and customers' records.
DESK_ROLES = (Role.ADMINISTRATOR, Role.MANAGER, Role.CUSTOMER_SERVICE)
# Who may move work between officers and settle conflicts.
SCHEDULER_ROLES = (Role.ADMINISTRATOR, Role.MANAGER, Role.CUSTOMER_SERVICE)
STAFF_ROLES = tuple(Role)


def access_booking(booking_id: int) -> Booking:
    return get_object_or_404(
        Booking.objects.select_related("appointment_type__tenant", "customer"), pk=booking_id
    )


def access_customer(customer_id: int) -> Customer:
    return get_object_or_404(Customer.objects.all(), pk=customer_id)


def access_officer(officer_id: int) -> Officer:
    return get_object_or_404(Officer.objects.select_related("user", "team"), pk=officer_id)
