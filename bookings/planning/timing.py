"""Timing one officer-day's calls on the booking grid, pure: plain data in and out, no database.

The solver times visits to the second; bookings start on the appointment type's grid (every 15 minutes, say).
`fit` walks a route in order, starts each visit at the first grid time it can (after arriving, inside its
windows, clear of breaks, leaving time to reach the next fixed appointment), keeps fixed appointments where
they are, and drops whatever no longer fits, latest first when the officer could not get home in time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from scheduling.routing.problem import Problem, Stop, Vehicle
from scheduling.routing.solver import can_serve

Snap = Callable[[Stop, int], int]  # the first start of service on the stop's grid at or after the time given


@dataclass(frozen=True)
class Timed:
    stop: int  # index into Problem.stops
    start: int
    end: int
    travel_seconds: int  # from the place before
    travel_metres: int


@dataclass(frozen=True)
class Fitted:
    calls: tuple[Timed, ...]
    dropped: tuple[int, ...]  # stop indices that could not be kept
    home_seconds: int  # the drive from the last call to the day's end point
    home_metres: int


def fit(problem: Problem, vehicle: Vehicle, order: Sequence[int], snap: Snap) -> Fitted:
    """`order` (stop indices) timed for `vehicle`: fixed stops (pinned to an officer) keep their first
    window's start; every other stop gets the earliest start `snap` allows that keeps the rules."""
    kept = list(order)
    dropped: list[int] = []
    while True:
        calls, refused = _walk(problem, vehicle, kept, snap)
        if refused:
            dropped.extend(refused)
            kept = [k for k in kept if k not in refused]
            continue
        here = problem.stops[calls[-1].stop].point if calls else vehicle.start
        clock = calls[-1].end if calls else vehicle.shift[0]
        home_s, home_m = problem.durations[here][vehicle.end], problem.distances[here][vehicle.end]
        movable = [c.stop for c in calls if not _fixed(problem.stops[c.stop])]
        if clock + home_s <= vehicle.shift[1] or not movable:
            return Fitted(tuple(calls), tuple(dropped), home_s if calls else 0, home_m if calls else 0)
        dropped.append(movable[-1])
        kept.remove(movable[-1])


def _fixed(stop: Stop) -> bool:
    return stop.officer is not None


def _walk(problem: Problem, vehicle: Vehicle, order: list[int], snap: Snap) -> tuple[list[Timed], list[int]]:
    """One pass: the calls timed, and the first movable stop that cannot be kept (then walk again)."""
    calls: list[Timed] = []
    here, clock = vehicle.start, vehicle.shift[0]
    for position, k in enumerate(order):
        stop = problem.stops[k]
        leg_s, leg_m = problem.durations[here][stop.point], problem.distances[here][stop.point]
        arrival = clock + leg_s
        if _fixed(stop):
            start = stop.windows[0][0]
        else:
            found = _earliest(stop, vehicle, arrival, snap, _diary(problem, order))
            if found is None or not _reaches_next_fixed(problem, order[position + 1 :], stop, found):
                return calls, [k]
            start = found
        calls.append(Timed(k, start, start + stop.duration, leg_s, leg_m))
        here, clock = stop.point, max(clock, start + stop.duration)
    return calls, []


def _diary(problem: Problem, order: Sequence[int]) -> list[tuple[int, int]]:
    """The service times of the fixed stops of `order`: no visit is served over them, whatever the order."""
    return [
        (s.windows[0][0], s.windows[0][0] + s.duration)
        for s in (problem.stops[k] for k in order)
        if _fixed(s)
    ]


def _earliest(
    stop: Stop, vehicle: Vehicle, arrival: int, snap: Snap, fixed: Sequence[tuple[int, int]] = ()
) -> int | None:
    latest_by_shift = vehicle.shift[1] - stop.duration
    busy = [*vehicle.breaks, *fixed]
    for lo, hi in sorted(stop.windows):
        start = snap(stop, max(arrival, lo, vehicle.shift[0]))
        while start <= min(hi, latest_by_shift):
            clash = next((b for b in busy if start < b[1] and b[0] < start + stop.duration), None)
            if clash is None:
                return start
            start = snap(stop, clash[1])
    return None


