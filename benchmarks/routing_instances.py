"""Seeded, realistic routing problems for the benchmarks and the tests: a working week of field visits
around a town.

Officers' bases and the visits lie within ~12.5 km of the centre (a 25 km wide area); two thirds of the
visits cluster in the town, the rest spread over the countryside. Each officer works Monday to Friday,
08:30-17:00, with lunch 12:30-13:00; every officer-day is one vehicle. A visit lasts 30-90 minutes; ~30%
must start within a time of day (morning, afternoon or a two-hour slot) on any weekday, the rest any time
in the week; ~20% need one of two skills, each held by some officers. Times are seconds from Monday 00:00.
"""

from __future__ import annotations

import math
import random

from scheduling.routing.matrix import StraightLine, TravelMatrix
from scheduling.routing.problem import Point, Problem, Stop, Vehicle

CENTRE = Point(52.2053, 0.1218)
RADIUS_METRES = 12_500
DAY = 86_400
HOUR = 3_600
SHIFT = (8 * HOUR + 1_800, 17 * HOUR)
LUNCH = (12 * HOUR + 1_800, 13 * HOUR)
TIMES_OF_DAY = (
    (9 * HOUR, 12 * HOUR),
    (13 * HOUR + 1_800, 16 * HOUR),
    (10 * HOUR, 12 * HOUR),
    (14 * HOUR, 16 * HOUR),
)
SKILLS = ("interpreter", "electrical")


def routing_instance(
    *,
    visits: int,
    officers: int,
    seed: int,
    days: int = 5,
    balance: float = 0.0,
    matrix: TravelMatrix | None = None,
) -> Problem:
    rng = random.Random(seed)
    bases = [_place(rng, town=rng.random() < 0.5) for _ in range(officers)]
    places = [_place(rng, town=rng.random() < 2 / 3) for _ in range(visits)]
    points = tuple(bases + places)
    seconds, metres = (matrix or StraightLine()).table(points, points)

    holders = [frozenset(s for s in SKILLS if rng.random() < 0.4) for _ in range(officers)]
    for n, skill in enumerate(SKILLS):  # each skill held by someone
        if officers and not any(skill in h for h in holders):
            holders[n % officers] = holders[n % officers] | {skill}
    vehicles = tuple(
        Vehicle(
            key=(o, d),
            officer=o,
            start=o,
            end=o,
            shift=(d * DAY + SHIFT[0], d * DAY + SHIFT[1]),
            breaks=((d * DAY + LUNCH[0], d * DAY + LUNCH[1]),),
            skills=holders[o],
        )
        for o in range(officers)
        for d in range(days)
    )
    week = ((SHIFT[0], (days - 1) * DAY + SHIFT[1]),)
    stops = []
    for n in range(visits):
        if rng.random() < 0.3:
            lo, hi = rng.choice(TIMES_OF_DAY)
            windows = tuple((d * DAY + lo, d * DAY + hi) for d in range(days))
        else:
            windows = week
        skills = frozenset({rng.choice(SKILLS)}) if rng.random() < 0.2 else frozenset()
        stops.append(
            Stop(
                key=n,
                point=officers + n,
                duration=rng.randrange(30, 95, 5) * 60,
                windows=windows,
                skills=skills,
            )
        )
    return Problem(
        points=points,
        durations=tuple(tuple(r) for r in seconds),
        distances=tuple(tuple(r) for r in metres),
        vehicles=vehicles,
        stops=tuple(stops),
        balance=balance,
    )


def _place(rng: random.Random, *, town: bool) -> Point:
    """A point in the town (a 3 km spread around the centre) or anywhere in the area."""
    r = min(RADIUS_METRES, abs(rng.gauss(0, 3000))) if town else RADIUS_METRES * math.sqrt(rng.random())
    bearing = rng.uniform(0, 2 * math.pi)
    north, east = r * math.cos(bearing), r * math.sin(bearing)
    return Point(
        CENTRE.latitude + north / 111_195,
        CENTRE.longitude + east / (111_195 * math.cos(math.radians(CENTRE.latitude))),
    )
