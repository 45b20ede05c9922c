"""Finding a customer from what a caller says: a name, an email, a phone number, a booking or case reference,
or a postcode.

Each kind of query is answered by an index, so a search stays fast on 100,000 customers: booking references
and phone numbers are exact lookups (the unique indexes), case references an exact match on the booking's
`upper(case_reference)` index, and text a trigram match (`gin_trgm_ops` on `upper(full_name)`,
`upper(email)`, `upper(postcode)`, migration bookings 0005). The annotations below are written as those very
expressions so that PostgreSQL can use the indexes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db.models import Q, QuerySet
from django.db.models.functions import Upper

from bookings.contacts import normalise_phone
from bookings.models import Booking, Customer

# Shorter queries match too much to be useful (and a trigram needs three characters).
MIN_QUERY_LENGTH = 3
PAGE_SIZE = 20
BOOKING_REFERENCE = re.compile(r"^BK-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}$")
PHONE_LIKE = re.compile(r"^\+?[0-9 ()-]+$")
PHONE_MIN_DIGITS = 7


@dataclass(frozen=True)
class CustomerQuery:
    """What the person typed, and which kind of search it asks for."""

    text: str
    kind: str  # "reference", "phone" or "text"

    @classmethod
    def parse(cls, raw: str) -> CustomerQuery:
        text = " ".join(raw.split())
        upper = text.upper()
        if BOOKING_REFERENCE.match(upper):
            return cls(upper, "reference")
        digits = sum(ch.isdigit() for ch in text)
        if PHONE_LIKE.match(text) and digits >= PHONE_MIN_DIGITS:
            return cls(normalise_phone(text), "phone")
        return cls(text, "text")


def customers_matching(query: CustomerQuery) -> QuerySet[Customer]:
    """The active tenant's customers the query names, best matches first. One query to evaluate (two for
    text: the case reference is looked up first, by its own index)."""
    customers = Customer.objects.all()
    if query.kind == "reference":
        return customers.filter(
            pk__in=Booking.objects.filter(reference=query.text).values("customer_id")
        ).order_by("full_name", "pk")
    if query.kind == "phone":
        return customers.filter(phone=query.text).order_by("full_name", "pk")
    needle = query.text.upper()
    of_case = list(
        Booking.objects.annotate(case_upper=Upper("case_reference"))
        .filter(case_upper=needle, customer__isnull=False)
        .exclude(case_reference="")
        .values_list("customer_id", flat=True)
        .distinct()[:200]
    )
    text = customers_by_text(needle)
    if of_case:
        text = text | customers.annotate(
            name_upper=Upper("full_name"), email_upper=Upper("email"), postcode_upper=Upper("postcode")
        ).filter(pk__in=of_case)
    return text.order_by("full_name", "pk")


def customers_by_text(needle: str) -> QuerySet[Customer]:
    """Customers whose name, email or postcode contains the (upper-cased) text, or whose name is like it
    (trigram similarity, for misspelt names): each condition is one of the trigram indexes."""
    return Customer.objects.annotate(
        name_upper=Upper("full_name"), email_upper=Upper("email"), postcode_upper=Upper("postcode")
    ).filter(
        Q(name_upper__contains=needle)
        | Q(name_upper__trigram_similar=needle)
        | Q(email_upper__contains=needle)
        | Q(postcode_upper__contains=needle)
    )


def customers_in_area(text: str) -> list[int]:
    """Customers whose postcode starts with the text (a district such as NE1: "NE1 " so that NE10 is not
    in it) or whose town is the text, by postcode. The postcode is matched as the trigram index has it."""
    needle = " ".join(text.split()).upper()
    district = f"{needle} " if " " not in needle else needle
    return list(
        Customer.objects.annotate(postcode_upper=Upper("postcode"))
        .filter(
            Q(postcode_upper__startswith=district) | Q(postcode_upper=needle) | Q(town__iexact=text.strip())
        )
        .order_by("postcode", "pk")
        .values_list("pk", flat=True)
    )
