"""One-time codes that let a customer find their booking without the link."""

from __future__ import annotations

from django.utils.translation import gettext as _

from bookings.contacts import normalise_phone
from bookings.models import Booking
from bookings.tokens import one_time_code_issue
from notifications.channels import send_email, send_sms


def access_code_send(*, reference: str, contact: str) -> bool:
    """Sends a one-time code to the email or mobile the booking was made with, if they match.

    Returns whether a code was sent; callers must not tell the person, so a reference cannot be probed.
    """
    booking = Booking.objects.select_related("customer").filter(reference=reference).first()
    customer = booking.customer if booking else None
    if customer is None:
        return False
    contact = contact.strip()
    by_email = bool(customer.email) and contact.lower() == customer.email.lower()
    by_phone = bool(customer.phone) and normalise_phone(contact) == customer.phone
    if not (by_email or by_phone):
        return False
    code = one_time_code_issue(tenant_id=booking.tenant_id, reference=reference)
    text = _("Your code to manage booking %(reference)s is %(code)s. It works for 10 minutes.") % {
        "reference": reference,
        "code": code,
    }
    if by_email:
        send_email(
            to=customer.email,
            subject=_("Your code for booking %(reference)s") % {"reference": reference},
            body=text,
        )
    else:
        send_sms(to=customer.phone, body=text)
    return True