def _reaches_next_fixed(problem: Problem, rest: Sequence[int], stop: Stop, start: int) -> bool:
    """Whether, serving `stop` from `start`, the officer still reaches the next fixed appointment in time
    (the movable stops between them are timed on the next pass, and dropped there if they cannot be)."""
    for k in rest:
        after = problem.stops[k]
        if _fixed(after):
            return start + stop.duration + problem.durations[stop.point][after.point] <= after.windows[0][0]
    return True


def on_grid(
    problem: Problem,
    routes: dict[int, list[int]],
    waiting: Sequence[int],
    snap: Snap,
) -> tuple[dict[int, Fitted], list[int]]:
    """Every route (vehicle index -> stop indices in order) timed by `fit`; then each stop left waiting (the
    solver's unassigned, and whatever timing dropped), most valuable first, inserted where it adds the
    fewest metres without dropping anything. Returns the timed routes and the stops still left out."""
    # Every officer-day is timed with all of its diary, whether or not the solver kept each appointment on
    # the route (it leaves out one it cannot reach in time): a visit must never be planned over one.
    fitted: dict[int, Fitted] = {}
    for v, vehicle in enumerate(problem.vehicles):
        order = list(routes.get(v, []))
        for k in _own_fixed(problem, vehicle):
            if k not in order:
                order = _with_fixed(problem, vehicle, order, k, snap)
        fitted[v] = fit(problem, vehicle, order, snap)
    movable = (k for k in [*waiting, *(k for f in fitted.values() for k in f.dropped)])
    left = list(dict.fromkeys(k for k in movable if not _fixed(problem.stops[k])))
    left.sort(key=lambda k: -(problem.stops[k].prize or 10**12))
    still: list[int] = []
    for k in left:
        stop = problem.stops[k]
        best: tuple[int, int, Fitted] | None = None
        for v, current in fitted.items():
            vehicle = problem.vehicles[v]
            if not can_serve(vehicle, stop) or not meets(stop, vehicle):
                continue
            order = [c.stop for c in current.calls]
            before = _metres(current)
            for position in range(len(order) + 1):
                trial = fit(problem, vehicle, [*order[:position], k, *order[position:]], snap)
                if trial.dropped:
                    continue
                added = _metres(trial) - before
                if best is None or added < best[0]:
                    best = (added, v, trial)
        if best is None:
            still.append(k)
        else:
            fitted[best[1]] = best[2]
    return fitted, still


def _own_fixed(problem: Problem, vehicle: Vehicle) -> list[int]:
    """The fixed stops of `vehicle`'s officer on its day, in time order."""
    own = [
        k
        for k, s in enumerate(problem.stops)
        if _fixed(s) and s.officer == vehicle.officer and _within(s, vehicle)
    ]
    return sorted(own, key=lambda k: problem.stops[k].windows[0])


def _with_fixed(problem: Problem, vehicle: Vehicle, order: list[int], k: int, snap: Snap) -> list[int]:
    """`order` with fixed stop `k` put where it drops the fewest stops, then adds the fewest metres."""
    trials = [[*order[:at], k, *order[at:]] for at in range(len(order) + 1)]
    timed = [fit(problem, vehicle, trial, snap) for trial in trials]
    best = min(range(len(trials)), key=lambda n: (len(timed[n].dropped), _metres(timed[n])))
    return trials[best]


def _metres(fitted: Fitted) -> int:
    return sum(c.travel_metres for c in fitted.calls) + fitted.home_metres


def meets(stop: Stop, vehicle: Vehicle) -> bool:
    """Whether some window of the stop falls in the vehicle's shift."""
    return any(lo <= vehicle.shift[1] - stop.duration and vehicle.shift[0] <= hi for lo, hi in stop.windows)


def _within(stop: Stop, vehicle: Vehicle) -> bool:
    start = stop.windows[0][0]
    return vehicle.shift[0] <= start and start + stop.duration <= vehicle.shift[1]
