"""Tenant admin for customers, and a read-only view of bookings.

Bookings change only through `bookings.services`, which keep the assignments, the audit trail and the
outbox consistent; the admin may look but never add, change or delete one. Customers are added, changed
and merged through `customer_create`, `customer_update` and `customer_merge`, so every change by staff is
audited (CustomerEvent) in the same transaction.
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib import admin, messages
from django.db import models, transaction
from django.db.models.functions import Lower
from django.http import HttpRequest
from django.utils import timezone
from django.utils.formats import localize
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import ReadOnlyMixin, TenantAdminForm, TenantInline, TenantModelAdmin, tenant_admin_site

from .contacts import normalise_phone, validate_mobile
from .errors import BookingError
from .models import (
    AllocationEvent,
    AllocationPlan,
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingSeries,
    ConflictItem,
    Customer,
    CustomerEvent,
    IdempotencyKey,
    InspectionVisit,
    PlannedVisit,
    SurveyResponse,
)
from .services import customer_create, customer_merge, customer_update
from .services.customers import EDITABLE


class CustomerForm(TenantAdminForm):
    """Says in words what the customer constraints refuse: no contact details, or someone else's."""

    def clean_phone(self) -> str:
        phone = self.cleaned_data.get("phone", "")
        if phone:
            validate_mobile(phone)
        return normalise_phone(phone)

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
    actions = ["merge_into_oldest"]
    list_display = ["full_name", "email", "phone", "postcode", "created_at"]
    search_fields = ["full_name", "email", "phone", "postcode"]
    readonly_fields = ["created_at", "history"]
    fieldsets = [
        (None, {"fields": ["full_name", "email", "phone"]}),
        (_("Address"), {"fields": ["address_line_1", "address_line_2", "town", "postcode"]}),
        (
            _("Contact preferences"),
            {"fields": ["contact_by_email", "contact_by_sms", "consent_given_at", "preferred_language"]},
        ),
        (None, {"fields": ["accessibility_needs", "created_at"]}),
        (_("History"), {"fields": ["history"]}),
    ]

    @admin.display(description=_("changes by staff"))
    def history(self, customer: Customer) -> str:
        if customer.pk is None:
            return "–"
        events = customer.events.select_related("actor").order_by("-created_at")[:50]
        return (
            format_html_join(
                "\n",
                "<p>{} · {} · {}<br><small>{} → {}</small></p>",
                (
                    (
                        localize(timezone.localtime(e.created_at)),
                        e.action,
                        e.actor or "–",
                        json.dumps(e.before, ensure_ascii=False),
                        json.dumps(e.after, ensure_ascii=False),
                    )
                    for e in events
                ),
            )
            or "–"
        )

    def save_model(self, request: HttpRequest, obj: Customer, form: Any, change: bool) -> None:
        """Through the services, so the change is audited; the form has already said what they refuse."""
        fields = {name: form.cleaned_data[name] for name in EDITABLE if name in form.cleaned_data}
        if change:
            changed = {name: value for name, value in fields.items() if name in form.changed_data}
            saved = customer_update(customer=obj, actor=request.user, **changed)
        else:
            saved = customer_create(tenant=request.tenant, actor=request.user, **fields)
        obj.pk, obj.tenant_id = saved.pk, saved.tenant_id
        obj.refresh_from_db()

    @admin.action(description=_("Merge the selected customers into the one created first"))
    def merge_into_oldest(self, request: HttpRequest, queryset: models.QuerySet[Customer]) -> None:
        customers = list(queryset.order_by("created_at", "pk"))
        if len(customers) < 2:
            self.message_user(request, _("Select at least two customers to merge."), messages.WARNING)
            return
        target, sources = customers[0], customers[1:]
        try:
            with transaction.atomic():
                for source in sources:
                    target = customer_merge(source=source, target=target, actor=request.user)
        except BookingError as error:
            self.message_user(request, error.message, messages.ERROR)
            return
        self.message_user(
            request,
            ngettext(
                "Merged %(count)d customer into %(name)s.",
                "Merged %(count)d customers into %(name)s.",
                len(sources),
            )
            % {"count": len(sources), "name": target.full_name},
            messages.SUCCESS,
        )


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


