"""The demo history's customers: reused and new, with plausible names and addresses."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import datetime, timedelta

from accounts.models import Tenant
from bookings.models import (
    Customer,
)
from demo.diaries import (
    BUSINESSES,
    FIRST_NAMES,
    FOOD,
    JOINT,
    SAFETY,
    STREETS,
    SURNAMES,
    TOWNS,
    WORKPLACES,
)
from demo.places import DemoPostcodes

from .rows import _Visit


class _Customers:
    """Residents and businesses who booked: mostly new, now and then someone who booked before. Written only
    when used; created a little before their first booking."""

    def __init__(self, tenant: Tenant, rng: random.Random) -> None:
        self.tenant = tenant
        self.rng = rng
        self.towns = TOWNS.get(tenant.slug, TOWNS["northshire"])
        self.postcodes = DemoPostcodes()
        existing = list(Customer.objects.values_list("email", "phone"))
        self.emails = {e.lower() for e, _p in existing if e}
        taken = {p for _e, p in existing if p}
        numbers = [n for n in range(1000) if f"+447700900{n:03d}" not in taken]
        rng.shuffle(numbers)
        self.numbers = iter(numbers)
        self.regulars: dict[str, list[Customer]] = defaultdict(list)
        self.business: dict[int, tuple[str, str]] = {}
        self.first_booked: dict[int, datetime] = {}

    def pick(self, type_name: str, made: datetime) -> Customer:
        regulars = self.regulars[type_name]
        if regulars and self.rng.random() < 0.22:
            customer = self.rng.choice(regulars)
            if self.first_booked[id(customer)] < made:
                return customer
        customer = self._new(type_name, made)
        regulars.append(customer)
        return customer

    def _new(self, type_name: str, made: datetime) -> Customer:
        rng = self.rng
        business: tuple[str, str] | None = None
        if type_name == FOOD:
            business = rng.choice(BUSINESSES)
        elif type_name in (SAFETY, JOINT):
            business = (rng.choice(WORKPLACES), "")
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        town, outwards = rng.choice(self.towns)
        postcode = self.postcodes.pick(rng, outwards)
        line_1 = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
        if business:
            line_1 = f"{business[0]}, {line_1}"
        domain = rng.choice(["example.org", "example.com", "example.net"])
        base = f"{first}.{last}".lower().replace("'", "")
        email, n = f"{base}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}@{domain}"
        self.emails.add(email)
        number = next(self.numbers, None) if rng.random() < 0.35 else None
        customer = Customer(
            tenant=self.tenant,
            full_name=f"{first} {last}",
            email=email,
            phone=f"+447700900{number:03d}" if number is not None else "",
            address_line_1=line_1,
            town=town,
            postcode=postcode,
            contact_by_email=True,
            contact_by_sms=number is not None and rng.random() < 0.55,
            consent_given_at=made,
            accessibility_needs="" if rng.random() > 0.05 else "Uses a wheelchair: step-free access, please.",
            created_at=made - timedelta(minutes=rng.randint(0, 3)),
        )
        if business:
            self.business[id(customer)] = business
        self.first_booked[id(customer)] = made
        return customer

    def used(self, visits: list[_Visit]) -> list[Customer]:
        seen: dict[int, Customer] = {}
        for visit in visits:
            customer = visit.booking.customer
            if customer is not None and customer.pk is None:
                seen.setdefault(id(customer), customer)
        return list(seen.values())
