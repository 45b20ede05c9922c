"""Answers a `Problem` with PyVRP (iterated local search), then re-times and checks every route itself.

How the problem maps onto PyVRP:

- Each `Vehicle` (an officer on a day) is a vehicle type: its start and end points are depots, its shift is
  the type's time window. Vehicles that PyVRP cannot tell apart (same points, shift, capacity and allowed
  stops) share one type with `num_available` > 1.
- Each stop becomes one client per interval of start times it may have; several intervals make a mutually
  exclusive client group, so exactly one of them is served. The intervals are the stop's windows, clipped
  to the shifts of the vehicles allowed to serve it, minus every start whose service would overlap a break
  of one of those vehicles (travel may overlap a break; service may not). That is exact when officers
  working at the same time share their break times and conservative (never unsound) when they do not.
- Skills and pins (`Stop.officer`) become routing profiles: one per distinct set of stops a vehicle may
  serve, in which every edge into a stop it may not serve is prohibitively long and slow.
- Every stop is optional to PyVRP: a required stop carries a prize far above any detour, an optional one
  its `prize`, in metres of travel. So the search always ends with a schedule that keeps every window, and
  drops optional stops before required ones when not everything fits.
- Breaks make many intervals (one before and one after each break, on every day a stop may be served),
  which slows the search down a lot. So with breaks the search runs twice: first (`FIRST_PHASE` of the
  time) with each single window as one interval over the whole period and the breaks taken off each shift's
  length, which places stops on days and officers; then each route is re-timed with the breaks exact, what
  no longer fits is inserted where it adds the least distance, and the search goes on from there with each
  stop's exact intervals on the day it was given (a stop that was not placed keeps every day).
- The objective is metres driven. `Problem.balance` > 0 adds a soft day length: each vehicle's day beyond
  the mean service time per vehicle times (1 + `BALANCE_SLACK`) plus a trip out and back costs `balance`
  times the metres an average second of driving covers, per second of overtime (PyVRP's overtime cost).
- The search is PyVRP's iterated local search with two settings changed for runs of seconds, not minutes:
  a short late-acceptance history (`HISTORY`, `HISTORY_PLACING`) and neighbour lists sized by stops
  (`NEIGHBOURS_PER_STOP`).

The routes PyVRP returns are then timed again from the problem's own matrices (earliest start at each call,
leaving home as late as the first call allows) and checked: a call that could not be kept (it cannot happen
unless the model above is wrong) is dropped, listed as unassigned, and the solution is marked infeasible.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Hashable, Iterable, Sequence

import numpy as np
import pyvrp
from pyvrp.IteratedLocalSearch import IteratedLocalSearchParams
from pyvrp.PenaltyManager import PenaltyManager
from pyvrp.search import LocalSearch, NeighbourhoodParams, PerturbationManager, compute_neighbours
from pyvrp.solve import SolveParams
from pyvrp.stop import MaxRuntime

from .problem import Call, Problem, Route, Solution, Stop, Vehicle, Window

BALANCE_SLACK = 0.2
FIRST_PHASE = 0.8  # share of the search time spent placing stops before breaks are modelled exactly
# Late acceptance compares each candidate with the solution this many iterations back. PyVRP's default (300)
# suits runs of tens of thousands of iterations; ours get a few thousand in 8-10 s on a shared core (a week
# of 100 visits with breaks: about a thousand), and with 300 the search spends most of them accepting nearly
# anything. Measured: Solomon RC101, 10 s, seed 1: 1653 with 300, 1637 with 10, 1624 with 30 (R101, C101
# unchanged); bench_routing 100 visits, seeds 1-3, 8 s: 343, 431, 323 km with 300, 305-318, 393-407,
# 297-320 km with 10 in the phase that places stops on days (the noisiest part, fewest iterations).
HISTORY = 30
HISTORY_PLACING = 10
# How many other stops each client's moves look at. A stop with several start intervals is one client per
# interval (all at one place), so the neighbour lists grow with the clients per stop to reach as many places.
NEIGHBOURS_PER_STOP = 25

Interval = tuple[int, int]  # closed: the earliest and latest start of service


def can_serve(vehicle: Vehicle, stop: Stop) -> bool:
    """Skills and pins: the officer holds every skill the stop needs, and is the one it is pinned to."""
    return stop.skills <= vehicle.skills and (stop.officer is None or stop.officer == vehicle.officer)


def service_starts(stop: Stop, vehicle: Vehicle) -> list[Interval]:
    """When `vehicle` may start serving `stop`: in a window, inside the shift, no service over a break."""
    clipped = _clip(stop.windows, vehicle.shift[0], vehicle.shift[1] - stop.duration)
    return _without_breaks(clipped, vehicle.breaks, stop.duration)


def earliest_start(intervals: Sequence[Interval], arrival: int) -> int | None:
    for lo, hi in intervals:
        if arrival <= hi:
            return max(arrival, lo)
    return None


def solve(problem: Problem, *, seconds: float, seed: int = 0) -> Solution:
    """The routes that drive the fewest metres, found within `seconds` of search."""
    began = time.perf_counter()
    vehicles, stops = problem.vehicles, problem.stops
    allowed = [frozenset(i for i, v in enumerate(vehicles) if can_serve(v, s)) for s in stops]
    exact = [_exact_windows(s, [vehicles[i] for i in allowed[k]]) for k, s in enumerate(stops)]
    relaxed = [_relaxed_windows(s, [vehicles[i] for i in allowed[k]]) for k, s in enumerate(stops)]
    if not any(v.breaks for v in vehicles):
        model = _Model(problem, allowed, relaxed)
        if model.data is None:
            return solution_from_calls(problem, [], dropped=False, began=began)
        best = _search(model, seconds=seconds, seed=seed)
        return _timed(problem, model.sequences(best), began=began)

    # Breaks: first place stops on days and officers without them (their time taken off each shift), then
    # search again with each stop's exact start intervals on the day it was given, from that answer.
    first = _Model(
        problem,
        allowed,
        [(w if len(stops[k].windows) == 1 else exact[k]) if exact[k] else [] for k, w in enumerate(relaxed)],
        breaks_off=True,
    )
    if first.data is None:
        return solution_from_calls(problem, [], dropped=False, began=began)
    budget = max(0.05, seconds * FIRST_PHASE - (time.perf_counter() - began))
    placed = first.sequences(_search(first, seconds=budget, seed=seed, history=HISTORY_PLACING))
    routes: dict[int, list[tuple[int, int]]] = {}
    for v, ks in placed:
        routes[v] = _fit(problem, v, ks, [_overlapping(exact[k], vehicles[v].shift) for k in ks])
    served = {k for calls in routes.values() for k, _ in calls}
    for k in range(len(stops)):  # what no longer fits goes where it adds the least distance
        if k not in served and exact[k]:
            _insert_cheapest(problem, routes, k, allowed[k], exact)
    day = {k: vehicles[v].shift for v, calls in routes.items() for k, _ in calls}
    windows = [_overlapping(exact[k], day[k]) if k in day else exact[k] for k in range(len(stops))]
    second = _Model(problem, allowed, windows)
    assert second.data is not None
    spent = time.perf_counter() - began
    initial = second.warm_start(list(routes.items()))
    best = _search(second, seconds=max(0.05, seconds - spent), seed=seed, initial=initial)
    return _timed(problem, second.sequences(best), began=began)


def _overlapping(intervals: list[Interval], shift: Window) -> list[Interval]:
    return [(lo, hi) for lo, hi in intervals if lo <= shift[1] and hi >= shift[0]]


def _fit(problem: Problem, v: int, ks: list[int], intervals: list[list[Interval]]) -> list[tuple[int, int]]:
    """(stop, start) for the stops `ks` in this order on vehicle `v`, each at its earliest start in its
    `intervals`; a stop that does not fit is left out, and so are the last ones if the day runs over."""
    vehicle = problem.vehicles[v]
    here, clock, load, kept, back = vehicle.start, vehicle.shift[0], 0, [], []
    for k, options in zip(ks, intervals, strict=True):
        stop = problem.stops[k]
        start = earliest_start(options, clock + problem.durations[here][stop.point])
        if start is None or (vehicle.capacity is not None and load + stop.demand > vehicle.capacity):
            continue
        kept.append((k, start))
        here, clock, load = stop.point, start + stop.duration, load + stop.demand
        back.append(clock + problem.durations[here][vehicle.end])
    while kept and back[-1] > vehicle.shift[1]:
        kept.pop()
        back.pop()
    return kept


def _insert_cheapest(
    problem: Problem,
    routes: dict[int, list[tuple[int, int]]],
    k: int,
    allowed: Iterable[int],
    exact: list[list[Interval]],
) -> bool:
    """Puts stop `k` where it adds the fewest metres and every call on that route still fits."""
    d, point = problem.distances, problem.stops[k].point
    best: tuple[int, int, list[tuple[int, int]]] | None = None
    for v in allowed:
        vehicle = problem.vehicles[v]
        ks = [j for j, _ in routes.get(v, [])]
        places = [vehicle.start, *(problem.stops[j].point for j in ks), vehicle.end]
        for at in range(len(ks) + 1):
            added = d[places[at]][point] + d[point][places[at + 1]] - d[places[at]][places[at + 1]]
            if best is not None and added >= best[0]:
                continue
            order = [*ks[:at], k, *ks[at:]]
            calls = _fit(problem, v, order, [_overlapping(exact[j], vehicle.shift) for j in order])
            if len(calls) == len(order):
                best = (added, v, calls)
    if best is None:
        return False
    routes[best[1]] = best[2]
    return True


def _search(
    model: _Model,
    *,
    seconds: float,
    seed: int,
    initial: pyvrp.Solution | None = None,
    history: int = HISTORY,
) -> pyvrp.Solution:
    """PyVRP's own `solve` with a shorter late-acceptance `history` and neighbour lists sized by stops (see
    `HISTORY` and `NEIGHBOURS_PER_STOP`), and a given starting solution first completed by an exhaustive
    local search, as PyVRP does for its random one: started from routes with stops missing, late acceptance
    would compare against their huge uncollected prizes and wander for hundreds of iterations."""
    data = model.data
    assert data is not None
    stops = len(set(model.client_stop))
    neighbours = round(NEIGHBOURS_PER_STOP * data.num_clients / stops)
    params = SolveParams(
        ils=IteratedLocalSearchParams(history_length=history),
        neighbourhood=NeighbourhoodParams(num_neighbours=max(1, neighbours)),
    )
    rng = pyvrp.RandomNumberGenerator(seed=seed)
    search = LocalSearch(
        data, rng, compute_neighbours(data, params.neighbourhood), PerturbationManager(params.perturbation)
    )
    for operator in params.operators:
        if operator.supports(data):
            search.add_operator(operator(data))
    penalties = PenaltyManager(params.penalty.midpoint_penalties(data), params.penalty)
    start = initial if initial is not None else pyvrp.Solution.make_random(data, rng)
    start = search(start, penalties.max_cost_evaluator(), exhaustive=True)
    algorithm = pyvrp.IteratedLocalSearch(data, penalties, search, start, params.ils)
    return algorithm.run(MaxRuntime(seconds), collect_stats=False).best


def violations(problem: Problem, solution: Solution) -> list[str]:
    """Everything wrong with `solution` as an answer to `problem` (empty when it keeps every rule)."""
    found: list[str] = []
    vehicles = {v.key: v for v in problem.vehicles}
    stops = {s.key: s for s in problem.stops}
    seen: set[Hashable] = set()
    total = 0
    for route in solution.routes:
        vehicle = vehicles.get(route.vehicle)
        if vehicle is None:
            found.append(f"unknown vehicle {route.vehicle!r}")
            continue
        here, clock, metres, seconds, load = vehicle.start, route.departure, 0, 0, 0
        if route.departure < vehicle.shift[0]:
            found.append(f"{route.vehicle!r} leaves before its shift")
        for call in route.calls:
            stop = stops.get(call.stop)
            if stop is None or call.stop in seen:
                found.append(f"{call.stop!r} unknown or served twice")
                continue
            seen.add(call.stop)
            load += stop.demand
            if not can_serve(vehicle, stop):
                found.append(f"{call.stop!r} needs skills or an officer {route.vehicle!r} lacks")
            leg = (problem.durations[here][stop.point], problem.distances[here][stop.point])
            if (call.travel_seconds, call.travel_metres) != leg or call.arrival != clock + leg[0]:
                found.append(f"{call.stop!r}: travel or arrival does not follow the matrix")
            if call.start < call.arrival or call.end != call.start + stop.duration:
                found.append(f"{call.stop!r}: starts before arrival or lasts the wrong time")
            if not any(lo <= call.start <= hi for lo, hi in stop.windows):
                found.append(f"{call.stop!r} starts outside its windows")
            if any(call.start < b1 and b0 < call.end for b0, b1 in vehicle.breaks):
                found.append(f"{call.stop!r} overlaps a break of {route.vehicle!r}")
            here, clock = stop.point, call.end
            metres, seconds = metres + leg[1], seconds + leg[0]
        metres += problem.distances[here][vehicle.end]
        seconds += problem.durations[here][vehicle.end]
        if (
            route.return_at != clock + problem.durations[here][vehicle.end]
            or route.return_at > vehicle.shift[1]
        ):
            found.append(f"{route.vehicle!r} is not back at its end point by the end of its shift")
        if (route.distance, route.travel) != (metres, seconds):
            found.append(f"{route.vehicle!r}: distance or travel does not add up")
        if vehicle.capacity is not None and load > vehicle.capacity:
            found.append(f"{route.vehicle!r} carries more than its capacity")
        total += route.distance
    if total != solution.distance:
        found.append("total distance does not add up")
    if set(solution.unassigned) != set(stops) - seen:
        found.append("unassigned does not list exactly the stops not served")
    return found


def _clip(windows: Iterable[Window], lo: int, hi: int) -> list[Interval]:
    return _merged((max(a, lo), min(b, hi)) for a, b in windows)


def _merged(intervals: Iterable[Interval]) -> list[Interval]:
    out: list[Interval] = []
    for lo, hi in sorted(i for i in intervals if i[0] <= i[1]):
        if out and lo <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], hi))
        else:
            out.append((lo, hi))
    return out


def _without_breaks(intervals: list[Interval], breaks: Iterable[Window], duration: int) -> list[Interval]:
    """Removes starts whose service [start, start + duration) would overlap a break [b0, b1)."""
    for b0, b1 in breaks:
        if b1 <= b0:
            continue
        lo_bad, hi_bad = b0 - duration + 1, b1 - 1  # a start in here overlaps the break
        kept: list[Interval] = []
        for lo, hi in intervals:
            if hi < lo_bad or lo > hi_bad:
                kept.append((lo, hi))
                continue
            if lo < lo_bad:
                kept.append((lo, lo_bad - 1))
            if hi > hi_bad:
                kept.append((hi_bad + 1, hi))
        intervals = kept
    return intervals


def _exact_windows(stop: Stop, vehicles: list[Vehicle]) -> list[Interval]:
    """Starts that are safe whichever allowed vehicle PyVRP picks: in some allowed vehicle's shift, and over
    no allowed vehicle's break."""
    shifts = {(v.shift, v.breaks) for v in vehicles}  # officer-days alike in time are looked at once
    starts = _merged(
        i for shift, breaks in shifts for i in service_starts(stop, Vehicle(None, None, 0, 0, shift, breaks))
    )
    return _without_breaks(starts, sorted({b for _, breaks in shifts for b in breaks}), stop.duration)


