"""The nearest-free-officer baseline the solver is measured against: what a dispatcher does by hand.

Stops are taken in order of their earliest window (then required before optional, then higher prize); each
goes to the vehicle whose current position is nearest among those that can still fit it at the end of
their day so far: the skills and pin allow it, a start is free in one of its windows with no service over a
break, and the officer is still back at their end point by the end of the shift. Nothing is reordered
afterwards; a stop no vehicle can fit stays unassigned.
"""

from __future__ import annotations

import time

from .problem import Problem, Solution
from .solver import can_serve, earliest_start, service_starts, solution_from_calls


def greedy(problem: Problem) -> Solution:
    began = time.perf_counter()
    stops, vehicles = problem.stops, problem.vehicles
    here = [v.start for v in vehicles]
    free_at = [v.shift[0] for v in vehicles]
    load = [0] * len(vehicles)
    calls: list[list[tuple[int, int]]] = [[] for _ in vehicles]
    order = sorted(
        range(len(stops)),
        key=lambda k: (
            min((w[0] for w in stops[k].windows), default=0),
            stops[k].prize is not None,
            -(stops[k].prize or 0),
        ),
    )
    for k in order:
        stop = stops[k]
        best: tuple[int, int, int, int] | None = None  # metres, start, vehicle, start
        for i, vehicle in enumerate(vehicles):
            if not can_serve(vehicle, stop):
                continue
            if vehicle.capacity is not None and load[i] + stop.demand > vehicle.capacity:
                continue
            start = earliest_start(
                service_starts(stop, vehicle), free_at[i] + problem.durations[here[i]][stop.point]
            )
            if start is None:
                continue
            if start + stop.duration + problem.durations[stop.point][vehicle.end] > vehicle.shift[1]:
                continue
            candidate = (problem.distances[here[i]][stop.point], start, i, start)
            if best is None or candidate < best:
                best = candidate
        if best is None:
            continue
        _, _, i, start = best
        calls[i].append((k, start))
        here[i], free_at[i], load[i] = stop.point, start + stop.duration, load[i] + stop.demand
    routes = [(i, c) for i, c in enumerate(calls) if c]
    return solution_from_calls(problem, routes, dropped=False, began=began)
