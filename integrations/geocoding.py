"""Geocoders for `scheduling.locations.geocoder()`: the tenant's own gazetteer (the default, offline) and a
Nominatim-style search service over HTTP.

A gazetteer key is the normalised form of a postcode or an address (`normalise_key`), so "NS1 2AB",
"ns12ab" and "NS1  2AB." are one key. A query that is a whole address ending in a postcode the gazetteer
knows is placed at that postcode when the address itself is not listed.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata

import requests
from django.conf import settings
from django_scopes import scope

from scheduling.locations import Place
from scheduling.routing.problem import Point

from .models import GazetteerEntry

logger = logging.getLogger(__name__)

# A UK postcode at the end of an address: outward code (area, district, optional letter) and inward code.
TRAILING_POSTCODE = re.compile(r"([A-Z]{1,2}[0-9][A-Z0-9]?)\s*([0-9][A-Z]{2})\W*$", re.IGNORECASE)


def normalise_key(text: str) -> str:
    """The gazetteer key for a postcode or an address: letters and digits only, lower case, accents
    dropped; spaces and punctuation do not count."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed.casefold() if c.isalnum() and not unicodedata.combining(c))


def trailing_postcode(text: str) -> str | None:
    """The postcode an address ends with ("NS1 2AB"), or None."""
    match = TRAILING_POSTCODE.search(text.strip())
    return f"{match.group(1).upper()} {match.group(2).upper()}" if match else None


class GazetteerGeocoder:
    """Looks the query up in the tenant's gazetteer: the exact key first, then the address's postcode."""

    def geocode(self, *, tenant_id: int, query: str) -> Place | None:
        key = normalise_key(query)
        if not key:
            return None
        postcode = trailing_postcode(query)
        keys = [key] + ([normalise_key(postcode)] if postcode else [])
        with scope(tenant=tenant_id):
            entries = {
                e.key: e
                for e in GazetteerEntry.objects.filter(tenant_id=tenant_id, key__in=keys).only(
                    "key", "label", "latitude", "longitude"
                )
            }
        if exact := entries.get(key):
            return Place(exact.label, Point(exact.latitude, exact.longitude))
        if postcode and (area := entries.get(keys[-1])):
            return Place(query.strip(), Point(area.latitude, area.longitude))
        return None


class HttpGeocoder:
    """Asks a Nominatim-style search service: GET {url}?q=...&format=jsonv2&limit=1.

    `url` defaults to GEOCODER_URL; `countrycodes` (e.g. "gb") narrows the search. Any failure (no answer
    in HTTP_SERVICE_TIMEOUT_SECONDS, an error status, an answer that is not the expected JSON) is logged
    and answered with None, as for a place the service does not know: the caller asks for coordinates.
    The service is shared by every tenant, so `tenant_id` does not narrow it.
    """

    def __init__(self, url: str = "", countrycodes: str = "", user_agent: str = "bookings-geocoder") -> None:
        self.url = url
        self.countrycodes = countrycodes
        self.user_agent = user_agent

    def geocode(self, *, tenant_id: int, query: str) -> Place | None:
        query = query.strip()
        url = self.url or settings.GEOCODER_URL
        if not query or not url:
            return None
        params = {"q": query, "format": "jsonv2", "limit": "1"}
        if self.countrycodes:
            params["countrycodes"] = self.countrycodes
        try:
            response = requests.get(
                url,
                params=params,
                timeout=settings.HTTP_SERVICE_TIMEOUT_SECONDS,
                headers={"User-Agent": self.user_agent, "Accept": "application/json"},
            )
            response.raise_for_status()
            found = response.json()
            if not found:
                return None
            first = found[0]
            point = Point(float(first["lat"]), float(first["lon"]))
            if not (math.isfinite(point.latitude) and math.isfinite(point.longitude)):
                raise ValueError("coordinates are not finite")
            if not (-90 <= point.latitude <= 90 and -180 <= point.longitude <= 180):
                raise ValueError("coordinates out of range")
            return Place(str(first.get("display_name") or query)[:300], point)
        except (requests.RequestException, ValueError, KeyError, IndexError, TypeError) as error:
            logger.warning("geocoder at %s failed for a query: %s", url, error)
            return None
