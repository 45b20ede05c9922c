"""Travel times and distances between points. `StraightLine` is the default and needs nothing: the
great-circle distance times a road factor, driven at an average speed. Other backends (an OSRM- or
Valhalla-style service) answer the same `TravelMatrix` protocol; settings choose one (`TRAVEL_MATRIX`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from .problem import Point

EARTH_RADIUS_METRES = 6_371_008.8
# What a backend answers for a pair no road joins (an island, a closed network): far longer than any working
# day, so a solver never plans that leg, yet small enough to add up without overflow.
UNREACHABLE_SECONDS = 10 * 24 * 3600
UNREACHABLE_METRES = 10_000_000


class TravelMatrixUnavailable(Exception):
    """The travel service could not answer (unreachable, an error status, an answer of the wrong shape).
    Callers catch it to fall back (e.g. to `StraightLine`) or to tell the user to try again later."""


class TravelMatrix(Protocol):
    def table(
        self, sources: Sequence[Point], destinations: Sequence[Point]
    ) -> tuple[list[list[int]], list[list[int]]]:
        """Travel seconds and metres from each source to each destination: ([s][d], [s][d])."""
        ...


def great_circle_metres(a: Point, b: Point) -> float:
    """Haversine distance over the mean Earth radius."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat = lat2 - lat1
    dlon = math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_METRES * math.asin(min(1.0, math.sqrt(h)))


@dataclass(frozen=True)
class StraightLine:
    """Roads are `road_factor` times longer than the straight line and driven at `speed_kmh` on average."""

    road_factor: float = 1.3
    speed_kmh: float = 40.0

    def table(
        self, sources: Sequence[Point], destinations: Sequence[Point]
    ) -> tuple[list[list[int]], list[list[int]]]:
        metres_per_second = self.speed_kmh * 1000 / 3600
        seconds, metres = [], []
        for a in sources:
            road = [great_circle_metres(a, b) * self.road_factor for b in destinations]
            metres.append([round(m) for m in road])
            seconds.append([round(m / metres_per_second) for m in road])
        return seconds, metres
