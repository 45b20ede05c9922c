"""Summaries the manager dashboards add up over long periods, rewritten from the bookings, the officers'
working patterns and the message log by `reporting.services`; never edited in place.

Every figure is a sum, so a period's figure is the sum of its rows; averages and rates are ratios of two
sums. Days are the tenant's local days.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accounts.models import Officer, TenantOwned
from bookings.models import Channel
from notifications.models import MessageChannel
from scheduling.models import AppointmentType, Resource


class BookingFigures(TenantOwned):
    """The additive figures of some appointments (see the concrete summaries for which).

    A booking counts on the local day it STARTS, in its current state (a booking moved or cancelled later
    counts where and as it is now, once rewritten). Held and expired holds never count. Its officer is the
    lowest-numbered officer among its active assignments, else among any of its assignments, so a
    two-officer visit counts once.
    """

    # Appointments starting then, whatever became of them (confirmed + completed + no_show + cancelled
    # + needs_rebooking): the denominator of every rate.
    booked = models.PositiveIntegerField(default=0)
    # Of `booked`, how many are now in each state.
    confirmed = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    no_show = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    needs_rebooking = models.PositiveIntegerField(default=0)
    # Appointment minutes (starts_at to ends_at, no buffers) of confirmed, completed and no-show bookings:
    # the officer time the appointments took or still take.
    booked_minutes = models.PositiveBigIntegerField(default=0)
    # Of `booked`, those of urgent priority.
    emergency = models.PositiveIntegerField(default=0)
    # Of `booked`, those moved aside by an urgent booking at least once (a "displaced" event).
    displaced = models.PositiveIntegerField(default=0)
    # "rescheduled" events of the bookings in `booked` (a booking moved twice counts twice).
    reschedules = models.PositiveIntegerField(default=0)
    # Sum over `booked` of the minutes from creation to start (never below zero): lead time = sum / booked.
    lead_time_minutes_sum = models.PositiveBigIntegerField(default=0)
    # Confirmed, completed and no-show bookings made fewer than 7, 14, 21 and 28 days before they start:
    # the demand that typically still arrives for a week that far ahead (the forecast).
    late_7d = models.PositiveIntegerField(default=0)
    late_14d = models.PositiveIntegerField(default=0)
    late_21d = models.PositiveIntegerField(default=0)
    late_28d = models.PositiveIntegerField(default=0)
    # Survey answers of the bookings in `booked`: how many, and their scores added (mean = sum / count).
    survey_responses = models.PositiveIntegerField(default=0)
    survey_score_sum = models.PositiveIntegerField(default=0)
    # Of `survey_responses`, how many gave each score: the distribution.
    survey_score_1 = models.PositiveIntegerField(default=0)
    survey_score_2 = models.PositiveIntegerField(default=0)
    survey_score_3 = models.PositiveIntegerField(default=0)
    survey_score_4 = models.PositiveIntegerField(default=0)
    survey_score_5 = models.PositiveIntegerField(default=0)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True


STATES_ADD_UP = Q(
    booked=models.F("confirmed")
    + models.F("completed")
    + models.F("no_show")
    + models.F("cancelled")
    + models.F("needs_rebooking")
)


class DailySummary(BookingFigures):
    """One tenant's appointments starting on one local day, of one appointment type, led by one officer
    (none: unassigned), made through one channel. Rows are rewritten, never edited, by
    `reporting.services.daily_summaries_refresh`."""

    day = models.DateField(_("local day"))
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="+")
    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)

    class Meta:
        verbose_name = _("daily summary")
        verbose_name_plural = _("daily summaries")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "appointment_type", "officer", "channel"],
                nulls_distinct=False,
                name="daily_summary_unique_per_tenant",
            ),
            models.CheckConstraint(condition=STATES_ADD_UP, name="daily_summary_states_add_up"),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.booked}"


class WeeklySummary(BookingFigures):
    """The daily summaries of one local week (Monday to Sunday) added up, by type, officer and channel: what
    a long period filtered by officer or team and by type or channel reads for its whole weeks. Rewritten
    from DailySummary whenever a day of the week is, like the two narrower weekly summaries below."""

    week = models.DateField(_("week starting"))
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="+")
    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)

    class Meta:
        verbose_name = _("weekly summary")
        verbose_name_plural = _("weekly summaries")
        ordering = ["week"]
        # Filtered by officer or team, a long period reads only those officers' weeks.
        indexes = [models.Index(fields=["tenant", "officer", "week"], name="weekly_summary_by_officer")]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "week", "appointment_type", "officer", "channel"],
                nulls_distinct=False,
                name="weekly_summary_unique_per_tenant",
            ),
            models.CheckConstraint(condition=STATES_ADD_UP, name="weekly_summary_states_add_up"),
            models.CheckConstraint(condition=Q(week__week_day=2), name="weekly_summary_starts_monday"),
        ]

    def __str__(self) -> str:
        return f"{self.week}: {self.booked}"


class WeeklyTypeSummary(BookingFigures):
    """A week's appointments by type and channel, every officer together: what the dashboard reads for
    whole weeks unless it is filtered by officer or team (a few dozen rows a week, whatever the staff)."""

    week = models.DateField(_("week starting"))
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)

    class Meta:
        verbose_name = _("weekly summary by type")
        verbose_name_plural = _("weekly summaries by type")
        ordering = ["week"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "week", "appointment_type", "channel"],
                name="weekly_type_summary_unique_per_tenant",
            ),
            models.CheckConstraint(condition=STATES_ADD_UP, name="weekly_type_summary_states_add_up"),
        ]

    def __str__(self) -> str:
        return f"{self.week}: {self.booked}"


class WeeklyOfficerSummary(BookingFigures):
    """A week's appointments by officer (none: unassigned), every type and channel together: what the
    per-officer figures read for whole weeks unless filtered by type, category or channel."""

    week = models.DateField(_("week starting"))
    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("weekly summary by officer")
        verbose_name_plural = _("weekly summaries by officer")
        ordering = ["week"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "week", "officer"],
                nulls_distinct=False,
                name="weekly_officer_summary_unique_per_tenant",
            ),
            models.CheckConstraint(condition=STATES_ADD_UP, name="weekly_officer_summary_states_add_up"),
        ]

    def __str__(self) -> str:
        return f"{self.week}: {self.booked}"


class DailyCancellationSummary(TenantOwned):
    """Cancelled appointments starting on one local day, of one type, made through one channel, with one
    reason as staff wrote it (trimmed): what the reasons table adds up unless filtered by officer or team."""

    day = models.DateField(_("local day"))
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    reason = models.CharField(max_length=500, blank=True)
    cancelled = models.PositiveIntegerField(default=0)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        verbose_name = _("daily cancellation summary")
        verbose_name_plural = _("daily cancellation summaries")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "appointment_type", "channel", "reason"],
                name="daily_cancellations_unique_per_tenant",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.cancelled}"


class DailyCapacity(TenantOwned):
    """One officer's or resource's offered and booked time on one local day: its working pattern minus
    absences and public holidays (offered), and the appointment minutes of its confirmed, completed and
    no-show assignments starting that day (booked). Utilisation is booked / offered."""

    day = models.DateField(_("local day"))
    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    resource = models.ForeignKey(Resource, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    offered_minutes = models.PositiveIntegerField(default=0)
    booked_minutes = models.PositiveIntegerField(default=0)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        verbose_name = _("daily capacity")
        verbose_name_plural = _("daily capacities")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "officer", "resource"],
                nulls_distinct=False,
                name="daily_capacity_unique_per_tenant",
            ),
            models.CheckConstraint(
                condition=Q(officer__isnull=False, resource__isnull=True)
                | Q(officer__isnull=True, resource__isnull=False),
                name="daily_capacity_officer_or_resource",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.booked_minutes}/{self.offered_minutes}"


class DailyMessageSummary(TenantOwned):
    """The messages queued on one local day on one channel, by what has become of them."""

    day = models.DateField(_("local day"))
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    total = models.PositiveIntegerField(default=0)
    pending = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    delivered = models.PositiveIntegerField(default=0)
    bounced = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    expired = models.PositiveIntegerField(default=0)
    # Of `total`, those sent on this channel because the customer's other channel failed for good.
    fallbacks = models.PositiveIntegerField(default=0)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        verbose_name = _("daily message summary")
        verbose_name_plural = _("daily message summaries")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "channel"], name="daily_messages_unique_per_tenant"
            ),
            models.CheckConstraint(
                condition=Q(
                    total=models.F("pending")
                    + models.F("sent")
                    + models.F("delivered")
                    + models.F("bounced")
                    + models.F("failed")
                    + models.F("cancelled")
                    + models.F("expired")
                ),
                name="daily_messages_states_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.channel}: {self.total}"


class NextSlotSnapshot(TenantOwned):
    """How far ahead the first free slot of one appointment type was, as the public saw it, measured on one
    local day (the last measurement of the day stands): today's figure and, day by day, its trend."""

    day = models.DateField(_("local day"))
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="+")
    measured_at = models.DateTimeField()
    # The first free slot's start; none within the booking horizon when empty.
    next_start = models.DateTimeField(null=True, blank=True)
    # Whole local days from the measuring day to that slot's day (0: today); none when no slot.
    days_to_next = models.PositiveIntegerField(null=True, blank=True)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        verbose_name = _("next free slot")
        verbose_name_plural = _("next free slots")
        ordering = ["day"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "day", "appointment_type"], name="next_slot_snapshot_unique_per_tenant"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.days_to_next}"
