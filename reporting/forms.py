"""The dashboard's filters, read from the query string (so a view of the figures can be shared and
bookmarked); bad input becomes a form error, never a guess."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Officer, Team
from bookings.models import Channel
from scheduling.models import AppointmentType, Category

from .selectors.filters import ReportFilters

DEFAULT_DAYS = 28
FILTER_FIELDS = ("start", "end", "team", "officer", "appointment_type", "category", "channel")


def _date_field(label: str) -> forms.DateField:
    return forms.DateField(
        label=label,
        required=False,
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


class ReportFilterForm(forms.Form):
    start = _date_field(_("From"))
    end = _date_field(_("To"))
    team = forms.ModelChoiceField(queryset=Team.objects.none(), required=False, empty_label=_("All teams"))
    officer = forms.ModelChoiceField(
        queryset=Officer.objects.none(), required=False, empty_label=_("All officers")
    )
    appointment_type = forms.ModelChoiceField(
        label=_("Appointment type"),
        queryset=AppointmentType.objects.none(),
        required=False,
        empty_label=_("All types"),
    )
    category = forms.ModelChoiceField(
        queryset=Category.objects.none(), required=False, empty_label=_("All categories")
    )
    channel = forms.ChoiceField(
        label=_("Booked through"), choices=[("", _("All channels")), *Channel.choices], required=False
    )

    def __init__(self, *args: Any, today: date, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        # The querysets are the active tenant's (scoped managers): another tenant's id is not a choice.
        self.fields["team"].queryset = Team.objects.order_by("name")
        self.fields["officer"].queryset = Officer.objects.select_related("user").order_by("user__full_name")
        self.fields["appointment_type"].queryset = AppointmentType.objects.order_by("name")
        self.fields["category"].queryset = Category.objects.order_by("name")
        self.fields["start"].widget.attrs["max"] = self.fields["end"].widget.attrs["max"] = (
            today + timedelta(days=settings.REPORT_MAX_DAYS)
        ).isoformat()

    @staticmethod
    def default_data(today: date) -> dict[str, str]:
        """The filters of a first visit: the last DEFAULT_DAYS days, everything."""
        return {"start": (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat(), "end": today.isoformat()}

    @property
    def default_start(self) -> date:
        return self.today - timedelta(days=DEFAULT_DAYS - 1)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        end = data.get("end") or self.today
        start = data.get("start") or min(end, self.default_start)
        if "start" in self.errors or "end" in self.errors:
            return data
        if end < start:
            self.add_error("end", _("The end date must be the same as or after the start date."))
        elif (end - start).days + 1 > settings.REPORT_MAX_DAYS:
            self.add_error(
                "end", _("Choose a period of at most %(days)s days.") % {"days": settings.REPORT_MAX_DAYS}
            )
        elif abs((end - self.today).days) > settings.REPORT_MAX_DAYS:
            self.add_error(
                "end", _("Choose dates within %(days)s days of today.") % {"days": settings.REPORT_MAX_DAYS}
            )
        data["start"], data["end"] = start, end
        return data

    def filters(self) -> ReportFilters:
        data = self.cleaned_data
        return ReportFilters(
            first_day=data["start"],
            last_day=data["end"],
            team=data.get("team"),
            officer=data.get("officer"),
            appointment_type=data.get("appointment_type"),
            category=data.get("category"),
            channel=data.get("channel") or None,
        )

    def query(self) -> dict[str, str]:
        """The filters as query parameters (empty ones left out): what links and downloads carry."""
        data = self.cleaned_data
        values = {
            "start": data["start"].isoformat(),
            "end": data["end"].isoformat(),
            **{
                name: str(data[name].pk)
                for name in ("team", "officer", "appointment_type", "category")
                if data.get(name)
            },
        }
        if data.get("channel"):
            values["channel"] = data["channel"]
        return values
