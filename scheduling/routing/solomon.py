"""Solomon's VRPTW instances (the literature's benchmark for routing with time windows) as `Problem`s.

The text format: the instance name; a VEHICLE section (NUMBER, CAPACITY); a CUSTOMER table (CUST NO.,
XCOORD., YCOORD., DEMAND, READY TIME, DUE DATE, SERVICE TIME) whose row 0 is the depot. Distances and
travel times are the unrounded Euclidean distances between the coordinates; the depot's due date ends
every route. `Problem` holds integers, so coordinates' distances and all times are scaled by `SCALE`
(distances rounded, travel times rounded up so that a schedule feasible when scaled is feasible unscaled);
`euclidean_distance` measures a solution again in the instance's own units, unrounded.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from .problem import Point, Problem, Solution, Stop, Vehicle

SCALE = 1000


@dataclass(frozen=True)
class Customer:
    number: int
    x: float
    y: float
    demand: int
    ready: float
    due: float
    service: float


@dataclass(frozen=True)
class SolomonInstance:
    name: str
    vehicles: int
    capacity: int
    depot: Customer
    customers: tuple[Customer, ...]


def read_solomon(text: str) -> SolomonInstance:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise ValueError("empty instance")
    name = lines[0]
    try:
        at = next(i for i, line in enumerate(lines) if line.upper().startswith("NUMBER"))
        vehicles, capacity = (int(float(v)) for v in lines[at + 1].split()[:2])
        header = next(i for i, line in enumerate(lines) if line.upper().startswith("CUST NO"))
    except (StopIteration, ValueError, IndexError) as error:
        raise ValueError("not a Solomon instance: no VEHICLE or CUSTOMER section") from error
    rows = []
    for line in lines[header + 1 :]:
        fields = line.split()
        if len(fields) != 7:
            raise ValueError(f"a customer row needs 7 numbers: {line!r}")
        no, x, y, demand, ready, due, service = (float(f) for f in fields)
        rows.append(Customer(int(no), x, y, int(demand), ready, due, service))
    if not rows or rows[0].number != 0:
        raise ValueError("the first customer row must be the depot, number 0")
    return SolomonInstance(name, vehicles, capacity, rows[0], tuple(rows[1:]))


def solomon_problem(instance: SolomonInstance) -> Problem:
    """Stops keyed by customer number, all required; `instance.vehicles` identical vehicles at the depot."""
    places = (instance.depot, *instance.customers)
    # Point is latitude/longitude elsewhere; here it just carries the plane's y and x for PyVRP's plots.
    points = tuple(Point(c.y, c.x) for c in places)
    lengths = [[math.hypot(a.x - b.x, a.y - b.y) for b in places] for a in places]
    distances = tuple(tuple(round(d * SCALE) for d in row) for row in lengths)
    durations = tuple(tuple(math.ceil(d * SCALE - 1e-6) for d in row) for row in lengths)
    horizon = (round(instance.depot.ready * SCALE), round(instance.depot.due * SCALE))
    vehicles = tuple(
        Vehicle(key=n, officer=None, start=0, end=0, shift=horizon, capacity=instance.capacity)
        for n in range(instance.vehicles)
    )
    stops = tuple(
        Stop(
            key=c.number,
            point=n,
            duration=round(c.service * SCALE),
            windows=((round(c.ready * SCALE), round(c.due * SCALE)),),
            demand=c.demand,
        )
        for n, c in enumerate(instance.customers, start=1)
    )
    return Problem(points=points, durations=durations, distances=distances, vehicles=vehicles, stops=stops)


def euclidean_distance(instance: SolomonInstance, solution: Solution) -> float:
    """Total unrounded Euclidean length of the solution's routes, depot to depot."""
    where = {c.number: c for c in instance.customers}
    total = 0.0
    for route in solution.routes:
        path = [instance.depot, *(where[call.stop] for call in route.calls), instance.depot]
        total += sum(math.hypot(a.x - b.x, a.y - b.y) for a, b in itertools.pairwise(path))
    return total