@admin.register(CustomerEvent, site=tenant_admin_site)
class CustomerEventAdmin(ReadOnlyMixin, TenantModelAdmin):
    """Who changed which customer's record, when, from what to what."""

    list_display = ["created_at", "customer", "action", "actor"]
    list_filter = ["action"]
    list_select_related = ["customer", "actor"]
    ordering = ["-created_at"]


@admin.register(IdempotencyKey, site=tenant_admin_site)
class IdempotencyKeyAdmin(ReadOnlyMixin, TenantModelAdmin):
    """Keys of recent requests and what they did; written and purged only by the booking services."""

    list_display = ["key", "operation", "booking", "created_at", "expires_at"]
    list_select_related = ["booking"]
    search_fields = ["key"]
    ordering = ["-created_at"]


@admin.register(ConflictItem, site=tenant_admin_site)
class ConflictItemAdmin(ReadOnlyMixin, TenantModelAdmin):
    """The conflict queue as a record; staff settle items in the workspace, through the booking services."""

    list_display = ["detected_at", "booking", "cause", "officer", "resolved_at", "resolved_by"]
    list_filter = ["cause"]
    list_select_related = ["booking", "officer__user", "resolved_by"]
    ordering = ["-detected_at"]


@admin.register(SurveyResponse, site=tenant_admin_site)
class SurveyResponseAdmin(ReadOnlyMixin, TenantModelAdmin):
    """Customers' answers to the satisfaction survey, as they gave them; nobody edits an answer."""

    list_display = ["created_at", "booking", "score", "comment"]
    list_filter = ["score"]
    list_select_related = ["booking"]
    search_fields = ["booking__reference", "comment"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]


@admin.register(BookingSeries, site=tenant_admin_site)
class BookingSeriesAdmin(ReadOnlyMixin, TenantModelAdmin):
    """Recurring series as a record; staff set them up and change them in the workspace, through the
    series services (an occurrence is changed like any booking)."""

    list_display = ["customer", "appointment_type", "first_date", "start_time", "officer", "is_active"]
    list_filter = ["is_active", "appointment_type"]
    list_select_related = ["customer", "appointment_type", "officer__user"]
    search_fields = ["customer__full_name", "customer__email"]
    fields = [
        "customer",
        "appointment_type",
        "recurrence_text",
        "first_date",
        "start_time",
        "officer",
        "location",
        "notes",
        "is_active",
        "materialised_until",
        "sequence",
        "created_by",
        "created_at",
    ]
    readonly_fields = fields
    ordering = ["-created_at"]

    @admin.display(description=_("repeats"))
    def recurrence_text(self, series: BookingSeries) -> str:
        return str(series.recurrence)


@admin.register(InspectionVisit, site=tenant_admin_site)
class InspectionVisitAdmin(ReadOnlyMixin, TenantModelAdmin):
    """The inspection programme as a record; schedulers add, change and import visits on the staff pages
    (the address is looked up there, and every change is audited), and allocation books them."""

    list_display = ["premises", "appointment_type", "due_by", "priority", "status", "booking"]
    list_filter = ["status", "priority", "appointment_type"]
    list_select_related = ["appointment_type", "booking"]
    search_fields = ["premises", "address"]
    ordering = ["due_by"]


@admin.register(AllocationPlan, site=tenant_admin_site)
class AllocationPlanAdmin(ReadOnlyMixin, TenantModelAdmin):
    """Plans the solver proposed, as a record; schedulers adjust, accept and discard them on staff pages."""

    list_display = [
        "created_at",
        "first_day",
        "last_day",
        "status",
        "unassigned",
        "solver_seconds",
        "created_by",
    ]
    list_filter = ["status"]
    list_select_related = ["created_by"]
    ordering = ["-created_at"]


@admin.register(PlannedVisit, site=tenant_admin_site)
class PlannedVisitAdmin(ReadOnlyMixin, TenantModelAdmin):
    list_display = ["plan", "visit", "officer", "starts_at", "travel_metres", "result"]
    list_select_related = ["plan", "visit", "officer__user"]
    ordering = ["-plan", "starts_at"]


@admin.register(AllocationEvent, site=tenant_admin_site)
class AllocationEventAdmin(ReadOnlyMixin, TenantModelAdmin):
    list_display = ["created_at", "action", "plan", "visit", "actor", "reason"]
    list_filter = ["action"]
    list_select_related = ["plan", "visit", "actor"]
    ordering = ["-created_at"]
