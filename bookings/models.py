"""Customers, bookings, their officer/resource assignments and their history."""

from __future__ import annotations

from datetime import datetime

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accounts.models import Officer, TenantOwned
from scheduling.models import AppointmentType, Priority, Resource


class Customer(TenantOwned):
    """A resident, business or applicant. Found again by email or phone rather than duplicated."""

    full_name = models.CharField(_("full name"), max_length=200)
    email = models.EmailField(_("email address"), blank=True)
    phone = models.CharField(_("mobile number"), max_length=20, blank=True)
    address_line_1 = models.CharField(_("address line 1"), max_length=200, blank=True)
    address_line_2 = models.CharField(_("address line 2"), max_length=200, blank=True)
    town = models.CharField(_("town or city"), max_length=100, blank=True)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    contact_by_email = models.BooleanField(_("contact by email"), default=True)
    contact_by_sms = models.BooleanField(_("contact by text message"), default=False)
    consent_given_at = models.DateTimeField(_("consent to be contacted given at"), null=True, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, default="en-gb", choices=settings.LANGUAGES
    )
    accessibility_needs = models.TextField(_("accessibility needs"), blank=True, max_length=2000)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["full_name"]
        constraints = [
            models.UniqueConstraint(
                "tenant", Lower("email"), condition=~Q(email=""), name="customer_email_unique_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "phone"], condition=~Q(phone=""), name="customer_phone_unique_per_tenant"
            ),
            models.CheckConstraint(condition=~Q(email="") | ~Q(phone=""), name="customer_has_email_or_phone"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def address(self) -> str:
        parts = [self.address_line_1, self.address_line_2, self.town, self.postcode]
        return ", ".join(p for p in parts if p)


class BookingStatus(models.TextChoices):
    HELD = "held", _("Held")
    CONFIRMED = "confirmed", _("Confirmed")
    COMPLETED = "completed", _("Completed")
    NO_SHOW = "no_show", _("No-show")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Hold expired")
    NEEDS_REBOOKING = "needs_rebooking", _("Needs rebooking")


# Statuses that occupy officers and resources. A held booking whose hold has lapsed still counts in the
# database until it is expired; services expire lapsed holds in the same transaction before booking.
ACTIVE_STATUSES = (BookingStatus.HELD, BookingStatus.CONFIRMED)


class Channel(models.TextChoices):
    PORTAL = "portal", _("Online portal")
    STAFF = "staff", _("Staff")
    API = "api", _("API")


class BookingQuerySet(models.QuerySet["Booking"]):
    def active(self) -> BookingQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def overlapping(self, start: datetime, end: datetime) -> BookingQuerySet:
        return self.filter(starts_at__lt=end, ends_at__gt=start)

    def upcoming(self, now: datetime | None = None) -> BookingQuerySet:
        return self.active().filter(starts_at__gte=now or timezone.now()).order_by("starts_at")


class Booking(TenantOwned):
    """One customer's appointment of one type at one time, with its human reference."""

    reference = models.CharField(_("reference"), max_length=12)
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="bookings")
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="bookings"
    )
    status = models.CharField(_("status"), max_length=20, choices=BookingStatus.choices)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    # Bookings of one group session share a session key and take distinct seats; a one-to-one booking's
    # key is its own reference. Assignments of different sessions may not overlap (see BookingAssignment).
    session_key = models.CharField(max_length=80)
    seat = models.PositiveSmallIntegerField(default=1)
    hold_expires_at = models.DateTimeField(null=True, blank=True)
    location = models.CharField(_("location"), max_length=300, blank=True)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    case_reference = models.CharField(_("case reference"), max_length=100, blank=True)
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.STAFF)
    allocation_reason = models.CharField(max_length=300, blank=True)
    cancellation_reason = models.CharField(_("reason"), max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(tenant="tenant", _manager_class=models.Manager.from_queryset(BookingQuerySet))

    class Meta:
        ordering = ["starts_at"]
        indexes = [models.Index(fields=["tenant", "starts_at"]), models.Index(fields=["tenant", "status"])]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"], name="booking_reference_unique_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "session_key", "seat"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="booking_one_customer_per_seat",
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_ends_after_start"),
            models.CheckConstraint(
                condition=~Q(status="held") | Q(hold_expires_at__isnull=False), name="booking_hold_has_expiry"
            ),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES


class BookingAssignment(TenantOwned):
    """An officer or resource taken by a booking for its occupied range (the appointment plus buffers).

    The exclusion constraints below are what make double-booking impossible, whichever code path writes:
    two active assignments of one officer (or resource) may not overlap unless they belong to the same
    group session. `is_active` mirrors the booking's status; only booking services change either.
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="assignments")
    officer = models.ForeignKey(
        Officer, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments"
    )
    resource = models.ForeignKey(
        Resource, on_delete=models.PROTECT, null=True, blank=True, related_name="assignments"
    )
    occupied = DateTimeRangeField()
    session_key = models.CharField(max_length=80)
    is_active = models.BooleanField(default=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(officer__isnull=False, resource__isnull=True)
                | Q(officer__isnull=True, resource__isnull=False),
                name="assignment_officer_or_resource",
            ),
            ExclusionConstraint(
                name="no_double_booking_of_officers",
                expressions=[
                    ("tenant", RangeOperators.EQUAL),
                    ("officer", RangeOperators.EQUAL),
                    ("occupied", RangeOperators.OVERLAPS),
                    ("session_key", RangeOperators.NOT_EQUAL),
                ],
                condition=Q(is_active=True, officer__isnull=False),
            ),
            ExclusionConstraint(
                name="no_double_booking_of_resources",
                expressions=[
                    ("tenant", RangeOperators.EQUAL),
                    ("resource", RangeOperators.EQUAL),
                    ("occupied", RangeOperators.OVERLAPS),
                    ("session_key", RangeOperators.NOT_EQUAL),
                ],
                condition=Q(is_active=True, resource__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking}: {self.officer or self.resource}"


class BookingEvent(TenantOwned):
    """Append-only history: who changed what on a booking, when, and why.

    A service called with an idempotency key records it here, in the same transaction as the change, so a
    repeated request finds the key and changes nothing.
    """

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    idempotency_key = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "idempotency_key"],
                condition=~Q(idempotency_key=""),
                name="booking_event_idempotency_key_unique_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking}: {self.action}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError("Booking events are append-only.")
        super().save(*args, **kwargs)
