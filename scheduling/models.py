"""What can be booked and when: appointment types, and the supply of officer and resource time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import ArrayField, DateTimeRangeField, RangeOperators
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Deferrable, F, Func, Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager
from recurrence.fields import RecurrenceField

from accounts.models import Officer, Skill, TenantLink, TenantOwned, tenant_pair_key


class Priority(models.IntegerChoices):
    LOW = 10, _("Low")
    NORMAL = 20, _("Normal")
    HIGH = 30, _("High")
    URGENT = 40, _("Urgent")


class Category(TenantOwned):
    """Inspection, consultation, meeting, public service, or a tenant's own kind of appointment."""

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "name"]
        verbose_name_plural = _("categories")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="category_name_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return self.name


class ResourceKind(models.TextChoices):
    ROOM = "room", _("Room")
    VEHICLE = "vehicle", _("Vehicle")
    EQUIPMENT = "equipment", _("Equipment")


class Resource(TenantOwned):
    """A room, vehicle or piece of equipment that some appointments need, with its own working pattern."""

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=20, choices=ResourceKind.choices)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="resource_name_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return self.name


class LocationMode(models.TextChoices):
    CUSTOMER_ADDRESS = "customer_address", _("At the customer's address")
    OFFICE = "office", _("At our office")
    PHONE = "phone", _("By phone")
    VIDEO = "video", _("By video call")


class AllocationStrategy(models.TextChoices):
    LEAST_LOADED = "least_loaded", _("Least loaded officer that week")
    ROUND_ROBIN = "round_robin", _("Round robin")
    NAMED_OFFICER = "named_officer", _("A named officer")


class AppointmentTypeQuerySet(models.QuerySet["AppointmentType"]):
    def active(self) -> AppointmentTypeQuerySet:
        return self.filter(is_active=True)

    def bookable_online(self) -> AppointmentTypeQuerySet:
        return self.active().filter(online_bookable=True)


MAX_MINUTES = [MaxValueValidator(24 * 60)]
LATITUDE = [MinValueValidator(-90), MaxValueValidator(90)]
LONGITUDE = [MinValueValidator(-180), MaxValueValidator(180)]


# Reminders go out at most 30 days before an appointment.
REMINDER_HOURS_MAX = 720


def default_reminder_hours() -> list[int]:
    """Two days and two hours before: time to rearrange, and a nudge on the day."""
    return [48, 2]


def validate_reminder_hours(value: list[int]) -> None:
    if len(set(value)) != len(value):
        raise ValidationError(_("Give each number of hours once."))


