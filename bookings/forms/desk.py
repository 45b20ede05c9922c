"""Input shapes for the team calendar, the conflict queue and the emergency screen (no services here)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from bookings.contacts import validate_mobile
from bookings.models import NAME_MAX_LENGTH
from scheduling.models import AppointmentType, Priority


class ReassignForm(forms.Form):
    officer = forms.TypedChoiceField(label=_("Give to"), coerce=int, choices=())

    def __init__(self, *args: Any, officers: list[tuple[int, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["officer"].choices = officers


class RemedyForm(forms.Form):
    """One proposal, as its button posts it: another officer (id) or a new time (epoch seconds)."""

    officer = forms.IntegerField(required=False, min_value=1)
    start = forms.IntegerField(required=False, min_value=0, max_value=2**40)
    note = forms.CharField(label=_("Note (optional)"), required=False, max_length=200)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if (cleaned.get("officer") is None) == (cleaned.get("start") is None):
            raise forms.ValidationError(_("Choose one of the proposed remedies."))
        return cleaned

    def starts_at(self) -> datetime | None:
        start = self.cleaned_data.get("start")
        return datetime.fromtimestamp(start, tz=UTC) if start is not None else None


class EmergencyForm(forms.Form):
    appointment_type = forms.ModelChoiceField(
        label=_("Type of appointment"),
        queryset=AppointmentType.objects.none(),
        error_messages={"required": _("Choose the type of appointment.")},
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"),
        coerce=int,
        choices=[(p.value, p.label) for p in (Priority.URGENT, Priority.HIGH)],
        initial=Priority.URGENT,
    )
    customer = forms.IntegerField(
        label=_("Existing customer number"),
        required=False,
        min_value=1,
        help_text=_("From the customer search. Leave empty to add a new customer below."),
    )
    full_name = forms.CharField(
        label=_("New customer's full name"), required=False, max_length=NAME_MAX_LENGTH
    )
    phone = forms.CharField(
        label=_("Mobile number"), required=False, max_length=30, validators=[validate_mobile]
    )
    email = forms.EmailField(label=_("Email address"), required=False, max_length=254)
    reason = forms.CharField(label=_("Why is it urgent?"), required=False, max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["appointment_type"].queryset = AppointmentType.objects.filter(is_active=True)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("customer") and "customer" not in self.errors:
            if not cleaned.get("full_name"):
                self.add_error("full_name", _("Give an existing customer number or a new customer's name."))
            elif not cleaned.get("email") and not cleaned.get("phone"):
                self.add_error("email", _("Give an email address or a mobile number for a new customer."))
        return cleaned

    def new_customer(self) -> dict[str, str]:
        return {k: self.cleaned_data.get(k) or "" for k in ("full_name", "phone", "email")}


class EmergencyConfirmForm(forms.Form):
    start = forms.IntegerField(min_value=0, max_value=2**40)
    displace = forms.CharField(required=False, max_length=2000)
    officers = forms.CharField(required=False, max_length=2000)

    def clean_displace(self) -> list[int]:
        return _ids(self.cleaned_data["displace"])

    def clean_officers(self) -> list[int]:
        return _ids(self.cleaned_data["officers"])

    def starts_at(self) -> datetime:
        return datetime.fromtimestamp(self.cleaned_data["start"], tz=UTC)


def _ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError as error:
        raise forms.ValidationError(_("Start again from the emergency screen.")) from error
