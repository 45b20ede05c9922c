"""Tenant admin for customers, and a read-only view of bookings.

Bookings change only through `bookings.services`, which keep the assignments, the audit trail and the
outbox consistent; the admin may look but never add, change or delete one.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db import models
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from accounts.admin import TenantAdminForm, TenantInline, TenantModelAdmin, tenant_admin_site

from .models import Booking, BookingAssignment, BookingEvent, Customer


class ReadOnlyMixin:
    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class CustomerForm(TenantAdminForm):
    """Says in words what the customer constraints refuse: no contact details, or someone else's."""

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        email, phone = cleaned.get("email", ""), cleaned.get("phone", "")
        if "email" not in self.errors and "phone" not in self.errors and not email and not phone:
            self.add_error("email", _("Give an email address or a mobile number, so we can reach them."))
            return cleaned
        others = Customer.objects.exclude(pk=self.instance.pk) if self.instance.pk else Customer.objects.all()
        if email and others.annotate(email_lower=Lower("email")).filter(email_lower=email.lower()).exists():
            self.add_error("email", _("Another customer already has this email address."))
        if phone and others.filter(phone=phone).exists():
            self.add_error("phone", _("Another customer already has this mobile number."))
        return cleaned


@admin.register(Customer, site=tenant_admin_site)
class CustomerAdmin(TenantModelAdmin):
    form = CustomerForm
    list_display = ["full_name", "email", "phone", "postcode", "created_at"]
    search_fields = ["full_name", "email", "phone", "postcode"]
    readonly_fields = ["created_at"]
    fieldsets = [
        (None, {"fields": ["full_name", "email", "phone"]}),
        (_("Address"), {"fields": ["address_line_1", "address_line_2", "town", "postcode"]}),
        (
            _("Contact preferences"),
            {"fields": ["contact_by_email", "contact_by_sms", "consent_given_at", "preferred_language"]},
        ),
        (None, {"fields": ["accessibility_needs", "created_at"]}),
    ]


class BookingAssignmentInline(ReadOnlyMixin, TenantInline):
    model = BookingAssignment
    fields = ["officer", "resource", "occupied_from", "occupied_until", "is_active"]
    readonly_fields = fields
    verbose_name_plural = _("officers and resources")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[BookingAssignment]:
        return super().get_queryset(request).select_related("booking", "officer__user", "resource")

    @admin.display(description=_("occupied from"))
    def occupied_from(self, assignment: BookingAssignment) -> Any:
        return assignment.occupied.lower

    @admin.display(description=_("occupied until"))
    def occupied_until(self, assignment: BookingAssignment) -> Any:
        return assignment.occupied.upper


class BookingEventInline(ReadOnlyMixin, TenantInline):
    model = BookingEvent
    fields = ["created_at", "actor", "action", "reason", "before", "after"]
    readonly_fields = fields
    verbose_name_plural = _("history")

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[BookingEvent]:
        return super().get_queryset(request).select_related("booking", "actor")


@admin.register(Booking, site=tenant_admin_site)
class BookingAdmin(ReadOnlyMixin, TenantModelAdmin):
    list_display = ["reference", "appointment_type", "customer", "starts_at", "status"]
    list_filter = ["status", "appointment_type"]
    list_select_related = ["appointment_type", "customer"]
    search_fields = [
        "reference",
        "case_reference",
        "customer__full_name",
        "customer__email",
        "customer__phone",
    ]
    date_hierarchy = "starts_at"
    ordering = ["-starts_at"]
    inlines = [BookingAssignmentInline, BookingEventInline]
