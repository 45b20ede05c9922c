"""Input shape for block booking: the type, the customers (a filter or a pasted list, or one customer's
starts), the period, the mode and whether to tell the customers. Finding the customers is the view's."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from bookings.selectors.customer_search import BOOKING_REFERENCE
from bookings.services.blocks import BlockMode
from scheduling.models import AppointmentType

PROGRAMME, SLOTS = "programme", "slots"
LIST_MAX_LENGTH = 20000  # a thousand customer numbers or references, with separators
FILTER_MAX_LENGTH = 100
SEPARATORS = re.compile(r"[\s,;]+")


def block_max_items() -> int:
    return settings.BLOCK_MAX_ITEMS


class BlockForm(forms.Form):
    appointment_type = forms.ModelChoiceField(
        label=_("Type of appointment"),
        queryset=AppointmentType.objects.none(),
        error_messages={"required": _("Choose the type of appointment.")},
    )
    kind = forms.ChoiceField(
        label=_("What to book"),
        choices=[
            (PROGRAMME, _("A programme: each customer once, at the earliest free time in the period")),
            (SLOTS, _("Several times for one customer")),
        ],
        initial=PROGRAMME,
        widget=forms.RadioSelect,
    )
    first_day = forms.DateField(
        label=_("From (programme)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    last_day = forms.DateField(
        label=_("Until, inclusive (programme)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    customer_filter = forms.CharField(
        label=_("Customers whose postcode starts with, or whose town is (programme)"),
        required=False,
        max_length=FILTER_MAX_LENGTH,
        help_text=_("For example NE1, or Ashford."),
    )
    customer_list = forms.CharField(
        label=_("Or these customers (programme)"),
        required=False,
        max_length=LIST_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("Customer numbers or booking references, one per line or separated by commas."),
    )
    customer = forms.IntegerField(
        label=_("Customer number (several times)"), required=False, min_value=1, max_value=2**62
    )
    starts = forms.CharField(
        label=_("Times (several times)"),
        required=False,
        max_length=LIST_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One per line, as 2027-03-01 09:30 (local time)."),
    )
    mode = forms.ChoiceField(
        label=_("If some cannot be booked"),
        choices=[
            (BlockMode.ALL_OR_NOTHING, _("Book nothing (all or nothing)")),
            (BlockMode.BEST_EFFORT, _("Book the rest (best effort)")),
        ],
        initial=BlockMode.ALL_OR_NOTHING,
        widget=forms.RadioSelect,
    )
    tell_customers = forms.BooleanField(
        label=_("Tell the customers (confirmation and reminders)"), required=False
    )

    def __init__(self, *args: Any, today: date, now: datetime, zone: ZoneInfo, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = AppointmentType.objects.filter(is_active=True)
        self.today, self.now, self.zone = today, now, zone

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        kind = cleaned.get("appointment_type")
        if cleaned.get("kind") == PROGRAMME:
            self._programme_check(cleaned, kind)
        elif cleaned.get("kind") == SLOTS:
            self._slots_check(cleaned, kind)
        return cleaned

    def _programme_check(self, cleaned: dict[str, Any], kind: AppointmentType | None) -> None:
        first, last = cleaned.get("first_day"), cleaned.get("last_day")
        if first is None and "first_day" not in self.errors:
            self.add_error("first_day", _("Enter the first day of the programme."))
        if last is None and "last_day" not in self.errors:
            self.add_error("last_day", _("Enter the last day of the programme."))
        if first and first < self.today:
            self.add_error("first_day", _("The programme cannot start in the past."))
        if first and last and last < first:
            self.add_error("last_day", _("The last day must be on or after the first day."))
        if kind and last and last > self.today + timedelta(days=kind.horizon_days):
            self.add_error(
                "last_day",
                _("%(type)s can be booked at most %(days)d days ahead.")
                % {"type": kind.name, "days": kind.horizon_days},
            )
        listed = cleaned.get("customer_list", "")
        if not cleaned.get("customer_filter") and not listed.strip() and "customer_list" not in self.errors:
            self.add_error("customer_filter", _("Give a postcode or town, or a list of customers."))
        ids, references, wrong = [], [], []
        for token in SEPARATORS.split(listed.strip()) if listed.strip() else []:
            if token.isdigit() and len(token) < 19:
                ids.append(int(token))
            elif BOOKING_REFERENCE.match(token.upper()):
                references.append(token.upper())
            else:
                wrong.append(token)
        if wrong:
            self.add_error(
                "customer_list",
                _("These are not customer numbers or booking references: %(wrong)s")
                % {"wrong": ", ".join(wrong[:10])},
            )
        elif len(ids) + len(references) > block_max_items():
            self.add_error("customer_list", self.too_many(len(ids) + len(references)))
        cleaned["listed_ids"], cleaned["listed_references"] = ids, references

    def _slots_check(self, cleaned: dict[str, Any], kind: AppointmentType | None) -> None:
        if not cleaned.get("customer") and "customer" not in self.errors:
            self.add_error("customer", _("Enter the customer's number."))
        lines = [line.strip() for line in cleaned.get("starts", "").splitlines() if line.strip()]
        if not lines and "starts" not in self.errors:
            self.add_error("starts", _("Enter at least one time."))
            return
        if len(lines) > block_max_items():
            self.add_error("starts", self.too_many(len(lines)))
            return
        starts = []
        for line in lines:
            try:
                local = datetime.strptime(line, "%Y-%m-%d %H:%M")
            except ValueError:
                self.add_error(
                    "starts", _("%(line)s is not a time like 2027-03-01 09:30.") % {"line": line[:40]}
                )
                return
            start = local.replace(tzinfo=self.zone)
            if start <= self.now:
                self.add_error("starts", _("%(line)s is in the past.") % {"line": line})
                return
            if kind and start > self.now + timedelta(days=kind.horizon_days):
                self.add_error(
                    "starts",
                    _("%(line)s is more than %(days)d days ahead.")
                    % {"line": line, "days": kind.horizon_days},
                )
                return
            starts.append(start)
        cleaned["start_times"] = starts

    @staticmethod
    def too_many(count: int) -> str:
        return _("At most %(max)d items can be booked at once; this asks for %(count)d.") % {
            "max": block_max_items(),
            "count": count,
        }


class BlockConfirmForm(forms.Form):
    """The plan to write, by the key it was kept under when previewed."""

    plan = forms.RegexField(regex=r"^[0-9a-f]{32}$", max_length=32)
