"""One-time codes that let a customer find their booking without the link."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone
from django.utils.translation import gettext as _

from bookings.contacts import normalise_email, normalise_phone
from bookings.errors import CodeNotSent
from bookings.models import Booking
from bookings.tokens import one_time_code_new, one_time_code_store
from notifications.channels import DeliveryFailed, send_email, send_sms


def access_code_send(*, reference: str, contact: str, now: datetime | None = None) -> bool:
    """Sends a one-time code to the email or mobile this booking was made with, if `contact` is one of them.

    Only the booking's own contact details count, never its customer's record as it is now, so details
    someone else typed into a later booking can never receive a code for this one. Returns whether a code
    was sent; callers must not tell the person, so a reference cannot be probed. When the mail or SMS
    provider fails, raises CodeNotSent and stores no code (any earlier code still works).
    """
    now = now or timezone.now()
    booking = Booking.objects.filter(reference=reference, customer__isnull=False).first()
    if booking is None:
        return False
    by_email = bool(booking.contact_email) and normalise_email(contact) == booking.contact_email
    by_phone = bool(booking.contact_phone) and normalise_phone(contact) == booking.contact_phone
    if not (by_email or by_phone):
        return False
    code = one_time_code_new()
    text = _("Your code to manage booking %(reference)s is %(code)s. It works for 10 minutes.") % {
        "reference": reference,
        "code": code,
    }
    try:
        if by_email:
            send_email(
                to=booking.contact_email,
                subject=_("Your code for booking %(reference)s") % {"reference": reference},
                body=text,
            )
        else:
            send_sms(to=booking.contact_phone, body=text)
    except DeliveryFailed as error:
        raise CodeNotSent(
            _("We could not send the code. Nothing has changed: try again in a few minutes.")
        ) from error
    # Stored only once sent, so a failed send leaves everything as it was.
    one_time_code_store(tenant_id=booking.tenant_id, reference=reference, code=code, now=now)
    return True
