"""Input shape for the inspection programme and allocation plans: a visit (its address found through the
geocoder), the days a plan covers, a scheduler's adjustment, the programme list's filters."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Officer, Skill
from bookings.contacts import (
    EMAIL_MAX_LENGTH,
    LOCATION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PHONE_MAX_LENGTH,
    normalise_phone,
    validate_mobile,
)
from bookings.models import InspectionVisit, VisitStatus
from scheduling.locations import geocoder
from scheduling.models import AppointmentType, Priority

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
TIME = forms.TimeInput(attrs={"type": "time"}, format="%H:%M")


class VisitForm(forms.Form):
    """A visit of the programme; `point` is where its address was found."""

    premises = forms.CharField(label=_("Premises"), max_length=200)
    address = forms.CharField(
        label=_("Address"),
        max_length=LOCATION_MAX_LENGTH,
        help_text=_(
            "A street address or postcode in the area; it is looked up to place the visit on the map."
        ),
    )
    appointment_type = forms.ModelChoiceField(
        label=_("Type of appointment"), queryset=AppointmentType.objects.none()
    )
    skill = forms.ModelChoiceField(label=_("Skill needed"), queryset=Skill.objects.none(), required=False)
    duration_minutes = forms.IntegerField(label=_("Duration (minutes)"), min_value=5, max_value=12 * 60)
    not_before = forms.DateField(label=_("Not before"), widget=DATE, required=False)
    due_by = forms.DateField(label=_("Due by"), widget=DATE)
    window_start = forms.TimeField(label=_("Not before (time of day)"), widget=TIME, required=False)
    window_end = forms.TimeField(label=_("Over by (time of day)"), widget=TIME, required=False)
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, initial=Priority.NORMAL
    )
    contact_name = forms.CharField(label=_("Contact name"), max_length=NAME_MAX_LENGTH, required=False)
    contact_email = forms.EmailField(
        label=_("Contact email address"),
        max_length=EMAIL_MAX_LENGTH,
        required=False,
        help_text=_("Give an email address or a mobile number: they are told of the appointment."),
    )
    contact_phone = forms.CharField(
        label=_("Contact mobile number"), max_length=PHONE_MAX_LENGTH, required=False
    )
    notes = forms.CharField(
        label=_("Notes"), max_length=4000, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )

    FIELDS = [
        "premises",
        "address",
        "appointment_type",
        "skill",
        "duration_minutes",
        "not_before",
        "due_by",
        "window_start",
        "window_end",
        "priority",
        "contact_name",
        "contact_email",
        "contact_phone",
        "notes",
    ]

    def __init__(self, *args: Any, tenant_id: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant_id = tenant_id
        self.point: tuple[float, float] | None = None
        self.fields["appointment_type"].queryset = AppointmentType.objects.active().order_by("name")
        self.fields["skill"].queryset = Skill.objects.order_by("name")

    def clean_address(self) -> str:
        address = " ".join(self.cleaned_data["address"].split())
        place = geocoder().geocode(tenant_id=self.tenant_id, query=address)
        if place is None:
            raise forms.ValidationError(
                _("That address was not found in the area. Check it, or give the postcode.")
            )
        self.point = (place.point.latitude, place.point.longitude)
        return address

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        not_before, due_by = data.get("not_before"), data.get("due_by")
        if not_before and due_by and due_by < not_before:
            self.add_error("due_by", _("The due date must be on or after the first day it may be done."))
        start, end = data.get("window_start"), data.get("window_end")
        if start and end and end <= start:
            self.add_error("window_end", _("The latest time must be after the earliest."))
        if (
            not data.get("contact_email")
            and not data.get("contact_phone")
            and "contact_email" not in self.errors
        ):
            self.add_error("contact_email", _("Give an email address or a mobile number."))
        return data

    def clean_contact_phone(self) -> str:
        phone = self.cleaned_data.get("contact_phone", "")
        if phone:
            validate_mobile(phone)
        return normalise_phone(phone)

    @classmethod
    def initial_of(cls, visit: InspectionVisit) -> dict[str, Any]:
        return {name: getattr(visit, name) for name in cls.FIELDS}


class PlanForm(forms.Form):
    first_day = forms.DateField(label=_("From"), widget=DATE)
    last_day = forms.DateField(label=_("Until, inclusive"), widget=DATE)


class AdjustForm(forms.Form):
    """Move a visit to an officer, day and time; or leave it out (only `visit` is needed then)."""

    visit = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    officer = forms.ModelChoiceField(label=_("Officer"), queryset=Officer.objects.none(), required=False)
    day = forms.DateField(label=_("Day"), widget=DATE, required=False)
    time = forms.TimeField(label=_("Time"), widget=TIME, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["officer"].queryset = Officer.objects.active().select_related("user")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if self.data.get("action") == "adjust":
            for name in ("officer", "day", "time"):
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("Choose the officer, day and time."))
        return data


class VisitFilterForm(forms.Form):
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Any")), *VisitStatus.choices],
    )
    due = forms.ChoiceField(
        label=_("Due"),
        required=False,
        choices=[("", _("Any time")), ("overdue", _("Overdue")), ("14", _("Within 14 days"))],
    )


class VisitImportForm(forms.Form):
    file = forms.FileField(
        label=_("Programme (CSV)"),
        help_text=_(
            "Columns: premises, address, type (its short name), due_by (YYYY-MM-DD), duration_minutes, and "
            "optionally priority (low, normal, high, urgent), not_before, skill, contact_email, "
            "contact_phone."
        ),
    )