class AppointmentType(TenantOwned):
    """A service customers or staff can book, and every rule about when and by whom it can happen."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80)
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="appointment_types")
    description = models.TextField(_("description"), blank=True, max_length=4000)
    duration_minutes = models.PositiveIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(12 * 60)]
    )
    buffer_before_minutes = models.PositiveIntegerField(
        _("buffer before (minutes)"), default=0, validators=MAX_MINUTES
    )
    buffer_after_minutes = models.PositiveIntegerField(
        _("buffer after (minutes)"), default=0, validators=MAX_MINUTES
    )
    granularity_minutes = models.PositiveIntegerField(
        _("slot granularity (minutes)"),
        default=15,
        help_text=_("Slots start on this grid from midnight."),
        validators=[MinValueValidator(5), MaxValueValidator(24 * 60)],
    )
    min_notice_minutes = models.PositiveIntegerField(_("minimum notice (minutes)"), default=24 * 60)
    horizon_days = models.PositiveIntegerField(
        _("booking horizon (days)"), default=60, validators=[MinValueValidator(1), MaxValueValidator(730)]
    )
    location_mode = models.CharField(_("where it happens"), max_length=20, choices=LocationMode.choices)
    office_address = models.CharField(_("office address"), max_length=300, blank=True)
    online_bookable = models.BooleanField(_("bookable online"), default=True)
    capacity = models.PositiveIntegerField(
        _("capacity"),
        default=1,
        validators=[MinValueValidator(1), MaxValueValidator(500)],
        help_text=_("1 for a one-to-one appointment; more for a group session."),
    )
    default_priority = models.PositiveSmallIntegerField(
        _("default priority"), choices=Priority.choices, default=Priority.NORMAL
    )
    urgent_target_hours = models.PositiveIntegerField(
        _("urgent target (hours)"), default=48, help_text=_("How soon an urgent booking must happen.")
    )
    allocation_strategy = models.CharField(
        _("allocation"),
        max_length=20,
        choices=AllocationStrategy.choices,
        default=AllocationStrategy.LEAST_LOADED,
    )
    named_officer = models.ForeignKey(
        Officer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    documents_to_bring = models.TextField(
        _("documents to bring"), blank=True, max_length=4000, help_text=_("One per line.")
    )
    cancellation_cutoff_hours = models.PositiveIntegerField(_("cancellation cut-off (hours)"), default=24)
    reminder_hours = ArrayField(
        models.PositiveIntegerField(validators=[MinValueValidator(1), MaxValueValidator(REMINDER_HOURS_MAX)]),
        verbose_name=_("reminders (hours before)"),
        default=default_reminder_hours,
        blank=True,
        validators=[validate_reminder_hours],
        help_text=_(
            "When to remind the customer, in hours before the appointment, separated by commas (48,2 is two "
            "days and two hours before). Leave empty for no reminders."
        ),
    )
    survey_enabled = models.BooleanField(
        _("satisfaction survey"),
        default=True,
        help_text=_("After a completed appointment, ask the customer to score it from 1 to 5."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(AppointmentTypeQuerySet)
    )

    class Meta:
        ordering = ["category__position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "slug"], name="appointment_type_slug_unique_per_tenant"
            ),
            tenant_pair_key("appointment_type_tenant_pair"),
            models.CheckConstraint(
                condition=Q(duration_minutes__gt=0), name="appointment_type_positive_duration"
            ),
            models.CheckConstraint(
                condition=Q(capacity__gte=1), name="appointment_type_capacity_at_least_one"
            ),
            models.CheckConstraint(
                condition=~Q(allocation_strategy="named_officer") | Q(named_officer__isnull=False),
                name="appointment_type_named_strategy_has_officer",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        super().clean()
        if self.granularity_minutes and 1440 % self.granularity_minutes:
            raise ValidationError(
                {"granularity_minutes": _("The granularity must divide a day (5, 10, 15, 30, 60...).")}
            )
        if self.allocation_strategy == AllocationStrategy.NAMED_OFFICER and not self.named_officer_id:
            raise ValidationError({"named_officer": _("Choose the officer for the named-officer strategy.")})

    @property
    def duration(self) -> timedelta:
        return timedelta(minutes=self.duration_minutes)

    @property
    def buffer_before(self) -> timedelta:
        return timedelta(minutes=self.buffer_before_minutes)

    @property
    def buffer_after(self) -> timedelta:
        return timedelta(minutes=self.buffer_after_minutes)

    @property
    def is_group_session(self) -> bool:
        return self.capacity > 1

    def documents(self) -> list[str]:
        return [line.strip() for line in self.documents_to_bring.splitlines() if line.strip()]


class StaffingRequirement(TenantOwned):
    """`count` officers, each with `skill` (any officer when blank). No rows means one officer, any skill."""

    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="staffing")
    skill = models.ForeignKey(Skill, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    count = models.PositiveSmallIntegerField(
        _("officers"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(count__gte=1), name="staffing_count_at_least_one")]

    def __str__(self) -> str:
        return f"{self.count} × {self.skill or _('any officer')}"


class ResourceRequirement(TenantOwned):
    """`count` resources of `kind` (a room, a vehicle...) for the whole appointment."""

    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.CASCADE, related_name="resource_needs"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=ResourceKind.choices)
    count = models.PositiveSmallIntegerField(
        _("how many"), default=1, validators=[MinValueValidator(1), MaxValueValidator(10)]
    )

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(count__gte=1), name="resource_need_count_at_least_one")
        ]

    def __str__(self) -> str:
        return f"{self.count} × {self.get_kind_display()}"


class QuestionKind(models.TextChoices):
    SHORT_TEXT = "short_text", _("Short text")
    LONG_TEXT = "long_text", _("Long text")
    YES_NO = "yes_no", _("Yes or no")
    CHOICE = "choice", _("One of a list")


class Question(TenantOwned):
    """A question the booking form asks for this type of appointment."""

    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField(_("question"), max_length=300)
    help_text = models.CharField(_("hint"), max_length=300, blank=True)
    kind = models.CharField(
        _("kind of answer"), max_length=20, choices=QuestionKind.choices, default=QuestionKind.SHORT_TEXT
    )
    choices = models.TextField(
        _("choices"), blank=True, max_length=4000, help_text=_("For 'one of a list': one choice per line.")
    )
    required = models.BooleanField(_("required"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta:
        ordering = ["position", "pk"]

    def __str__(self) -> str:
        return self.label

    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]

    def clean(self) -> None:
        super().clean()
        if self.kind == QuestionKind.CHOICE and len(self.choice_list()) < 2:
            raise ValidationError({"choices": _("Give at least two choices, one per line.")})


class WorkingPatternQuerySet(models.QuerySet["WorkingPattern"]):
    def effective_between(self, first: date, last: date) -> WorkingPatternQuerySet:
        return self.filter(Q(valid_from__lte=last), Q(valid_until__isnull=True) | Q(valid_until__gte=first))


class WorkingPattern(TenantOwned):
    """An officer's (or a resource's) weekly hours from `valid_from` until `valid_until` (inclusive).

    The database refuses two patterns for the same officer or resource whose dates overlap.
    """

    officer = models.ForeignKey(
        Officer, on_delete=models.CASCADE, null=True, blank=True, related_name="working_patterns"
    )
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="working_patterns"
    )
    valid_from = models.DateField(_("effective from"))
    valid_until = models.DateField(_("effective until"), null=True, blank=True)
    # Where an officer's working day starts and ends (an office or a home base), for routes and for
    # travel-aware slots. Blank: the officer's home base.
    start_label = models.CharField(_("day starts at"), max_length=300, blank=True)
    start_latitude = models.FloatField(null=True, blank=True, validators=LATITUDE)
    start_longitude = models.FloatField(null=True, blank=True, validators=LONGITUDE)
    end_label = models.CharField(_("day ends at"), max_length=300, blank=True)
    end_latitude = models.FloatField(null=True, blank=True, validators=LATITUDE)
    end_longitude = models.FloatField(null=True, blank=True, validators=LONGITUDE)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(WorkingPatternQuerySet)
    )

    class Meta:
        ordering = ["valid_from"]
        constraints = [
            models.CheckConstraint(
                condition=Q(officer__isnull=False, resource__isnull=True)
                | Q(officer__isnull=True, resource__isnull=False),
                name="working_pattern_for_officer_or_resource",
            ),
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=F("valid_from")),
                name="working_pattern_dates_in_order",
            ),
            models.CheckConstraint(
                condition=Q(start_latitude__isnull=True, start_longitude__isnull=True)
                | Q(start_latitude__range=(-90, 90), start_longitude__range=(-180, 180)),
                name="working_pattern_start_point",
            ),
            models.CheckConstraint(
                condition=Q(end_latitude__isnull=True, end_longitude__isnull=True)
                | Q(end_latitude__range=(-90, 90), end_longitude__range=(-180, 180)),
                name="working_pattern_end_point",
            ),
            ExclusionConstraint(
                name="working_patterns_do_not_overlap_per_officer",
                expressions=[
                    ("officer", RangeOperators.EQUAL),
                    (
                        Func(F("valid_from"), F("valid_until"), models.Value("[]"), function="daterange"),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                condition=Q(officer__isnull=False),
            ),
            ExclusionConstraint(
                name="working_patterns_do_not_overlap_per_resource",
                expressions=[
                    ("resource", RangeOperators.EQUAL),
                    (
                        Func(F("valid_from"), F("valid_until"), models.Value("[]"), function="daterange"),
                        RangeOperators.OVERLAPS,
                    ),
                ],
                condition=Q(resource__isnull=False),
            ),
        ]

    def __str__(self) -> str:
        who = self.officer or self.resource
        until = self.valid_until or "…"
        return f"{who}: {self.valid_from} – {until}"


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class WallClockRange(Func):
    """A weekday-less wall-clock span as a timestamp range on a fixed date, so spans can be compared
    with range operators in constraints."""

    template = "tsrange(DATE '2000-01-03' + %(expressions)s)"
    arg_joiner = ", DATE '2000-01-03' + "
    output_field = DateTimeRangeField()


class WorkingInterval(TenantOwned):
    """One span of wall-clock working time on one weekday of a pattern; spans never overlap."""

    pattern = models.ForeignKey(WorkingPattern, on_delete=models.CASCADE, related_name="intervals")
    weekday = models.PositiveSmallIntegerField(_("day"), choices=Weekday.choices)
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))

    class Meta:
        ordering = ["weekday", "start"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="working_interval_ends_after_start"),
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="working_interval_weekday"
            ),
            # Checked at commit, so a form may move a lunch break across two rows in one transaction.
            ExclusionConstraint(
                name="working_intervals_do_not_overlap",
                deferrable=Deferrable.DEFERRED,
                expressions=[
                    ("pattern", RangeOperators.EQUAL),
                    ("weekday", RangeOperators.EQUAL),
                    (WallClockRange(F("start"), F("end")), RangeOperators.OVERLAPS),
                ],
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.start:%H:%M}–{self.end:%H:%M}"


class AbsenceKind(models.TextChoices):
    LEAVE = "leave", _("Leave")
    SICKNESS = "sickness", _("Sickness")
    TRAINING = "training", _("Training")
    OTHER = "other", _("Other")


class AbsenceQuerySet(models.QuerySet["Absence"]):
    def overlapping(self, start: datetime, end: datetime) -> AbsenceQuerySet:
        return self.filter(starts_at__lt=end, ends_at__gt=start)


class Absence(TenantOwned):
    """Time an officer or resource is unavailable: a whole day, several days, or part of a day."""

    officer = models.ForeignKey(
        Officer, on_delete=models.CASCADE, null=True, blank=True, related_name="absences"
    )
    resource = models.ForeignKey(
        Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="absences"
    )
    kind = models.CharField(_("kind"), max_length=20, choices=AbsenceKind.choices, default=AbsenceKind.LEAVE)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=300, blank=True)

    objects = ScopedManager(tenant="tenant", _manager_class=models.Manager.from_queryset(AbsenceQuerySet))

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(condition=Q(ends_at__gt=F("starts_at")), name="absence_ends_after_start"),
            models.CheckConstraint(
                condition=Q(officer__isnull=False, resource__isnull=True)
                | Q(officer__isnull=True, resource__isnull=False),
                name="absence_for_officer_or_resource",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.officer or self.resource}: {self.get_kind_display()}"


class Holiday(TenantOwned):
    """A public holiday: nobody in the tenant takes appointments that local day."""

    date = models.DateField(_("date"))
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["date"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "date"], name="holiday_date_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.date})"


class ServiceBlock(TenantOwned):
    """A repeating window reserved for some appointment types ("Tuesday mornings are for food inspections").

    During the window the officers it covers (all officers when none are chosen) take only those types.
    """

    name = models.CharField(_("name"), max_length=200)
    appointment_types = models.ManyToManyField(
        AppointmentType, through="ServiceBlockAppointmentType", related_name="service_blocks"
    )
    officers = models.ManyToManyField(
        Officer,
        through="ServiceBlockOfficer",
        blank=True,
        related_name="service_blocks",
        help_text=_("Leave empty for every officer."),
    )
    start = models.TimeField(_("from"))
    end = models.TimeField(_("until"))
    recurrence = RecurrenceField(verbose_name=_("repeats"), include_dtstart=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(end__gt=F("start")), name="service_block_ends_after_start"),
            tenant_pair_key("service_block_tenant_pair"),
        ]

    def __str__(self) -> str:
        return self.name


class ServiceBlockAppointmentType(TenantLink):
    """An appointment type a service block is reserved for."""

    service_block = models.ForeignKey(ServiceBlock, on_delete=models.CASCADE)
    appointment_type = models.ForeignKey(
        AppointmentType, on_delete=models.CASCADE, verbose_name=_("appointment type")
    )

    class Meta:
        verbose_name = _("appointment type")
        verbose_name_plural = _("appointment types")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "service_block", "appointment_type"],
                name="service_block_type_unique_per_tenant",
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_block}: {self.appointment_type}"


class ServiceBlockOfficer(TenantLink):
    """An officer a service block covers (a block with none covers every officer)."""

    service_block = models.ForeignKey(ServiceBlock, on_delete=models.CASCADE)
    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, verbose_name=_("officer"))

    class Meta:
        verbose_name = _("officer")
        verbose_name_plural = _("officers (none: every officer)")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "service_block", "officer"], name="service_block_officer_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.service_block}: {self.officer}"


class ExternalBusyQuerySet(models.QuerySet["ExternalBusy"]):
    def overlapping(self, start: datetime, end: datetime) -> ExternalBusyQuerySet:
        return self.filter(starts_at__lt=end, ends_at__gt=start)


class ExternalBusy(TenantOwned):
    """Busy time imported from an officer's own calendar (CalDAV); blocks availability like a booking."""

    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, related_name="external_busy")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    source = models.CharField(max_length=120, blank=True)
    uid = models.CharField(max_length=255, blank=True)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(ExternalBusyQuerySet)
    )

    class Meta:
        verbose_name_plural = _("external busy time")
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=F("starts_at")), name="external_busy_ends_after_start"
            ),
        ]
