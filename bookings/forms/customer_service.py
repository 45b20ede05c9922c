"""Customer service forms: finding a customer, correcting their record, booking for a caller, cancelling.

Shape and input validation only; the services decide what may happen.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from bookings.contacts import (
    ACCESSIBILITY_NEEDS_MAX_LENGTH,
    ADDRESS_LINE_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    LOCATION_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PHONE_MAX_LENGTH,
    POSTCODE_MAX_LENGTH,
    TOWN_MAX_LENGTH,
    ContactDetails,
    address_join,
    normalise_phone,
)
from bookings.forms import MOBILE, POSTCODE, DetailsForm, PortalForm, question_field
from bookings.models import CaseKind
from bookings.selectors.customer_search import MIN_QUERY_LENGTH
from scheduling.models import AppointmentType, LocationMode


class CustomerSearchForm(PortalForm):
    q = forms.CharField(
        label=_("Name, email, phone, booking or case reference, or postcode"),
        max_length=200,
        min_length=MIN_QUERY_LENGTH,
        error_messages={
            "required": _("Enter something to search for."),
            "min_length": _("Enter at least %(limit_value)d characters to search for."),
        },
        widget=forms.TextInput(attrs={"type": "search", "spellcheck": "false", "autocomplete": "off"}),
    )


class ContactFields(PortalForm):
    """How to reach a person and where they are, as staff type it (the lengths the records hold)."""

    email = forms.EmailField(label=_("Email address"), required=False, max_length=EMAIL_MAX_LENGTH)
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=PHONE_MAX_LENGTH,
        validators=[MOBILE],
        widget=forms.TextInput(attrs={"type": "tel"}),
    )
    address_line_1 = forms.CharField(
        label=_("Address line 1"), required=False, max_length=ADDRESS_LINE_MAX_LENGTH
    )
    address_line_2 = forms.CharField(
        label=_("Address line 2"), required=False, max_length=ADDRESS_LINE_MAX_LENGTH
    )
    town = forms.CharField(label=_("Town or city"), required=False, max_length=TOWN_MAX_LENGTH)
    postcode = forms.CharField(
        label=_("Postcode"), required=False, max_length=POSTCODE_MAX_LENGTH, validators=[POSTCODE]
    )


class CustomerEditForm(ContactFields):
    """A customer's record as staff correct it, once they have checked who they are speaking to."""

    # The error summary lists problems in page order.
    field_order = ["full_name", *ContactFields.base_fields]

    full_name = forms.CharField(label=_("Full name"), max_length=NAME_MAX_LENGTH)
    contact_by_email = forms.BooleanField(label=_("Contact by email"), required=False)
    contact_by_sms = forms.BooleanField(label=_("Contact by text message"), required=False)
    preferred_language = forms.ChoiceField(label=_("Preferred language"), choices=settings.LANGUAGES)
    accessibility_needs = forms.CharField(
        label=_("Accessibility needs"),
        required=False,
        max_length=ACCESSIBILITY_NEEDS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    identity_checked = forms.BooleanField(
        label=_("I have checked who I am speaking to"),
        error_messages={"required": _("Check who you are speaking to before changing their details.")},
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("phone"):
            cleaned["phone"] = normalise_phone(cleaned["phone"])
        if cleaned.get("postcode"):
            cleaned["postcode"] = cleaned["postcode"].upper()
        if "email" in cleaned and "phone" in cleaned and not cleaned["email"] and not cleaned["phone"]:
            self.add_error("email", _("Give an email address or a mobile number."))
        return cleaned

    def changes(self) -> dict[str, Any]:
        return {name: value for name, value in self.cleaned_data.items() if name != "identity_checked"}


class CallerDetailsForm(ContactFields):
    """The booking's details as a caller gives them on the phone: who to contact and how (kept on the
    booking), where the visit is, the type's questions, and the case it belongs to. With no existing
    customer chosen, the same details make a new customer."""

    field_order = ["full_name", *ContactFields.base_fields]

    # The portal's choices, and one only staff may make for a caller who asks not to be contacted.
    CONTACT_CHOICES = [*DetailsForm.CONTACT_CHOICES, ("none", _("Do not contact"))]

    full_name = forms.CharField(
        label=_("Full name"),
        max_length=NAME_MAX_LENGTH,
        error_messages={"required": _("Enter the caller's full name.")},
    )
    location = forms.CharField(
        label=_("Address of the visit"),
        required=False,
        max_length=LOCATION_MAX_LENGTH,
        help_text=_("Leave blank to use the address above."),
    )
    accessibility_needs = forms.CharField(
        label=_("Access needs"),
        required=False,
        max_length=ACCESSIBILITY_NEEDS_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    contact_by = forms.ChoiceField(
        label=_("How should we contact them about this appointment?"),
        choices=CONTACT_CHOICES,
        initial="email",
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how we should contact them.")},
    )
    consent = forms.BooleanField(
        label=_("The caller agrees to be contacted about this appointment by the methods chosen."),
        required=False,
    )
    case_reference = forms.CharField(label=_("Case reference"), required=False, max_length=100)
    case_kind = forms.ChoiceField(
        label=_("Kind of case"), required=False, choices=[("", _("None")), *CaseKind.choices]
    )
    notes = forms.CharField(
        label=_("Notes for the officer"),
        required=False,
        max_length=4000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    submission = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(
        self, *args: Any, appointment_type: AppointmentType, new_customer: bool, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.appointment_type = appointment_type
        self.new_customer = new_customer
        self.on_site = appointment_type.location_mode == LocationMode.CUSTOMER_ADDRESS
        if not self.on_site:
            del self.fields["location"]
        self.questions = list(appointment_type.questions.all())
        for question in self.questions:
            self.fields[f"q_{question.pk}"] = question_field(question)
        self.fields["email"].conditional = self.fields["phone"].conditional = True

    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"q_{q.pk}"] for q in self.questions]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        contact_by = cleaned.get("contact_by")
        if contact_by in ("email", "both") and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", _("Enter their email address so we can email them."))
        if contact_by in ("sms", "both") and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Enter their mobile number so we can text them."))
        if contact_by in ("email", "sms", "both") and not cleaned.get("consent"):
            self.add_error("consent", _("Ask the caller whether they agree to be contacted."))
        no_contact = not cleaned.get("email") and not cleaned.get("phone")
        if self.new_customer and no_contact and "email" not in self.errors:
            self.add_error("email", _("Give an email address or a mobile number for a new customer."))
        if cleaned.get("phone"):
            cleaned["phone"] = normalise_phone(cleaned["phone"])
        if cleaned.get("postcode"):
            cleaned["postcode"] = cleaned["postcode"].upper()
        no_place = not cleaned.get("location") and not self.address_text()
        if self.on_site and no_place and "location" not in self.errors:
            self.add_error("location", _("Enter the address of the visit."))
        return cleaned

    def address(self) -> dict[str, str]:
        names = ("address_line_1", "address_line_2", "town", "postcode")
        return {name: self.cleaned_data.get(name, "") for name in names}

    def address_text(self) -> str:
        return address_join(*self.address().values())

    def location_text(self) -> str:
        if not self.on_site:
            return self.appointment_type.office_address
        return self.cleaned_data.get("location") or self.address_text()

    def answers(self) -> dict[str, Any]:
        return {q.label: self.cleaned_data.get(f"q_{q.pk}") for q in self.questions}

    def contact(self, *, language: str) -> ContactDetails:
        data = self.cleaned_data
        return ContactDetails(
            name=data["full_name"],
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            by_email=data["contact_by"] in ("email", "both"),
            by_sms=data["contact_by"] in ("sms", "both"),
            language=language,
            consent=bool(data.get("consent")),
            accessibility_needs=data.get("accessibility_needs", ""),
        )


class StaffCancelForm(PortalForm):
    reason = forms.CharField(
        label=_("Why is the appointment being cancelled?"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("Enter why the appointment is being cancelled.")},
    )
