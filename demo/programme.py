"""The demo inspection programme: about three dozen open visits (food hygiene inspections and health and
safety visits) due over the next three weeks, at premises the tenant's demo gazetteer places, ready for a
scheduler to allocate on /staff/allocation/. Added through `visit_create`, like a scheduler's own."""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from accounts.models import Skill, Tenant
from bookings.services.allocation_plans import visit_create
from integrations.models import GazetteerEntry
from scheduling.models import AppointmentType, Priority

VISITS = 36
# Premises kinds by appointment type (the demo's slugs), with a name to number.
KINDS = {
    "food-hygiene-inspection": [
        "Cafe",
        "Takeaway",
        "Bakery",
        "Restaurant",
        "Butcher",
        "School kitchen",
        "Pub",
    ],
    "health-and-safety-visit": ["Warehouse", "Garage", "Workshop", "Builders' yard", "Care home", "Gym"],
}
STREETS = ["High Street", "Station Road", "Mill Lane", "Church Street", "North Road", "The Green"]
# Fallback places around Northshire's towns, for a tenant whose gazetteer was not imported.
AROUND = (54.33, -1.43)


def seed_programme(tenant: Tenant, *, now: datetime | None = None) -> int:
    """Adds the demo programme to `tenant` (in its scope); returns how many visits were added."""
    now = now or timezone.now()
    today = now.astimezone(tenant.zone).date()
    rng = random.Random(f"programme-{tenant.slug}")
    types = {t.slug: t for t in AppointmentType.objects.filter(slug__in=KINDS)}
    if not types:
        return 0
    # Postcodes of the gazetteer ("NS1 4SQ, Thornby"), so that the address the visit shows finds it again.
    places = []
    for entry in GazetteerEntry.objects.order_by("key"):
        postcode, _comma, town = entry.label.partition(", ")
        if postcode == entry.key and town:
            street = STREETS[len(places) % len(STREETS)]
            places.append((f"{street}, {town} {postcode}", entry.latitude, entry.longitude))
    if not places:
        places = [
            (
                "Demo Street, Thornby",
                AROUND[0] + rng.uniform(-0.08, 0.08),
                AROUND[1] + rng.uniform(-0.12, 0.12),
            )
            for n in range(1, VISITS + 1)
        ]
    chosen = rng.sample(places, min(VISITS, len(places)))
    # A few food premises also need a health and safety check: only some food officers hold both skills.
    both = Skill.objects.filter(name="Health and safety").first()
    added = 0
    for n, (label, latitude, longitude) in enumerate(chosen, start=1):
        slug = rng.choice(sorted(types))
        kind = types[slug]
        premises = f"{rng.choice(KINDS[slug])} {n}"
        not_before = today + timedelta(days=7) if n % 11 == 0 else None
        due_by = (
            max(_due(today, rng, n), not_before + timedelta(days=5)) if not_before else _due(today, rng, n)
        )
        morning_only = n % 7 == 0
        visit_create(
            tenant=tenant,
            actor=None,
            now=now,
            premises=premises,
            address=f"{n} {label}",
            latitude=latitude,
            longitude=longitude,
            appointment_type=kind,
            skill=both if slug == "food-hygiene-inspection" and n % 9 == 0 else None,
            duration_minutes=rng.choice([45, 60, 60, 90]),
            not_before=not_before,
            due_by=due_by,
            window_start=time(9) if morning_only else None,
            window_end=time(12, 30) if morning_only else None,
            priority=Priority.URGENT
            if n <= 3
            else rng.choice([Priority.NORMAL] * 4 + [Priority.HIGH, Priority.LOW]),
            contact_name=f"Manager, {premises}",
            contact_email=f"premises{n}@{tenant.slug}.example",
        )
        added += 1
    return added


def _due(today: date, rng: random.Random, n: int) -> date:
    """A few overdue, most due within three weeks, some a little later."""
    if n <= 3:
        return today - timedelta(days=rng.randint(1, 10))
    return today + timedelta(days=rng.randint(3, 24))
