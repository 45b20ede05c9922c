"""What a routing question and its answer are, as plain frozen data.

Times are whole seconds from an origin the caller chooses (the start of the first day planned); travel
times are seconds and distances metres, between the indices of `Problem.points`.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field

Window = tuple[int, int]  # earliest and latest start of service, seconds from the origin


@dataclass(frozen=True)
class Point:
    latitude: float
    longitude: float


@dataclass(frozen=True)
class Vehicle:
    """One officer on one working day: leaves `start` no earlier than `shift[0]`, is back at `end` by
    `shift[1]`; no service overlaps a break (travel may)."""

    key: Hashable  # e.g. (officer_id, date)
    officer: Hashable  # the same for every day of one officer (for stops pinned to an officer)
    start: int  # index into Problem.points
    end: int
    shift: Window
    breaks: tuple[Window, ...] = ()
    skills: frozenset[Hashable] = frozenset()
    capacity: int | None = None  # most `Stop.demand` a day can carry (None: no limit; the VRPTW benchmarks)


@dataclass(frozen=True)
class Stop:
    """A visit. `windows`: when service may start (any one of them). `officer` pins it to that officer's
    vehicles (a fixed appointment already in the diary); `prize` None makes it required, otherwise leaving it
    out costs `prize` (priority)."""

    key: Hashable
    point: int  # index into Problem.points
    duration: int
    windows: tuple[Window, ...]
    skills: frozenset[Hashable] = frozenset()
    officer: Hashable | None = None
    prize: int | None = None
    demand: int = 0  # against `Vehicle.capacity`


@dataclass(frozen=True)
class Problem:
    points: tuple[Point, ...]
    durations: tuple[tuple[int, ...], ...]  # seconds, [from][to]
    distances: tuple[tuple[int, ...], ...]  # metres, [from][to]
    vehicles: tuple[Vehicle, ...]
    stops: tuple[Stop, ...]
    # Weight of workload balance: 0 ignores it; higher spreads service time more evenly over officers.
    balance: float = 0.0


@dataclass(frozen=True)
class Call:
    """A stop on a route: arrive, wait if early, serve from `start` to `end`."""

    stop: Hashable
    arrival: int
    start: int
    end: int
    travel_seconds: int  # from the previous place on the route
    travel_metres: int


@dataclass(frozen=True)
class Route:
    vehicle: Hashable
    calls: tuple[Call, ...]
    departure: int  # leaves its start point
    return_at: int  # back at its end point
    distance: int  # metres, start to end
    travel: int  # seconds driving


@dataclass(frozen=True)
class Solution:
    routes: tuple[Route, ...]
    unassigned: tuple[Hashable, ...]
    feasible: bool
    seconds: float = 0.0
    distance: int = field(default=0)  # metres over every route