def _relaxed_windows(stop: Stop, vehicles: list[Vehicle]) -> list[Interval]:
    """Each window clipped to the working time of the allowed vehicles, breaks and nights ignored: exact when
    there are no breaks, since PyVRP keeps each route inside its own shift anyway."""
    hulls = []
    for window in stop.windows:
        inside = [i for v in vehicles for i in _clip([window], v.shift[0], v.shift[1] - stop.duration)]
        if inside:
            hulls.append((min(lo for lo, _ in inside), max(hi for _, hi in inside)))
    return _merged(hulls)


class _Model:
    """The PyVRP data for a problem, and the way back from PyVRP's routes to vehicles and stops."""

    def __init__(
        self,
        problem: Problem,
        allowed: list[frozenset[int]],
        windows: list[list[Interval]],
        *,
        breaks_off: bool = False,
    ) -> None:
        self.problem = problem
        self.data: pyvrp.ProblemData | None = None
        self.client_stop: list[int] = []  # PyVRP client index -> index into problem.stops
        self.stop_clients: dict[int, list[tuple[int, Interval]]] = defaultdict(list)
        self.type_vehicles: list[list[int]] = []  # PyVRP vehicle type -> indices into problem.vehicles
        self.vehicle_type: dict[int, int] = {}
        self.breaks_off = breaks_off
        servable = [k for k in range(len(problem.stops)) if windows[k]]
        if not servable or not problem.vehicles:
            return
        self._build(allowed, windows, servable)

    def _build(
        self, allowed: list[frozenset[int]], windows: list[list[Interval]], servable: list[int]
    ) -> None:
        problem, vehicles, stops = self.problem, self.problem.vehicles, self.problem.stops
        durations = np.asarray(problem.durations, dtype=np.int64)
        distances = np.asarray(problem.distances, dtype=np.int64)

        # Locations: one per depot point, then one per (point, set of allowed vehicles) of the stops.
        depot_of: dict[int, int] = {}
        for v in vehicles:
            for p in (v.start, v.end):
                depot_of.setdefault(p, len(depot_of))
        loc_point = list(depot_of)
        classes = sorted({allowed[k] for k in servable}, key=sorted)
        class_id = {c: i for i, c in enumerate(classes)}
        loc_of: dict[tuple[int, int], int] = {}
        loc_class: list[int | None] = [None] * len(loc_point)
        for k in servable:
            key = (stops[k].point, class_id[allowed[k]])
            if key not in loc_of:
                loc_of[key] = len(loc_point)
                loc_point.append(stops[k].point)
                loc_class.append(key[1])
        idx = np.asarray(loc_point)
        base_dist = distances[np.ix_(idx, idx)]
        base_dur = durations[np.ix_(idx, idx)]
        np.fill_diagonal(base_dist, 0)
        np.fill_diagonal(base_dur, 0)

        optional_prizes = [stops[k].prize or 0 for k in servable if stops[k].prize is not None]
        per_second = float(distances.sum()) / max(1.0, float(durations.sum()))
        overtime_cost = max(1, round(problem.balance * per_second)) if problem.balance > 0 else 0
        longest_shift = max(v.shift[1] - v.shift[0] for v in vehicles)
        required_prize = (
            10 * (2 * int(base_dist.max()) + 1)
            + 2 * max(optional_prizes, default=0)
            + overtime_cost * longest_shift
        )
        prohibitive = 100 * required_prize

        # Profiles: one per set of stop classes a vehicle may serve.
        signature = [
            frozenset(c for c, members in enumerate(classes) if i in members) for i in range(len(vehicles))
        ]
        profiles = sorted(set(signature), key=sorted)
        dist_matrices, dur_matrices = [], []
        for sig in profiles:
            forbidden = [j for j, c in enumerate(loc_class) if c is not None and c not in sig]
            d, t = base_dist.copy(), base_dur.copy()
            if forbidden:
                d[:, forbidden] = prohibitive
                t[:, forbidden] = prohibitive
                d[forbidden, forbidden] = 0
                t[forbidden, forbidden] = 0
            dist_matrices.append(d)
            dur_matrices.append(t)

        capacities = any(v.capacity is not None for v in vehicles) or any(stops[k].demand for k in servable)
        clients, groups = [], []
        for k in servable:
            stop = stops[k]
            prize = required_prize if stop.prize is None else stop.prize
            group = None
            if len(windows[k]) > 1:
                group = len(groups)
                groups.append(pyvrp.ClientGroup(required=False))
            for lo, hi in windows[k]:
                if group is not None:
                    groups[group].add_client(len(clients))
                clients.append(
                    pyvrp.Client(
                        location=loc_of[(stop.point, class_id[allowed[k]])],
                        delivery=[stop.demand] if capacities else [],
                        service_duration=stop.duration,
                        tw_early=lo,
                        tw_late=hi,
                        prize=prize,
                        required=False,
                        group=group,
                        name=str(stop.key),
                    )
                )
                self.stop_clients[k].append((len(self.client_stop), (lo, hi)))
                self.client_stop.append(k)

        depots = [pyvrp.Depot(location=depot_of[p]) for p in depot_of]
        total_demand = sum(stops[k].demand for k in servable)
        target = self._balanced_day(servable, durations) if overtime_cost else None
        types: dict[tuple, list[int]] = defaultdict(list)
        for i, v in enumerate(vehicles):
            capacity = (total_demand if v.capacity is None else v.capacity) if capacities else None
            resting = sum(max(0, min(b1, v.shift[1]) - max(b0, v.shift[0])) for b0, b1 in v.breaks)
            resting = resting if self.breaks_off else 0
            types[(v.start, v.end, v.shift, capacity, profiles.index(signature[i]), resting)].append(i)
        vehicle_types = []
        for (start, end, shift, capacity, profile, resting), members in types.items():
            length = shift[1] - shift[0] - resting
            soft = length if target is None else min(length, target)
            vehicle_types.append(
                pyvrp.VehicleType(
                    num_available=len(members),
                    capacity=[] if capacity is None else [capacity],
                    start_depot=depot_of[start],
                    end_depot=depot_of[end],
                    tw_early=shift[0],
                    tw_late=shift[1],
                    shift_duration=soft,
                    max_overtime=length - soft,
                    unit_overtime_cost=overtime_cost,
                    unit_distance_cost=1,
                    profile=profile,
                )
            )
            for i in members:
                self.vehicle_type[i] = len(self.type_vehicles)
            self.type_vehicles.append(members)
        locations = [
            pyvrp.Location(x=problem.points[p].longitude, y=problem.points[p].latitude) for p in loc_point
        ]
        self.data = pyvrp.ProblemData(
            locations, clients, depots, vehicle_types, dist_matrices, dur_matrices, groups
        )

    def _balanced_day(self, servable: list[int], durations: np.ndarray) -> int:
        """The mean service time per vehicle, with slack, plus one trip out and back."""
        problem = self.problem
        service = sum(problem.stops[k].duration for k in servable) / len(problem.vehicles)
        homes = np.asarray([v.start for v in problem.vehicles])
        places = np.asarray([problem.stops[k].point for k in servable])
        trip = 2 * float(durations[np.ix_(homes, places)].mean())
        return math.ceil(service * (1 + BALANCE_SLACK) + trip)

    def warm_start(self, fitted: list[tuple[int, list[tuple[int, int]]]]) -> pyvrp.Solution:
        """PyVRP's solution for routes of (stop, start) already known to fit this model's windows."""
        assert self.data is not None
        routes = []
        for v, calls in fitted:
            visits = [
                next(c for c, (lo, hi) in self.stop_clients[k] if lo <= start <= hi) for k, start in calls
            ]
            if visits:
                routes.append(pyvrp.Route(self.data, visits, self.vehicle_type[v]))
        return pyvrp.Solution(self.data, routes)

    def sequences(self, best: pyvrp.Solution) -> list[tuple[int, list[int]]]:
        """(vehicle index, stop indices in order) for every route PyVRP used."""
        free = [list(members) for members in self.type_vehicles]
        out = []
        for route in best.routes():
            stops = [self.client_stop[a.idx] for a in route.schedule() if a.is_client()]
            if stops:
                out.append((free[route.vehicle_type()].pop(0), stops))
        return out


