"""Customers: found again by email or phone rather than duplicated; changed only by staff, with an audit.

Anyone can type anyone's email address or mobile number into the portal, so the portal may find a
customer or create a new one, but never changes one: not a contact, a preference, a name or a blank. What a
booking was made with is kept on the booking (see `bookings.contacts.ContactDetails`). Staff who have
checked who they are speaking to change a record with `customer_update` or `customer_merge`; each writes a
CustomerEvent in the same transaction.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Tenant, User
from accounts.tenancy import TenantMismatch, same_tenant_check
from bookings.contacts import normalise_email, normalise_phone
from bookings.errors import BookingError, ContactRefused
from bookings.models import Booking, Customer, CustomerEvent

# What staff may change on a customer's record (everything a person would recognise as theirs).
EDITABLE = (
    "full_name",
    "email",
    "phone",
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "contact_by_email",
    "contact_by_sms",
    "consent_given_at",
    "preferred_language",
    "accessibility_needs",
)
# What a new customer may be created with, besides name, email and phone.
CREATION_DETAILS = {
    "address_line_1",
    "address_line_2",
    "town",
    "postcode",
    "contact_by_email",
    "contact_by_sms",
    "preferred_language",
    "accessibility_needs",
}


def customer_find_or_create(
    *,
    tenant: Tenant,
    full_name: str,
    email: str = "",
    phone: str = "",
    consent: bool = False,
    now: datetime | None = None,
    **details: Any,
) -> Customer:
    """The tenant's customer with this email (or, when no email is given, this mobile number); a new
    customer only when none matches. An existing customer is returned exactly as stored.

    A new customer gets the mobile number only if no other customer has it (two people may share a
    phone; the number is kept on the booking either way), so a new email with someone else's number books
    cleanly. The unique constraints make a concurrent duplicate impossible.
    """
    now = now or timezone.now()
    same_tenant_check(tenant)
    email, phone = normalise_email(email), normalise_phone(phone)
    if not email and not phone:
        raise BookingError(_("Give an email address or a mobile number."))
    unknown = set(details) - CREATION_DETAILS
    if unknown:
        raise TypeError(f"Unknown customer details: {sorted(unknown)}")
    lookup = Q(email__iexact=email) if email else Q(phone=phone)
    for _attempt in range(3):
        if found := Customer.objects.filter(lookup).order_by("pk").first():
            return found
        phone_free = bool(phone) and not Customer.objects.filter(phone=phone).exists()
        try:
            with transaction.atomic():
                return Customer.objects.create(
                    tenant=tenant,
                    full_name=full_name,
                    email=email,
                    phone=phone if phone_free or not email else "",
                    consent_given_at=now if consent else None,
                    created_at=now,
                    **details,
                )
        except IntegrityError:
            # Someone created this customer (or took this number) meanwhile: look again.
            continue
    raise BookingError(_("We could not save your details. Try again."))


@transaction.atomic
def customer_create(
    *, tenant: Tenant, actor: User | None, now: datetime | None = None, **fields: Any
) -> Customer:
    """A customer added by staff, audited. Refuses, in words, contact details another customer has."""
    now = now or timezone.now()
    same_tenant_check(tenant)
    fields = _normalised(fields)
    customer = Customer(tenant=tenant, created_at=now, **fields)
    _contacts_check(customer, others=Customer.objects.all())
    customer.save()
    CustomerEvent.objects.create(
        tenant=tenant,
        customer=customer,
        actor=actor,
        action="created",
        after=_record(customer),
        created_at=now,
    )
    return customer


@transaction.atomic
def customer_update(
    *,
    customer: Customer,
    actor: User | None,
    now: datetime | None = None,
    reason: str = "",
    **changes: Any,
) -> Customer:
    """Staff change a customer's record (after checking who they are speaking to), audited with before and
    after. Existing bookings keep the contact details they were made with; new ones use the new record."""
    now = now or timezone.now()
    same_tenant_check(customer)
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"Customers have no editable {sorted(unknown)}")
    locked = Customer.objects.select_for_update().get(pk=customer.pk)
    changes = _normalised(changes)
    changed = {name: value for name, value in changes.items() if getattr(locked, name) != value}
    if not changed:
        return locked
    before = _record(locked, changed)
    for name, value in changed.items():
        setattr(locked, name, value)
    _contacts_check(locked, others=Customer.objects.exclude(pk=locked.pk))
    locked.save(update_fields=list(changed))
    CustomerEvent.objects.create(
        tenant_id=locked.tenant_id,
        customer=locked,
        actor=actor,
        action="updated",
        before=before,
        after=_record(locked, changed),
        reason=reason[:500],
        created_at=now,
    )
    return locked


@transaction.atomic
def customer_merge(
    *,
    source: Customer,
    target: Customer,
    actor: User | None,
    now: datetime | None = None,
    reason: str = "",
) -> Customer:
    """Folds `source` into `target` (staff have found two records of one person): every booking of the
    source moves to the target, the target's blanks are filled from the source, and the source is deleted.
    Refused across tenants. Bookings keep the contact details they were made with.
    """
    now = now or timezone.now()
    if source.tenant_id != target.tenant_id:
        raise TenantMismatch("Customers of different tenants cannot be merged.")
    same_tenant_check(source, target)
    if source.pk == target.pk:
        raise BookingError(_("A customer cannot be merged into themselves."))
    first, second = sorted([source.pk, target.pk])
    locked = {
        c.pk: c for c in Customer.objects.select_for_update().filter(pk__in=[first, second]).order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    before = {"target": _record(target), "source": {"id": source.pk, **_record(source)}}
    moved = Booking.objects.filter(customer=source).update(customer=target, updated_at=now)
    filled = {
        name: getattr(source, name)
        for name in EDITABLE
        if getattr(target, name) in ("", None) and getattr(source, name) not in ("", None)
    }
    source.delete()
    for name, value in filled.items():
        setattr(target, name, value)
    if filled:
        target.save(update_fields=list(filled))
    CustomerEvent.objects.create(
        tenant_id=target.tenant_id,
        customer=target,
        actor=actor,
        action="merged",
        before=before,
        after={**_record(target), "bookings_moved": moved},
        reason=reason[:500],
        created_at=now,
    )
    return target


def _normalised(fields: dict[str, Any]) -> dict[str, Any]:
    fields = dict(fields)
    if "email" in fields:
        fields["email"] = normalise_email(fields["email"] or "")
    if "phone" in fields:
        fields["phone"] = normalise_phone(fields["phone"] or "")
    return fields


def _contacts_check(customer: Customer, *, others: Any) -> None:
    """The friendly words for what the constraints would refuse."""
    if not customer.email and not customer.phone:
        raise ContactRefused(_("Give an email address or a mobile number."), field="email")
    if customer.email and others.filter(email__iexact=customer.email).exists():
        raise ContactRefused(_("Another customer already has this email address."), field="email")
    if customer.phone and others.filter(phone=customer.phone).exists():
        raise ContactRefused(_("Another customer already has this mobile number."), field="phone")


def _record(customer: Customer, names: Any = EDITABLE) -> dict[str, Any]:
    """A customer's fields as JSON for the audit trail."""
    record = {}
    for name in names:
        value = getattr(customer, name)
        record[name] = value.isoformat() if isinstance(value, datetime) else value
    return record
