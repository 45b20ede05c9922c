"""Where things are, through the backends settings choose: `geocoder()` turns an address or postcode into a
point (default: the tenant's imported gazetteer, offline), `travel_table()` gives travel seconds and metres
between points (default: straight line), in batches and cached.

Backends are named by dotted path in settings (as Django's EMAIL_BACKEND), so the HTTP ones can live in
`integrations` without this layer importing it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache as memoise
from typing import Protocol

from django.conf import settings
from django.core.cache import cache
from django.utils.module_loading import import_string
from redis.exceptions import RedisError

from scheduling.routing.matrix import StraightLine, TravelMatrix
from scheduling.routing.problem import Point

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Place:
    label: str
    point: Point


class Geocoder(Protocol):
    def geocode(self, *, tenant_id: int, query: str) -> Place | None:
        """The place `query` (an address or a postcode) names in this tenant's area, or None."""
        ...


@memoise
def _backend(path: str, options: tuple[tuple[str, object], ...]) -> object:
    return import_string(path)(**dict(options))


def geocoder() -> Geocoder:
    return _backend(settings.GEOCODER, tuple(sorted(settings.GEOCODER_OPTIONS.items())))  # type: ignore[return-value]


def travel_matrix() -> TravelMatrix:
    return _backend(settings.TRAVEL_MATRIX, tuple(sorted(settings.TRAVEL_MATRIX_OPTIONS.items())))  # type: ignore[return-value]


def travel_table(points: Sequence[Point]) -> tuple[list[list[int]], list[list[int]]]:
    """Seconds and metres between every pair of `points` ([from][to]).

    The straight-line backend is cheaper than any cache and is computed directly. Any other backend (a
    service over HTTP) is asked only for the rows the cache lacks, at most TRAVEL_MATRIX_BATCH points a side
    per request, and each source's row is kept for TRAVEL_CACHE_SECONDS under the rounded coordinates.
    """
    matrix = travel_matrix()
    unique = list(dict.fromkeys(_rounded(p) for p in points))
    if isinstance(matrix, StraightLine) or not unique:
        seconds, metres = matrix.table(unique, unique)
    else:
        seconds, metres = _cached_table(matrix, unique)
    index = {p: i for i, p in enumerate(unique)}
    at = [index[_rounded(p)] for p in points]
    return [[seconds[i][j] for j in at] for i in at], [[metres[i][j] for j in at] for i in at]


def _rounded(point: Point) -> Point:
    # Six decimal places is 11 cm: finer differences are noise and would only split the cache.
    return Point(round(point.latitude, 6), round(point.longitude, 6))


def _cached_table(matrix: TravelMatrix, points: list[Point]) -> tuple[list[list[int]], list[list[int]]]:
    n = len(points)
    seconds: list[list[int]] = [[0] * n for _ in range(n)]
    metres: list[list[int]] = [[0] * n for _ in range(n)]
    keys = [f"travel:{settings.TRAVEL_MATRIX}:{p.latitude},{p.longitude}" for p in points]
    try:
        kept = cache.get_many(keys)
    except RedisError:
        logger.warning("travel cache unreachable: asking the matrix for everything", exc_info=True)
        kept = {}
    missing = set()
    for i, key in enumerate(keys):
        row = kept.get(key)
        if row is None or any(points[j] not in row for j in range(n)):
            missing.add(i)
            continue
        for j, point in enumerate(points):
            seconds[i][j], metres[i][j] = row[point]
    if missing:
        batch = max(1, settings.TRAVEL_MATRIX_BATCH)
        sources = sorted(missing)
        for s0 in range(0, len(sources), batch):
            chunk = sources[s0 : s0 + batch]
            for d0 in range(0, n, batch):
                got_s, got_m = matrix.table([points[i] for i in chunk], points[d0 : d0 + batch])
                for a, i in enumerate(chunk):
                    seconds[i][d0 : d0 + batch] = got_s[a]
                    metres[i][d0 : d0 + batch] = got_m[a]
        fresh = {}
        for i in sources:
            row = (kept.get(keys[i]) or {}) | {p: (seconds[i][j], metres[i][j]) for j, p in enumerate(points)}
            fresh[keys[i]] = row
        try:
            cache.set_many(fresh, settings.TRAVEL_CACHE_SECONDS)
        except RedisError:
            logger.warning("travel cache unreachable: not kept", exc_info=True)
    return seconds, metres
