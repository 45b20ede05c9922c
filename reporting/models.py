"""Per-day summaries of bookings: what the manager dashboards add up over long periods."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accounts.models import Officer, TenantOwned
from bookings.models import Channel
from scheduling.models import AppointmentType


class DailySummary(TenantOwned):
    """One tenant's appointments on one local day (the tenant's time zone), of one appointment type, led
    by one officer (none: unassigned), made through one channel. Every figure is a sum, so a period's
    figure is the sum of its days' rows; averages and rates are ratios of two sums.

    A booking counts on the local day it STARTS, in its current state (a booking moved or cancelled later
    counts where and as it is now, once rewritten by `daily_summaries_refresh`). Held and expired holds
    never count. Its officer is the lowest-numbered officer among its active assignments, else among any
    of its assignments, so a two-officer visit counts once. Rows are rewritten, never edited, by
    `reporting.services.daily_summaries_refresh`.
    """

    day = models.DateField(_("local day"))
    appointment_type = models.ForeignKey(AppointmentType, on_delete=models.CASCADE, related_name="+")
    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    # Appointments starting that day, whatever became of them (confirmed + completed + no_show + cancelled
    # + needs_rebooking): the denominator of every rate.
    booked = models.PositiveIntegerField(default=0)
    # Of `booked`, how many are now in each state.
    confirmed = models.PositiveIntegerField(default=0)
    completed = models.PositiveIntegerField(default=0)
    no_show = models.PositiveIntegerField(default=0)
    cancelled = models.PositiveIntegerField(default=0)
    needs_rebooking = models.PositiveIntegerField(default=0)
    # Appointment minutes (starts_at to ends_at, no buffers) of confirmed, completed and no-show bookings:
    # the officer time the appointments took or still take (booked hours for utilisation).
    booked_minutes = models.PositiveBigIntegerField(default=0)
    # Of `booked`, those of urgent priority.
    emergency = models.PositiveIntegerField(default=0)
    # Of `booked`, those moved aside by an urgent booking at least once (a "displaced" event).
    displaced = models.PositiveIntegerField(default=0)
    # "rescheduled" events of the bookings in `booked` (a booking moved twice counts twice).
    reschedules = models.PositiveIntegerField(default=0)
    # Sum over `booked` of the minutes from creation to start (never below zero): lead time = sum / booked.
    lead_time_minutes_sum = models.PositiveBigIntegerField(default=0)
    # Survey answers of the bookings in `booked`: how many, and their scores added (mean = sum / count).
    survey_responses = models.PositiveIntegerField(default=0)
    survey_score_sum = models.PositiveIntegerField(default=0)

    objects = ScopedManager(tenant="tenant")

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
            models.CheckConstraint(
                condition=Q(
                    booked=models.F("confirmed")
                    + models.F("completed")
                    + models.F("no_show")
                    + models.F("cancelled")
                    + models.F("needs_rebooking")
                ),
                name="daily_summary_states_add_up",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.day}: {self.booked}"