def _timed(problem: Problem, sequences: list[tuple[int, list[int]]], *, began: float) -> Solution:
    """Times each route from the problem's own matrices; drops (and reports) any call it cannot keep."""
    routes: list[tuple[int, list[tuple[int, int]]]] = []  # vehicle, [(stop, start)]
    dropped = False
    for v_index, stop_indices in sequences:
        vehicle = problem.vehicles[v_index]
        kept: list[tuple[int, int]] = []
        here, clock = vehicle.start, vehicle.shift[0]
        load = 0
        for k in stop_indices:
            stop = problem.stops[k]
            start = earliest_start(service_starts(stop, vehicle), clock + problem.durations[here][stop.point])
            over = vehicle.capacity is not None and load + stop.demand > vehicle.capacity
            if start is None or not can_serve(vehicle, stop) or over:
                dropped = True
                continue
            kept.append((k, start))
            here, clock, load = stop.point, start + stop.duration, load + stop.demand
        while kept and (
            kept[-1][1]
            + problem.stops[kept[-1][0]].duration
            + problem.durations[problem.stops[kept[-1][0]].point][vehicle.end]
            > vehicle.shift[1]
        ):
            kept.pop()
            dropped = True
        if kept:
            routes.append((v_index, kept))
    return solution_from_calls(problem, routes, dropped=dropped, began=began)


