"""Forms: shape and input validation only; the services decide what may happen.

The portal's forms are here; the staff workspace's are in `diary`, `customer_service` and `desk`.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

from bookings.contacts import (
    ACCESSIBILITY_NEEDS_MAX_LENGTH,
    ADDRESS_LINE_MAX_LENGTH,
    EMAIL_MAX_LENGTH,
    NAME_MAX_LENGTH,
    PHONE_MAX_LENGTH,
    POSTCODE_MAX_LENGTH,
    TOWN_MAX_LENGTH,
    ContactDetails,
    address_join,
    normalise_phone,
    validate_mobile,
)
from scheduling.models import AppointmentType, LocationMode, Question, QuestionKind

# Texts go to mobiles only: a landline, an extension or a number that does not exist is refused here.
MOBILE = validate_mobile
POSTCODE = RegexValidator(
    r"^[A-Za-z]{1,2}[0-9][A-Za-z0-9]? ?[0-9][A-Za-z]{2}$", _("Enter a real postcode, like SW1A 1AA.")
)
REFERENCE = re.compile(r"^BK-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$")


class PortalForm(forms.Form):
    """Links each field's error message to its input for screen readers (GOV.UK error pattern)."""

    def full_clean(self) -> None:
        super().full_clean()
        for name in self.errors:
            if name in self.fields:
                bound = self[name]
                described = [f"{bound.auto_id}-error"]
                if bound.help_text:
                    described.insert(0, f"{bound.auto_id}_helptext")
                self.fields[name].widget.attrs["aria-describedby"] = " ".join(described)


def parse_start(value: str) -> datetime | None:
    """An ISO instant with its offset, on a whole minute, as the slot buttons send it; None when malformed,
    naive, or not a time anyone could book: seconds, an absurd year, an offset no time zone has (PostgreSQL
    refuses some Python accepts), or an instant that overflows when converted to UTC."""
    if not value or not value.isascii():  # Python reads other scripts' digits; the buttons send ASCII
        return None
    try:
        moment = parse_datetime(value)
        if moment is None or timezone.is_naive(moment):
            return None
        year = moment.astimezone(UTC).year  # an offset near the calendar's ends overflows here
    except (ValueError, OverflowError):
        return None
    offset = moment.utcoffset() or timedelta(0)
    if abs(offset) > timedelta(hours=14) or offset % timedelta(minutes=1):
        return None
    if not 2000 <= year <= 2999 or moment.second or moment.microsecond:
        return None
    return moment


class SlotForm(forms.Form):
    """The slot a customer picked: one instant, from the buttons of the slot picker."""

    start = forms.CharField(max_length=40)

    def clean_start(self) -> datetime:
        moment = parse_start(self.cleaned_data["start"])
        if moment is None:
            raise forms.ValidationError(_("Choose a time from the list."))
        return moment


class VisitPlaceForm(PortalForm):
    """Where a visit at the customer's address happens, asked before the times (so that the times offered
    are ones an officer can travel to): the postcode, checked for shape here and found by the geocoder."""

    postcode = forms.CharField(
        label=_("Postcode of the address to visit"),
        help_text=_("For example, SW1A 1AA. We use it to show the times when an officer is working nearby."),
        max_length=POSTCODE_MAX_LENGTH,
        validators=[POSTCODE],
        error_messages={
            "required": _("Enter the postcode of the address to visit."),
            "max_length": _("Enter a real postcode, like SW1A 1AA."),
        },
        widget=forms.TextInput(attrs={"autocomplete": "postal-code", "spellcheck": "false"}),
    )

    def clean_postcode(self) -> str:
        return " ".join(self.cleaned_data["postcode"].upper().split())


def postcode_key(postcode: str) -> str:
    """A postcode as compared: upper case, no spaces."""
    return "".join(postcode.upper().split())


