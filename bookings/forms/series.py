"""Recurring series forms: the rule as staff give it, and changes to occurrences. Shapes only; the series
services decide what may be booked, cancelled or moved."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils import formats
from django.utils.translation import gettext_lazy as _
from recurrence import Recurrence

from accounts.models import Officer
from bookings.contacts import LOCATION_MAX_LENGTH
from bookings.models import Booking
from bookings.series_dates import Repeat, nth_weekday, series_rule
from scheduling.models import AppointmentType

FIRST_DATE_WITHIN_DAYS = 366
LAST_DATE_WITHIN_DAYS = 3 * 366
ORDINALS = {1: _("1st"), 2: _("2nd"), 3: _("3rd"), 4: _("4th"), -1: _("last")}


def nth_weekday_text(day: date) -> str:
    """ "2nd Tuesday", "last Friday": how a monthly series on `day` repeats."""
    return f"{ORDINALS[nth_weekday(day)]} {formats.date_format(day, 'l')}"


class SeriesForm(forms.Form):
    """A series for one customer: type, first date and local time, how it repeats and ends, the officer
    wanted, and what to do when some dates clash. `submission` (issued with the blank form) makes a double
    submission one request."""

    appointment_type = forms.ModelChoiceField(
        label=_("Type of appointment"),
        queryset=AppointmentType.objects.none(),
        error_messages={"required": _("Choose the type of appointment.")},
    )
    first_date = forms.DateField(
        label=_("First date"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"required": _("Enter the first date."), "invalid": _("Enter a real date.")},
    )
    start_time = forms.TimeField(
        label=_("Time (local)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": _("Enter the time."), "invalid": _("Enter a time such as 10:00.")},
    )
    repeat = forms.ChoiceField(
        label=_("Repeats"),
        choices=[
            (Repeat.WEEKLY, _("Every week, on the same weekday")),
            (Repeat.FORTNIGHTLY, _("Every two weeks, on the same weekday")),
            (
                Repeat.MONTHLY_NTH_WEEKDAY,
                _("Every month, on the same weekday of the month (e.g. 2nd Tuesday)"),
            ),
        ],
        initial=Repeat.WEEKLY,
        widget=forms.RadioSelect,
    )
    ends = forms.ChoiceField(
        label=_("Ends"),
        choices=[("count", _("After a number of appointments")), ("until", _("On a date"))],
        initial="count",
        widget=forms.RadioSelect,
    )
    count = forms.IntegerField(label=_("Number of appointments"), required=False, min_value=1)
    until = forms.DateField(
        label=_("Last date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        error_messages={"invalid": _("Enter a real date.")},
    )
    officer = forms.ModelChoiceField(
        label=_("Preferred officer"),
        queryset=Officer.objects.none(),
        required=False,
        help_text=_("Kept for every date they are free; another officer otherwise (you are told which)."),
    )
    mode = forms.ChoiceField(
        label=_("If some dates clash"),
        choices=[
            ("all_or_nothing", _("Book nothing and show me the clashes")),
            ("best_effort", _("Book the dates that are free and show me the clashes")),
        ],
        initial="all_or_nothing",
        widget=forms.RadioSelect,
    )
    location = forms.CharField(
        label=_("Address of the visit"), required=False, max_length=LOCATION_MAX_LENGTH
    )
    notes = forms.CharField(
        label=_("Notes for the officer"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    submission = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.fields["appointment_type"].queryset = AppointmentType.objects.active().order_by("name")
        self.fields["officer"].queryset = Officer.objects.filter(is_active=True).select_related("user")
        self.fields["officer"].label_from_instance = lambda officer: officer.user.full_name
        self.fields["count"].validators.append(_max_count)
        self.fields["count"].widget.attrs["max"] = settings.SERIES_MAX_OCCURRENCES
        if not self.is_bound:
            self.initial.setdefault("submission", uuid.uuid4().hex)

    def clean_first_date(self) -> date:
        first = self.cleaned_data["first_date"]
        if first < self.today:
            raise forms.ValidationError(_("The first date has passed. Choose today or a later date."))
        if first > self.today + timedelta(days=FIRST_DATE_WITHIN_DAYS):
            raise forms.ValidationError(_("The first date must be within a year."))
        return first

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        first, ends = cleaned.get("first_date"), cleaned.get("ends")
        if ends == "count" and cleaned.get("count") is None and "count" not in self.errors:
            self.add_error("count", _("Enter how many appointments."))
        if ends == "until":
            until = cleaned.get("until")
            if until is None and "until" not in self.errors:
                self.add_error("until", _("Enter the last date."))
            elif until is not None and first is not None and until < first:
                self.add_error("until", _("The last date must be on or after the first date."))
            elif until is not None and until > self.today + timedelta(days=LAST_DATE_WITHIN_DAYS):
                self.add_error("until", _("The last date must be within three years."))
        return cleaned

    def recurrence(self) -> Recurrence:
        data = self.cleaned_data
        if data["ends"] == "count":
            return series_rule(data["repeat"], data["first_date"], count=data["count"])
        return series_rule(data["repeat"], data["first_date"], until=data["until"])


def _max_count(value: int | None) -> None:
    if value is not None and value > settings.SERIES_MAX_OCCURRENCES:
        raise forms.ValidationError(
            _("A series may have at most %(limit)d appointments."),
            params={"limit": settings.SERIES_MAX_OCCURRENCES},
        )


SCOPE_CHOICES = [
    ("one", _("This appointment only")),
    ("following", _("This and the following appointments")),
    ("all", _("All future appointments of the series")),
]


class OccurrenceForm(forms.Form):
    """Which occurrence (one of the series' future ones) and how far a change reaches."""

    occurrence = forms.TypedChoiceField(
        label=_("Appointment"),
        coerce=int,
        choices=(),
        error_messages={"required": _("Choose the appointment.")},
    )
    scope = forms.ChoiceField(
        label=_("Change"), choices=SCOPE_CHOICES, initial="one", widget=forms.RadioSelect
    )

    def __init__(self, *args: Any, occurrences: list[Booking], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.occurrences = {booking.pk: booking for booking in occurrences}
        self.fields["occurrence"].choices = [(b.pk, _label(b)) for b in occurrences]

    def booking(self) -> Booking:
        return self.occurrences[self.cleaned_data["occurrence"]]


def _label(booking: Booking) -> str:
    local = booking.starts_at.astimezone(booking.appointment_type.tenant.zone)
    return f"{local:%a %-d %b %Y %H:%M} · {booking.reference}"


class OccurrenceCancelForm(OccurrenceForm):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give the reason for cancelling.")},
    )


class OccurrenceMoveForm(OccurrenceForm):
    start_time = forms.TimeField(
        label=_("New time (local)"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"required": _("Enter the new time."), "invalid": _("Enter a time such as 14:00.")},
    )
    new_date = forms.DateField(
        label=_("New date (this appointment only)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Leave empty to keep the date."),
        error_messages={"invalid": _("Enter a real date.")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("new_date") and cleaned.get("scope") != "one":
            self.add_error("new_date", _("Only a single appointment can move to another date."))
        return cleaned


class AlternativeForm(forms.Form):
    """An alternative time for a date taken out of the series, as its button posts it."""

    occurrence_date = forms.DateField()
    start = forms.IntegerField(min_value=0, max_value=2**40)

    def starts_at(self) -> datetime:
        return datetime.fromtimestamp(self.cleaned_data["start"], tz=UTC)
