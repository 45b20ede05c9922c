"""Customers: found again by email or phone rather than duplicated."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant
from bookings.contacts import normalise_phone
from bookings.errors import BookingError
from bookings.models import Customer

# How to reach a customer on the contacts already on record, chosen afresh with each booking.
CHOSEN_EACH_TIME = {"contact_by_email", "contact_by_sms", "preferred_language"}


def customer_find_or_create(
    *,
    tenant: Tenant,
    full_name: str,
    email: str = "",
    phone: str = "",
    consent: bool = False,
    overwrite: bool = False,
    now: datetime | None = None,
    **details: Any,
) -> Customer:
    """The tenant's customer with this email (or, failing that, phone); a new one only when neither
    matches. The unique constraints make a concurrent duplicate impossible.

    An existing customer's blank fields are filled in from what was given. Only `overwrite=True` (staff
    who have checked who they are speaking to) replaces what is already on record: anyone can type an
    email address into the portal, so the portal must not rewrite someone else's details.
    """
    now = now or timezone.now()
    email, phone = email.strip().lower(), normalise_phone(phone)
    if not email and not phone:
        raise BookingError(_("Give an email address or a mobile number."))
    lookup = Q(email__iexact=email) if email else Q(phone=phone)
    customer = Customer.objects.filter(lookup).first()
    if customer is None and email and phone:
        customer = Customer.objects.filter(phone=phone, email="").first()
    if customer is None:
        try:
            with transaction.atomic():
                return Customer.objects.create(
                    tenant=tenant,
                    full_name=full_name,
                    email=email,
                    phone=phone,
                    consent_given_at=now if consent else None,
                    **details,
                )
        except IntegrityError:
            customer = Customer.objects.filter(lookup).first()
            if customer is None:
                raise
    given = {"full_name": full_name, **details}
    changed = {
        k: v
        for k, v in given.items()
        if overwrite or k in CHOSEN_EACH_TIME or getattr(customer, k) in ("", None)
    }
    if email and not customer.email:
        changed["email"] = email
    if phone and not customer.phone and not Customer.objects.filter(phone=phone).exists():
        changed["phone"] = phone
    if consent and customer.consent_given_at is None:
        changed["consent_given_at"] = now
    for name, value in changed.items():
        setattr(customer, name, value)
    customer.save(update_fields=list(changed))
    return customer