def route_from_starts(problem: Problem, vehicle: Vehicle, calls: list[tuple[int, int]]) -> Route:
    """The `Route` for calls (stop index, start) already known to be feasible in this order, leaving home as
    late as the first call allows."""
    first_stop = problem.stops[calls[0][0]]
    first_leg = problem.durations[vehicle.start][first_stop.point]
    departure = max(vehicle.shift[0], calls[0][1] - first_leg)
    here, clock, out, metres, seconds = vehicle.start, departure, [], 0, 0
    for k, start in calls:
        stop = problem.stops[k]
        leg_s, leg_m = problem.durations[here][stop.point], problem.distances[here][stop.point]
        out.append(Call(stop.key, clock + leg_s, start, start + stop.duration, leg_s, leg_m))
        here, clock, metres, seconds = stop.point, start + stop.duration, metres + leg_m, seconds + leg_s
    back_s, back_m = problem.durations[here][vehicle.end], problem.distances[here][vehicle.end]
    return Route(vehicle.key, tuple(out), departure, clock + back_s, metres + back_m, seconds + back_s)


def solution_from_calls(
    problem: Problem, routes: list[tuple[int, list[tuple[int, int]]]], *, dropped: bool, began: float
) -> Solution:
    built = tuple(route_from_starts(problem, problem.vehicles[v], calls) for v, calls in routes)
    served = {k for _, calls in routes for k, _ in calls}
    unassigned = tuple(s.key for k, s in enumerate(problem.stops) if k not in served)
    required_left = any(problem.stops[k].prize is None for k in range(len(problem.stops)) if k not in served)
    return Solution(
        routes=built,
        unassigned=unassigned,
        feasible=not dropped and not required_left,
        seconds=round(time.perf_counter() - began, 3),
        distance=sum(r.distance for r in built),
    )