class DetailsForm(PortalForm):
    """Who the customer is, where the visit happens, the type's questions, and how to contact them."""

    CONTACT_CHOICES = [
        ("email", _("Email")),
        ("sms", _("Text message")),
        ("both", _("Email and text message")),
    ]

    full_name = forms.CharField(
        label=_("Full name"),
        max_length=NAME_MAX_LENGTH,
        error_messages={"required": _("Enter your full name.")},
    )
    email = forms.EmailField(
        label=_("Email address"),
        required=False,
        max_length=EMAIL_MAX_LENGTH,
        widget=forms.EmailInput(attrs={"autocomplete": "email", "spellcheck": "false"}),
    )
    phone = forms.CharField(
        label=_("Mobile number"),
        required=False,
        max_length=PHONE_MAX_LENGTH,
        validators=[MOBILE],
        widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
    )
    address_line_1 = forms.CharField(
        label=_("Address line 1"),
        required=False,
        error_messages={"required": _("Enter the first line of the address.")},
        max_length=ADDRESS_LINE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "address-line1"}),
    )
    address_line_2 = forms.CharField(
        label=_("Address line 2"),
        required=False,
        max_length=ADDRESS_LINE_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "address-line2"}),
    )
    town = forms.CharField(
        label=_("Town or city"),
        required=False,
        error_messages={"required": _("Enter the town or city.")},
        max_length=TOWN_MAX_LENGTH,
        widget=forms.TextInput(attrs={"autocomplete": "address-level2"}),
    )
    postcode = forms.CharField(
        label=_("Postcode"),
        required=False,
        error_messages={"required": _("Enter the postcode.")},
        max_length=POSTCODE_MAX_LENGTH,
        validators=[POSTCODE],
        widget=forms.TextInput(attrs={"autocomplete": "postal-code"}),
    )
    accessibility_needs = forms.CharField(
        label=_("Do you have any access needs we should know about?"),
        required=False,
        max_length=ACCESSIBILITY_NEEDS_MAX_LENGTH,
        help_text=_("For example, step-free access, a hearing loop or an interpreter."),
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    contact_by = forms.ChoiceField(
        label=_("How should we contact you about this appointment?"),
        choices=CONTACT_CHOICES,
        error_messages={"required": _("Choose how we should contact you.")},
        widget=forms.RadioSelect,
        initial="email",
    )
    consent = forms.BooleanField(
        label=_("I agree to be contacted about this appointment by the methods I chose."),
        error_messages={"required": _("Agree to be contacted so that we can confirm your appointment.")},
    )
    # Echoes the idempotency key the server issued for this hold (kept in the session); the server uses
    # its own copy, never this field's value.
    submission = forms.CharField(widget=forms.HiddenInput, max_length=64, required=False)

    def __init__(self, *args: Any, appointment_type: AppointmentType, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.appointment_type = appointment_type
        self.on_site = appointment_type.location_mode == LocationMode.CUSTOMER_ADDRESS
        if self.on_site:
            for name in ("address_line_1", "town", "postcode"):
                self.fields[name].required = True
        else:
            for name in ("address_line_1", "address_line_2", "town", "postcode"):
                del self.fields[name]
        self.questions = list(appointment_type.questions.all())
        for question in self.questions:
            self.fields[f"q_{question.pk}"] = question_field(question)
        # Needed only for the contact method chosen: not labelled "(optional)".
        self.fields["email"].conditional = self.fields["phone"].conditional = True
        # The error summary lists problems in page order.
        self.order_fields(
            [
                "full_name",
                "address_line_1",
                "address_line_2",
                "town",
                "postcode",
                *[f"q_{q.pk}" for q in self.questions],
                "accessibility_needs",
                "contact_by",
                "email",
                "phone",
                "consent",
            ]
        )

    def question_fields(self) -> list[forms.BoundField]:
        return [self[f"q_{q.pk}"] for q in self.questions]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        contact_by = cleaned.get("contact_by")
        if contact_by in ("email", "both") and not cleaned.get("email") and "email" not in self.errors:
            self.add_error("email", _("Enter your email address so we can email you."))
        if contact_by in ("sms", "both") and not cleaned.get("phone") and "phone" not in self.errors:
            self.add_error("phone", _("Enter your mobile number so we can text you."))
        if cleaned.get("phone"):
            cleaned["phone"] = normalise_phone(cleaned["phone"])
        if cleaned.get("postcode"):
            cleaned["postcode"] = cleaned["postcode"].upper()
        return cleaned

    def answers(self) -> dict[str, Any]:
        return {q.label: self.cleaned_data.get(f"q_{q.pk}") for q in self.questions}

    def contact(self, *, language: str) -> ContactDetails:
        """The contact details and choices given, as the booking will keep them."""
        data = self.cleaned_data
        return ContactDetails(
            name=data["full_name"],
            email=data.get("email", ""),
            phone=data.get("phone", ""),
            by_email=data["contact_by"] in ("email", "both"),
            by_sms=data["contact_by"] in ("sms", "both"),
            language=language,
            consent=data["consent"],
            accessibility_needs=data.get("accessibility_needs", ""),
        )

    def address(self) -> dict[str, str]:
        if not self.on_site:
            return {}
        names = ("address_line_1", "address_line_2", "town", "postcode")
        return {name: self.cleaned_data.get(name, "") for name in names}

    def location(self) -> str:
        """Fits Booking.location whatever the fields hold: its length is the fields' lengths joined."""
        if not self.on_site:
            return self.appointment_type.office_address
        return address_join(*self.address().values())


def question_field(question: Question) -> forms.Field:
    common = {
        "label": question.label,
        "help_text": question.help_text,
        "required": question.required,
        "error_messages": {"required": _("Answer the question: %(question)s") % {"question": question.label}},
    }
    if question.kind == QuestionKind.LONG_TEXT:
        return forms.CharField(max_length=2000, widget=forms.Textarea(attrs={"rows": 3}), **common)
    if question.kind == QuestionKind.YES_NO:
        return forms.ChoiceField(
            choices=[("yes", _("Yes")), ("no", _("No"))], widget=forms.RadioSelect, **common
        )
    if question.kind == QuestionKind.CHOICE:
        return forms.ChoiceField(
            choices=[(c, c) for c in question.choice_list()], widget=forms.RadioSelect, **common
        )
    return forms.CharField(max_length=300, **common)


class CancelForm(PortalForm):
    reason = forms.CharField(
        label=_("Why are you cancelling?"),
        required=False,
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class FindBookingForm(PortalForm):
    reference = forms.CharField(
        label=_("Booking reference"),
        max_length=12,
        help_text=_("It starts with BK-, for example BK-7Q4M-2X."),
    )
    contact = forms.CharField(label=_("Email address or mobile number you booked with"), max_length=254)

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"].strip().upper()
        if not REFERENCE.match(reference):
            raise forms.ValidationError(
                _("Enter the reference as it appears in your confirmation, like BK-7Q4M-2X.")
            )
        return reference


class CodeForm(PortalForm):
    code = forms.CharField(
        label=_("Code"),
        max_length=6,
        min_length=6,
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "one-time-code"}),
        validators=[RegexValidator(r"^[0-9]{6}$", _("Enter the 6 digits of the code."))],
    )
