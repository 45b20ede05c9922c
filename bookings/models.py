"""Customers, bookings, their officer/resource assignments and their history."""

from __future__ import annotations

import uuid
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateTimeRangeField, RangeOperators
from django.contrib.postgres.indexes import GinIndex, OpClass
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower, Upper
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager
from recurrence.fields import RecurrenceField

from accounts.models import Officer, Skill, TenantOwned
from scheduling.models import LATITUDE, LONGITUDE, AppointmentType, Priority, Resource

from .contacts import (
    ACCESSIBILITY_NEEDS_MAX_LENGTH,
    ADDRESS_LINE_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    LOCATION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PHONE_MAX_LENGTH,
    POSTCODE_MAX_LENGTH,
    TOWN_MAX_LENGTH,
    address_join,
)


class Customer(TenantOwned):
    """A resident, business or applicant. Found again by email or phone rather than duplicated.

    The portal finds or creates a customer but never changes one: anyone can type anyone's email address.
    Only staff change a customer's record, through `customer_update` and `customer_merge` (audited in
    CustomerEvent); each booking keeps the contact details it was made with.
    """

    full_name = models.CharField(_("full name"), max_length=NAME_MAX_LENGTH)
    email = models.EmailField(_("email address"), max_length=EMAIL_MAX_LENGTH, blank=True)
    phone = models.CharField(_("mobile number"), max_length=PHONE_MAX_LENGTH, blank=True)
    address_line_1 = models.CharField(_("address line 1"), max_length=ADDRESS_LINE_MAX_LENGTH, blank=True)
    address_line_2 = models.CharField(_("address line 2"), max_length=ADDRESS_LINE_MAX_LENGTH, blank=True)
    town = models.CharField(_("town or city"), max_length=TOWN_MAX_LENGTH, blank=True)
    postcode = models.CharField(_("postcode"), max_length=POSTCODE_MAX_LENGTH, blank=True)
    contact_by_email = models.BooleanField(_("contact by email"), default=True)
    contact_by_sms = models.BooleanField(_("contact by text message"), default=False)
    consent_given_at = models.DateTimeField(_("consent to be contacted given at"), null=True, blank=True)
    preferred_language = models.CharField(
        _("preferred language"), max_length=10, default="en-gb", choices=settings.LANGUAGES
    )
    accessibility_needs = models.TextField(
        _("accessibility needs"), blank=True, max_length=ACCESSIBILITY_NEEDS_MAX_LENGTH
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["full_name"]
        # Staff search by any part of a name, email, phone or postcode (pg_trgm), fast on 100,000 customers.
        indexes = [
            GinIndex(OpClass(Upper("full_name"), name="gin_trgm_ops"), name="customer_name_trgm"),
            GinIndex(OpClass(Upper("email"), name="gin_trgm_ops"), name="customer_email_trgm"),
            GinIndex(OpClass("phone", name="gin_trgm_ops"), name="customer_phone_trgm"),
            GinIndex(OpClass(Upper("postcode"), name="gin_trgm_ops"), name="customer_postcode_trgm"),
        ]
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
        return address_join(self.address_line_1, self.address_line_2, self.town, self.postcode)


class AuditEvent(TenantOwned):
    """Who changed what, when and why: a row written in the same transaction as the change, never updated."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=40)
    before = models.JSONField(default=dict, blank=True)
    after = models.JSONField(default=dict, blank=True)
    reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["created_at", "pk"]
        abstract = True

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise ValueError(f"{type(self).__name__} rows are append-only.")
        super().save(*args, **kwargs)


class CustomerEvent(AuditEvent):
    """Append-only history of staff changes to a customer's record (edits and merges), with who made them.

    Written in the same transaction as the change. The customer link survives a merge on the surviving
    record; a deleted customer's events stay, unlinked, with the details in `before`.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.action}"


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


class CaseKind(models.TextChoices):
    """The kind of regulatory case a booking belongs to (the case itself lives in another system)."""

    INSPECTION = "inspection", _("Inspection")
    LICENCE_APPLICATION = "licence_application", _("Licence application")
    COMPLAINT = "complaint", _("Complaint")
    ENFORCEMENT = "enforcement", _("Enforcement")
    ADVICE = "advice", _("Advice")


class BookingSeries(TenantOwned):
    """A recurring appointment for one customer and type: a rule of local dates, each at one local time.

    Its occurrences are ordinary bookings (`Booking.series`, `Booking.occurrence_date`), checked by the
    engine and the database constraints like any other and materialised a rolling horizon ahead
    (`materialised_until`). The rule's dates are the tenant's local dates, so a change of clocks keeps the
    local time. A date taken out of the series (cancelled alone, or skipped because it conflicted) is one
    of the rule's exdates, so it is neither booked again nor shown in calendar feeds.
    """

    public_id = models.UUIDField(default=uuid.uuid4, editable=False)
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.PROTECT, related_name="series")
    customer = models.ForeignKey(
        "Customer", on_delete=models.PROTECT, related_name="series", verbose_name=_("customer")
    )
    recurrence = RecurrenceField(verbose_name=_("repeats"))
    first_date = models.DateField(_("first date"))
    start_time = models.TimeField(_("local start time"))
    officer = models.ForeignKey(
        Officer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="series",
        verbose_name=_("officer"),
        help_text=_("Kept for every occurrence when free; another eligible officer otherwise."),
    )
    location = models.CharField(_("location"), max_length=LOCATION_MAX_LENGTH, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    is_active = models.BooleanField(_("active"), default=True)
    materialised_until = models.DateField(null=True, blank=True, editable=False)
    sequence = models.PositiveIntegerField(default=0, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("recurring series")
        verbose_name_plural = _("recurring series")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "public_id"], name="booking_series_public_id_unique_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.appointment_type} – {self.customer}"


class BookingQuerySet(models.QuerySet["Booking"]):
    def active(self) -> BookingQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def overlapping(self, start: datetime, end: datetime) -> BookingQuerySet:
        return self.filter(starts_at__lt=end, ends_at__gt=start)

    def upcoming(self, now: datetime | None = None) -> BookingQuerySet:
        return self.active().filter(starts_at__gte=now or timezone.now()).order_by("starts_at")


class Booking(TenantOwned):
    """One customer's appointment of one type at one time, with its human reference.

    `public_id` names the booking in links sent to customers: unguessable, unlike the sequential pk.
    The `contact_*` fields are the contact details and choices the booking was made with; messages and
    one-time codes for it go there and nowhere else, whatever the customer's record says now.
    """

    reference = models.CharField(_("reference"), max_length=12)
    public_id = models.UUIDField(default=uuid.uuid4, editable=False)
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
    location = models.CharField(_("location"), max_length=LOCATION_MAX_LENGTH, blank=True)
    # Where an on-site appointment happens, geocoded from `location` when booked (None when unknown).
    latitude = models.FloatField(null=True, blank=True, validators=LATITUDE)
    longitude = models.FloatField(null=True, blank=True, validators=LONGITUDE)
    answers = models.JSONField(_("answers"), default=dict, blank=True)
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    case_reference = models.CharField(_("case reference"), max_length=100, blank=True)
    case_kind = models.CharField(_("kind of case"), max_length=30, choices=CaseKind.choices, blank=True)
    # Outcome, recorded by the officer after the appointment.
    outcome_notes = models.TextField(_("outcome notes"), blank=True, max_length=4000)
    follow_up_needed = models.BooleanField(_("follow-up needed"), default=False)
    follow_up_of = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="follow_ups",
        verbose_name=_("follow-up of"),
    )
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.STAFF)
    series = models.ForeignKey(
        BookingSeries, on_delete=models.PROTECT, null=True, blank=True, related_name="occurrences"
    )
    occurrence_date = models.DateField(null=True, blank=True)  # the rule's local date (RECURRENCE-ID)
    # The calendar invitation's SEQUENCE: raised with every change the customer is told of (a new time, a
    # new officer they chose, a cancellation), so their calendar replaces the older copy.
    sequence = models.PositiveIntegerField(default=0, editable=False)
    allocation_reason = models.CharField(max_length=300, blank=True)
    cancellation_reason = models.CharField(_("reason"), max_length=500, blank=True)
    contact_name = models.CharField(_("name given"), max_length=NAME_MAX_LENGTH, blank=True)
    contact_email = models.EmailField(_("email given"), max_length=EMAIL_MAX_LENGTH, blank=True)
    contact_phone = models.CharField(_("mobile number given"), max_length=PHONE_MAX_LENGTH, blank=True)
    contact_by_email = models.BooleanField(_("contact by email"), default=False)
    contact_by_sms = models.BooleanField(_("contact by text message"), default=False)
    contact_language = models.CharField(
        _("language"), max_length=10, default="en-gb", choices=settings.LANGUAGES
    )
    contact_consent_at = models.DateTimeField(_("consent to be contacted given at"), null=True, blank=True)
    accessibility_needs = models.TextField(
        _("accessibility needs"), blank=True, max_length=ACCESSIBILITY_NEEDS_MAX_LENGTH
    )
    # A keyed hash of the client address a portal hold came from (never the address itself): live holds
    # per client are capped, cookies or not.
    client_hash = models.CharField(max_length=64, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(tenant="tenant", _manager_class=models.Manager.from_queryset(BookingQuerySet))

    class Meta:
        ordering = ["starts_at"]
        indexes = [
            models.Index(fields=["tenant", "starts_at"]),
            models.Index(fields=["tenant", "status"]),
            models.Index(
                fields=["tenant", "client_hash"],
                condition=Q(status="held"),
                name="booking_holds_by_client",
            ),
            models.Index(
                "tenant",
                Upper("case_reference"),
                condition=~Q(case_reference=""),
                name="booking_case_reference",
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "reference"], name="booking_reference_unique_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "public_id"], name="booking_public_id_unique_per_tenant"
            ),
            models.UniqueConstraint(
                fields=["tenant", "session_key", "seat"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="booking_one_customer_per_seat",
            ),
            models.UniqueConstraint(
                fields=["tenant", "series", "occurrence_date"],
                condition=Q(status__in=ACTIVE_STATUSES),
                name="booking_one_active_per_occurrence",
            ),
            models.CheckConstraint(
                condition=Q(series__isnull=True) | Q(occurrence_date__isnull=False),
                name="booking_occurrence_has_date",
            ),
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="booking_ends_after_start"),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__range=(-90, 90), longitude__range=(-180, 180)),
                name="booking_point",
            ),
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


