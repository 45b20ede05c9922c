"""Where the demo happens: each demo tenant's fictional gazetteer (`demo/data/<slug>_gazetteer.csv`: about
230 postcodes and streets in six towns over some 20 km), imported through the same service as an
administrator's upload, and the postcodes the demo customers live at, drawn from it.

The towns and coordinates are invented (Northshire's lie around 54.33,-1.43, Southvale's around 52.0,-3.1);
the default geocoder places every demo address, so travel-aware slots and routes work without set-up.
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from pathlib import Path

from accounts.models import Tenant
from integrations.geocoding import GazetteerGeocoder
from integrations.models import GazetteerEntry
from integrations.services import gazetteer_import
from scheduling.locations import Place
from scheduling.routing.problem import Point

DATA = Path(__file__).resolve().parent / "data"
POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?) ([0-9][A-Z]{2})$")
OFFICE = "Council Offices"


def seed_gazetteer(tenant: Tenant) -> int:
    """Imports the tenant's demo gazetteer, if there is one for its slug; returns how many places."""
    path = DATA / f"{tenant.slug}_gazetteer.csv"
    if not path.exists():
        return 0
    with path.open("rb") as csv_file:
        return gazetteer_import(tenant=tenant, file=csv_file, actor=None).rows


def place_of(tenant: Tenant, query: str) -> Place | None:
    """The gazetteer's place for a demo label, offline whatever GEOCODER the settings name."""
    return GazetteerGeocoder().geocode(tenant_id=tenant.pk, query=query)


class DemoPostcodes:
    """The tenant's gazetteer postcodes by outward code ("NS3"), to give demo customers real-looking
    addresses that the geocoder finds. A tenant without a gazetteer gets made-up inward codes (no point)."""

    LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # the letters an inward code may end with

    def __init__(self) -> None:
        self.by_outward: dict[str, list[str]] = defaultdict(list)
        self.points: dict[str, Point] = {}
        for key, latitude, longitude in GazetteerEntry.objects.order_by("key").values_list(
            "key", "latitude", "longitude"
        ):
            if match := POSTCODE.match(key.upper()[:-3] + " " + key.upper()[-3:]):
                postcode = f"{match.group(1)} {match.group(2)}"
                self.by_outward[match.group(1)].append(postcode)
                self.points[postcode] = Point(latitude, longitude)

    def pick(self, rng: random.Random, outwards: list[str]) -> str:
        outward = rng.choice(outwards)
        if known := self.by_outward.get(outward):
            return rng.choice(known)
        return f"{outward} {rng.randint(1, 9)}{rng.choice(self.LETTERS)}{rng.choice(self.LETTERS)}"

    def point(self, postcode: str) -> Point | None:
        return self.points.get(postcode)
