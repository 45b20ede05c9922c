"""Road travel times from an OSRM server, for `scheduling.locations.travel_matrix()`.

`OsrmMatrix` asks OSRM's table service (`/table/v1/{profile}/{lon,lat;...}`) for durations and distances.
`scheduling.locations.travel_table` already splits large tables into TRAVEL_MATRIX_BATCH points a side
(OSRM's `--max-table-size` defaults to 100) and caches each source's row, so one call here is one request.

Valhalla answers the same question at `/sources_to_targets` (a POST of `{"sources": [{"lat", "lon"}],
"targets": [...], "costing": "auto"}`, answering `sources_to_targets[s][t]` with `time` in seconds and
`distance` in kilometres); a `ValhallaMatrix` with the same `table` method would plug in the same way.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

import requests
from django.conf import settings

from scheduling.routing.matrix import UNREACHABLE_METRES, UNREACHABLE_SECONDS, TravelMatrixUnavailable
from scheduling.routing.problem import Point

logger = logging.getLogger(__name__)


class OsrmMatrix:
    """`url` defaults to TRAVEL_MATRIX_URL (the server's root, e.g. http://osrm.internal:5000); `profile`
    is the routing profile the server was built with. Pairs no road joins come back as
    UNREACHABLE_SECONDS / UNREACHABLE_METRES with a warning; a failed request raises
    `TravelMatrixUnavailable`."""

    def __init__(self, url: str = "", profile: str = "driving") -> None:
        self.url = url
        self.profile = profile

    def table(
        self, sources: Sequence[Point], destinations: Sequence[Point]
    ) -> tuple[list[list[int]], list[list[int]]]:
        if not sources or not destinations:
            return [[] for _ in sources], [[] for _ in sources]
        base = (self.url or settings.TRAVEL_MATRIX_URL).rstrip("/")
        if not base:
            raise TravelMatrixUnavailable("TRAVEL_MATRIX_URL is not set")
        # Each distinct point is sent once; sources and destinations name it by index.
        points = list(dict.fromkeys([*sources, *destinations]))
        index = {p: i for i, p in enumerate(points)}
        coordinates = ";".join(f"{p.longitude:.6f},{p.latitude:.6f}" for p in points)
        url = f"{base}/table/v1/{self.profile}/{coordinates}"
        params = {
            "sources": ";".join(str(index[p]) for p in sources),
            "destinations": ";".join(str(index[p]) for p in destinations),
            "annotations": "duration,distance",
        }
        try:
            response = requests.get(url, params=params, timeout=settings.HTTP_SERVICE_TIMEOUT_SECONDS)
        except requests.RequestException as error:
            raise TravelMatrixUnavailable(f"travel matrix at {base} did not answer: {error}") from error
        try:
            answer = response.json()
        except ValueError:
            answer = None
        if response.status_code != 200 or not isinstance(answer, dict) or answer.get("code") != "Ok":
            what = answer.get("message") or answer.get("code") if isinstance(answer, dict) else None
            raise TravelMatrixUnavailable(
                f"travel matrix at {base} answered {response.status_code}: {what or 'not an OSRM answer'}"
            )
        shape = (len(sources), len(destinations))
        seconds = _grid(answer.get("durations"), shape, UNREACHABLE_SECONDS, base)
        metres = _grid(answer.get("distances"), shape, UNREACHABLE_METRES, base)
        unreachable = sum(row.count(UNREACHABLE_SECONDS) for row in seconds)
        if unreachable:
            logger.warning("travel matrix at %s: %d pairs have no route between them", base, unreachable)
        return seconds, metres


def _grid(rows: object, shape: tuple[int, int], missing: int, base: str) -> list[list[int]]:
    if not isinstance(rows, list) or len(rows) != shape[0]:
        raise TravelMatrixUnavailable(f"travel matrix at {base} answered a table of the wrong shape")
    grid = []
    for row in rows:
        if not isinstance(row, list) or len(row) != shape[1]:
            raise TravelMatrixUnavailable(f"travel matrix at {base} answered a table of the wrong shape")
        out = []
        for value in row:
            if value is None:
                out.append(missing)
            elif isinstance(value, (int, float)) and math.isfinite(value) and value >= 0:
                out.append(round(value))
            else:
                raise TravelMatrixUnavailable(f"travel matrix at {base} answered {value!r} in its table")
        grid.append(out)
    return grid