class BookingEvent(AuditEvent):
    """Append-only history: who changed what on a booking, when, and why."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="events")

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.booking}: {self.action}"


SURVEY_COMMENT_MAX_LENGTH = 2000


class SurveyResponse(TenantOwned):
    """A customer's score (1 to 5) and comment on a completed appointment: one per booking, never changed.

    The one-to-one key makes a second answer (two tabs, a double click) fail in the database, whatever the
    view checked before."""

    booking = models.OneToOneField(Booking, on_delete=models.CASCADE, related_name="survey_response")
    score = models.PositiveSmallIntegerField(_("score"))
    comment = models.TextField(_("comment"), blank=True, max_length=SURVEY_COMMENT_MAX_LENGTH)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(score__gte=1, score__lte=5), name="survey_score_one_to_five"),
        ]

    def __str__(self) -> str:
        return f"{self.booking}: {self.score}"


class IdempotencyKey(TenantOwned):
    """A client's key for one operation: which operation, on what request, with which result.

    Written in the same transaction as the change it names. A replay with the same key and request gets
    the first result; the same key with another request (or operation) is refused. The unique constraint
    makes two concurrent uses of one key end in one change. Keys lapse at `expires_at` (an expired key is
    new again) and are purged by a periodic task.
    """

    key = models.CharField(max_length=100)
    operation = models.CharField(max_length=40)
    request_hash = models.CharField(max_length=64)
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="idempotency_keys")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    expires_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["tenant", "expires_at"], name="idempotency_key_expiry")]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="idempotency_key_unique_per_tenant"),
        ]

    def __str__(self) -> str:
        return f"{self.operation}: {self.key}"


class ConflictCause(models.TextChoices):
    ABSENCE = "absence", _("Officer absent")
    OFFICER_LEFT = "officer_left", _("Officer no longer working")
    DISPLACED = "displaced", _("Displaced by an urgent booking")
    SERIES = "series", _("Recurring appointment could not be booked")


class ConflictItemQuerySet(models.QuerySet["ConflictItem"]):
    def open(self) -> ConflictItemQuerySet:
        return self.filter(resolved_at__isnull=True)


class ConflictItem(TenantOwned):
    """A booking that something broke (an absence over it, its officer leaving, an urgent booking taking its
    place), waiting in the conflict queue until staff accept a remedy. At most one open item per booking."""

    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="conflicts")
    cause = models.CharField(_("cause"), max_length=20, choices=ConflictCause.choices)
    officer = models.ForeignKey(
        Officer, on_delete=models.SET_NULL, null=True, blank=True, related_name="conflicts"
    )
    detail = models.CharField(_("detail"), max_length=300, blank=True)
    detected_at = models.DateTimeField(_("detected at"), default=timezone.now)
    flagged_at = models.DateTimeField(_("flagged to managers at"), null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolution = models.CharField(_("resolution"), max_length=500, blank=True)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(ConflictItemQuerySet)
    )

    class Meta:
        ordering = ["detected_at", "pk"]
        indexes = [models.Index(fields=["tenant", "resolved_at", "detected_at"], name="conflict_queue_order")]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "booking"],
                condition=Q(resolved_at__isnull=True),
                name="conflict_one_open_item_per_booking",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.booking}: {self.get_cause_display()}"


class VisitStatus(models.TextChoices):
    OPEN = "open", _("Not yet booked")
    BOOKED = "booked", _("Booked")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class InspectionVisitQuerySet(models.QuerySet["InspectionVisit"]):
    def open(self) -> InspectionVisitQuerySet:
        return self.filter(status=VisitStatus.OPEN)


class InspectionVisit(TenantOwned):
    """One visit of an inspection programme, waiting to be allocated to an officer and a day.

    The premises' `latitude`/`longitude` come from the gazetteer when the visit is added. A visit may be done
    from `not_before` until `due_by` (inclusive), within `window_start`..`window_end` local time when set.
    Allocation books it through the normal services; `booking` is then the appointment made for it.
    """

    premises = models.CharField(_("premises"), max_length=200)
    address = models.CharField(_("address"), max_length=LOCATION_MAX_LENGTH)
    latitude = models.FloatField(validators=LATITUDE)
    longitude = models.FloatField(validators=LONGITUDE)
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.PROTECT, related_name="inspection_visits"
    )
    skill = models.ForeignKey(
        Skill,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="inspection_visits",
        help_text=_("Needed on top of the appointment type's own staffing rules."),
    )
    duration_minutes = models.PositiveIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(12 * 60)]
    )
    not_before = models.DateField(_("not before"), null=True, blank=True)
    due_by = models.DateField(_("due by"))
    window_start = models.TimeField(_("not before (time of day)"), null=True, blank=True)
    window_end = models.TimeField(_("not after (time of day)"), null=True, blank=True)
    priority = models.PositiveSmallIntegerField(
        _("priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    notes = models.TextField(_("notes"), blank=True, max_length=4000)
    # Who at the premises is told of the appointment (the booking's customer, found or made by these).
    contact_name = models.CharField(_("contact name"), max_length=NAME_MAX_LENGTH, blank=True)
    contact_email = models.EmailField(_("contact email address"), max_length=EMAIL_MAX_LENGTH, blank=True)
    contact_phone = models.CharField(_("contact mobile number"), max_length=PHONE_MAX_LENGTH, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=VisitStatus.choices, default=VisitStatus.OPEN
    )
    booking = models.OneToOneField(
        Booking, on_delete=models.SET_NULL, null=True, blank=True, related_name="inspection_visit"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Raised by every change, so that a plan made before it refuses to be accepted.
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(InspectionVisitQuerySet)
    )

    class Meta:
        ordering = ["due_by", "-priority", "pk"]
        indexes = [models.Index(fields=["tenant", "status", "due_by"], name="inspection_visit_open")]
        constraints = [
            models.CheckConstraint(
                condition=Q(not_before__isnull=True) | Q(due_by__gte=F("not_before")),
                name="inspection_visit_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(window_start__isnull=True)
                | Q(window_end__isnull=True)
                | Q(window_end__gt=F("window_start")),
                name="inspection_visit_window_in_order",
            ),
            models.CheckConstraint(
                condition=Q(latitude__range=(-90, 90), longitude__range=(-180, 180)),
                name="inspection_visit_point",
            ),
            models.CheckConstraint(
                condition=~Q(status="booked") | Q(booking__isnull=False),
                name="inspection_visit_booked_has_booking",
            ),
            models.CheckConstraint(
                condition=~Q(contact_email="") | ~Q(contact_phone=""), name="inspection_visit_has_contact"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.premises} (due {self.due_by})"


class PlanStatus(models.TextChoices):
    PLANNING = "planning", _("Being planned")
    FAILED = "failed", _("Could not be planned")
    DRAFT = "draft", _("Proposed")
    ACCEPTED = "accepted", _("Accepted")
    DISCARDED = "discarded", _("Discarded")


class AllocationPlan(TenantOwned):
    """A solver's proposal for the open inspection visits over `first_day`..`last_day`, which a scheduler
    previews, adjusts and accepts (accepting books each planned visit through the normal services)."""

    first_day = models.DateField(_("from"))
    last_day = models.DateField(_("until"))
    status = models.CharField(max_length=20, choices=PlanStatus.choices, default=PlanStatus.DRAFT)
    solver_seconds = models.FloatField(default=0)
    unassigned = models.PositiveIntegerField(default=0)
    # [[visit id, why it was left out], ...] and {"officer id:date": [seconds, metres]} of each day's drive
    # home after its last visit (the legs to visits are on the planned visits).
    left_out = models.JSONField(default=list, blank=True)
    drives_home = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)  # why the worker could not make the plan (status failed)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(last_day__gte=F("first_day")), name="allocation_plan_days_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_day} – {self.last_day} ({self.get_status_display()})"


class PlannedResult(models.TextChoices):
    BOOKED = "booked", _("Booked")
    FAILED = "failed", _("Not booked")


class PlannedVisit(TenantOwned):
    """One visit placed by a plan: who, when, and the travel to it from the stop before."""

    plan = models.ForeignKey(AllocationPlan, on_delete=models.CASCADE, related_name="planned_visits")
    visit = models.ForeignKey(InspectionVisit, on_delete=models.CASCADE, related_name="+")
    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    position = models.PositiveSmallIntegerField(default=0)  # order in the officer's day
    travel_seconds = models.PositiveIntegerField(default=0)  # from the previous stop (or the day's start)
    travel_metres = models.PositiveIntegerField(default=0)
    visit_updated_at = models.DateTimeField()  # the visit as planned; a later change makes the plan stale
    result = models.CharField(max_length=20, choices=PlannedResult.choices, blank=True)
    problem = models.CharField(max_length=500, blank=True)  # why accepting could not book it

    class Meta:
        ordering = ["officer", "starts_at"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "plan", "visit"], name="planned_visit_once_per_plan"),
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="planned_visit_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit} → {self.officer} {self.starts_at:%Y-%m-%d %H:%M}"

    @property
    def travel_km(self) -> float:
        return round(self.travel_metres / 1000, 1)

    @property
    def travel_minutes(self) -> int:
        return round(self.travel_seconds / 60)


class AllocationEvent(AuditEvent):
    """Append-only history of inspection visits and allocation plans: added, edited, planned, adjusted,
    accepted, discarded, with who did it."""

    plan = models.ForeignKey(
        AllocationPlan, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )
    visit = models.ForeignKey(
        InspectionVisit, on_delete=models.SET_NULL, null=True, blank=True, related_name="events"
    )

    class Meta(AuditEvent.Meta):
        pass

    def __str__(self) -> str:
        return f"{self.action} (plan {self.plan_id}, visit {self.visit_id})"
