"""Contact details as people type them, in the one form they are stored and compared in.

`ContactDetails` is what a booking was made with: whoever typed it, it belongs to that booking (a snapshot
on the row), and messages and one-time codes for the booking go only there. A customer's own record is
changed only by staff who have checked who they are speaking to.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from bookings.models import Customer

# One set of lengths for the form, the customer record and the booking, so what the form accepts always fits.
NAME_MAX_LENGTH = 200
EMAIL_MAX_LENGTH = 254
PHONE_MAX_LENGTH = 20
ADDRESS_LINE_MAX_LENGTH = 200
TOWN_MAX_LENGTH = 100
POSTCODE_MAX_LENGTH = 10
ACCESSIBILITY_NEEDS_MAX_LENGTH = 2000
ADDRESS_SEPARATOR = ", "
MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE)
MOBILE_INVALID = _("Enter a mobile number, like 07700 900 982 or +44 7700 900 982.")
MOBILE_NOT_MOBILE = _("Enter a mobile number: this number cannot receive text messages.")
# A visit's location is the address joined: two lines, town and postcode with three separators between.
LOCATION_MAX_LENGTH = (
    2 * ADDRESS_LINE_MAX_LENGTH + TOWN_MAX_LENGTH + POSTCODE_MAX_LENGTH + 3 * len(ADDRESS_SEPARATOR)
)


def _parsed(phone: str) -> phonenumbers.PhoneNumber | None:
    try:
        return phonenumbers.parse(phone, settings.PHONE_REGION)
    except phonenumbers.NumberParseException:
        return None


def normalise_phone(phone: str) -> str:
    """A phone number in E.164 (+447700900123), however it was written (national numbers are read in
    settings.PHONE_REGION); text that cannot be a number comes back as its digits, so it matches nothing."""
    number = _parsed(phone)
    if number is not None and phonenumbers.is_possible_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return "".join(ch for ch in phone if ch.isdigit() or ch == "+")


def is_drama_number(e164: str) -> bool:
    """Ofcom's mobile numbers for drama (07700 900000 to 900999): well formed, but no phone has one."""
    return e164.startswith("+447700900") and len(e164) == 13


def validate_mobile(phone: str) -> None:
    """Refuses what cannot receive a text: not a phone number, an extension, or a landline or other number
    that is not a mobile's (numbers that may be either, as in North America, are accepted)."""
    number = _parsed(phone)
    if number is None or number.extension:
        raise ValidationError(MOBILE_INVALID, code="invalid")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if settings.PHONE_ACCEPT_DRAMA_NUMBERS and is_drama_number(e164):
        return
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(MOBILE_INVALID, code="invalid")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise ValidationError(MOBILE_NOT_MOBILE, code="not_mobile")


def normalise_email(email: str) -> str:
    return email.strip().lower()


def address_join(*parts: str | None) -> str:
    return ADDRESS_SEPARATOR.join(p for p in parts if p)


@dataclass(frozen=True)
class ContactDetails:
    """Who to tell about one booking, how, and in which language, as given when it was made."""

    name: str
    email: str = ""
    phone: str = ""
    by_email: bool = True
    by_sms: bool = False
    language: str = "en-gb"
    consent: bool = False
    accessibility_needs: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "email", normalise_email(self.email))
        object.__setattr__(self, "phone", normalise_phone(self.phone))

    @classmethod
    def of_customer(cls, customer: Customer) -> ContactDetails:
        """What staff booking for a known customer use: the customer's record as it stands."""
        return cls(
            name=customer.full_name,
            email=customer.email,
            phone=customer.phone,
            by_email=customer.contact_by_email,
            by_sms=customer.contact_by_sms,
            language=customer.preferred_language,
            consent=customer.consent_given_at is not None,
            accessibility_needs=customer.accessibility_needs,
        )

    def booking_fields(self, now: datetime) -> dict[str, object]:
        """The booking's own copy of these details (what it was made with), as Booking field values."""
        return {
            "contact_name": self.name,
            "contact_email": self.email,
            "contact_phone": self.phone,
            "contact_by_email": self.by_email,
            "contact_by_sms": self.by_sms,
            "contact_language": self.language,
            "contact_consent_at": now if self.consent else None,
            "accessibility_needs": self.accessibility_needs,
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "email": self.email,
            "phone": self.phone,
            "by_email": self.by_email,
            "by_sms": self.by_sms,
            "language": self.language,
            "consent": self.consent,
            "accessibility_needs": self.accessibility_needs,
        }
