"""The route solver and the greedy baseline, on small plain problems: whatever they answer keeps every rule
(windows, breaks, skills, pins, shifts, the matrix's arithmetic), drops optional visits before required
ones, leaves impossible visits unassigned, and the solver drives no further than the baseline."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchmarks.routing_instances import routing_instance
from scheduling.routing.greedy import greedy
from scheduling.routing.problem import Point, Problem, Stop, Vehicle
from scheduling.routing.solver import solve, violations

HOUR = 3600
SHIFT = (8 * HOUR, 17 * HOUR)
LUNCH = ((12 * HOUR, 12 * HOUR + 1800),)


def plane(places: list[tuple[float, float]]) -> tuple[tuple[Point, ...], tuple, tuple]:
    """Points in km on a plane; travel at 36 km/h (10 m/s)."""
    metres = [[round(1000 * math.dist(a, b)) for b in places] for a in places]
    seconds = [[m // 10 for m in row] for row in metres]
    return (
        tuple(Point(y, x) for x, y in places),
        tuple(tuple(r) for r in seconds),
        tuple(tuple(r) for r in metres),
    )


def problem(stops: list[Stop], vehicles: list[Vehicle], places: list[tuple[float, float]]) -> Problem:
    points, seconds, metres = plane(places)
    return Problem(
        points=points, durations=seconds, distances=metres, vehicles=tuple(vehicles), stops=tuple(stops)
    )


def officer(key: str, *, home: int = 0, skills: frozenset[str] = frozenset(), breaks=LUNCH) -> Vehicle:
    return Vehicle(key=key, officer=key, start=home, end=home, shift=SHIFT, breaks=breaks, skills=skills)


def both(p: Problem, seconds: float = 0.2):
    return [solve(p, seconds=seconds, seed=1), greedy(p)]


def test_nothing_to_plan_and_nobody_to_plan_it() -> None:
    places = [(0, 0), (1, 1)]
    for p in (
        problem([], [officer("a")], places),
        problem([Stop("s", 1, 1800, (SHIFT,))], [], places),
    ):
        for solution in both(p):
            assert violations(p, solution) == []
            assert solution.distance == 0 and solution.routes == ()
            assert solution.unassigned == tuple(s.key for s in p.stops)


def test_calls_keep_windows_breaks_and_the_matrix() -> None:
    places = [(0, 0), (2, 0), (2, 2), (0, 3), (-2, 1), (1, -2)]
    stops = [
        Stop("lunchtime", 1, 3600, ((11 * HOUR + 1800, 12 * HOUR + 1800),)),  # must dodge the break
        Stop("morning", 2, 1800, ((9 * HOUR, 10 * HOUR),)),
        Stop("twice", 3, 2700, ((8 * HOUR, 8 * HOUR + 600), (15 * HOUR, 15 * HOUR + 600))),
        Stop("any", 4, 1800, (SHIFT,)),
        Stop("late", 5, 1200, ((16 * HOUR, 16 * HOUR + 900),)),
    ]
    p = problem(stops, [officer("a"), officer("b", home=3)], places)
    for solution in both(p):
        assert violations(p, solution) == []
        calls = {c.stop: c for r in solution.routes for c in r.calls}
        assert set(calls) | set(solution.unassigned) == {s.key for s in stops}
        assert "lunchtime" in calls and calls["lunchtime"].start >= LUNCH[0][1]  # after the break
        for route in solution.routes:
            assert route.calls[0].arrival == route.departure + route.calls[0].travel_seconds


def test_skills_and_pins_are_respected_and_impossible_stops_left_out() -> None:
    places = [(0, 0), (5, 0), (1, 0), (4, 0), (2, 2)]
    stops = [
        Stop("needs-gas", 2, 1800, (SHIFT,), skills=frozenset({"gas"})),  # near a, only b can
        Stop("pinned-to-a", 3, 1800, (SHIFT,), officer="a"),  # near b, only a may
        Stop("nobody-can", 4, 1800, (SHIFT,), skills=frozenset({"lifting"})),
        Stop("too-long", 4, 10 * HOUR, (SHIFT,)),
    ]
    p = problem(stops, [officer("a"), officer("b", home=1, skills=frozenset({"gas"}))], places)
    for solution in both(p):
        assert violations(p, solution) == []
        where = {c.stop: r.vehicle for r in solution.routes for c in r.calls}
        assert where == {"needs-gas": "b", "pinned-to-a": "a"}
        assert set(solution.unassigned) == {"nobody-can", "too-long"}
        assert not solution.feasible  # required stops are left


def test_optional_stops_give_way_to_required_ones() -> None:
    # One officer, time for two of the three visits: the optional one is dropped even though it is nearest.
    places = [(0, 0), (0.5, 0), (3, 0), (3, 1)]
    stops = [
        Stop("optional", 1, 3 * HOUR, (SHIFT,), prize=1_000),
        Stop("required-1", 2, 3 * HOUR, (SHIFT,)),
        Stop("required-2", 3, 3 * HOUR, (SHIFT,)),
    ]
    p = problem(stops, [officer("a", breaks=())], places)
    solution = solve(p, seconds=0.2, seed=1)
    assert violations(p, solution) == []
    assert solution.unassigned == ("optional",) and solution.feasible


def test_balance_spreads_work_over_officers() -> None:
    # Both officers live together; without balance one of them does everything (same distance either way).
    places = [(0, 0)] + [(1 + i % 2, i // 2) for i in range(6)]
    stops = [Stop(f"s{i}", i + 1, HOUR, (SHIFT,)) for i in range(6)]
    vehicles = [officer("a", breaks=()), officer("b", breaks=())]
    points, seconds, metres = plane(places)
    balanced = Problem(points, seconds, metres, tuple(vehicles), tuple(stops), balance=5.0)
    solution = solve(balanced, seconds=0.3, seed=1)
    assert violations(balanced, solution) == [] and solution.feasible
    assert sorted(len(r.calls) for r in solution.routes) == [3, 3]


def test_solver_drives_no_further_than_greedy_on_a_seeded_week() -> None:
    p = routing_instance(visits=20, officers=2, seed=3, days=2)
    solution, baseline = both(p, seconds=0.5)
    assert violations(p, solution) == [] and violations(p, baseline) == []
    assert len(solution.unassigned) <= len(baseline.unassigned)
    assert solution.distance <= baseline.distance


windows = st.tuples(st.integers(8 * 4, 16 * 4), st.integers(0, 12)).map(
    lambda t: (t[0] * 900, min(17 * HOUR, t[0] * 900 + t[1] * 900))
)


@st.composite
def small_problems(draw: st.DrawFn) -> Problem:
    n_places = draw(st.integers(2, 7))
    places = [(draw(st.floats(0, 10)), draw(st.floats(0, 10))) for _ in range(n_places)]
    vehicles = [
        officer(
            f"o{i}",
            home=draw(st.integers(0, n_places - 1)),
            skills=draw(st.frozensets(st.sampled_from("xy"), max_size=2)),
            breaks=draw(
                st.sampled_from([(), LUNCH, ((10 * HOUR, 10 * HOUR + 900), (13 * HOUR, 13 * HOUR + 1800))])
            ),
        )
        for i in range(draw(st.integers(1, 3)))
    ]
    stops = [
        Stop(
            key=f"s{i}",
            point=draw(st.integers(0, n_places - 1)),
            duration=draw(st.integers(1, 8)) * 900,
            windows=tuple(draw(st.lists(windows, min_size=1, max_size=3))),
            skills=draw(st.frozensets(st.sampled_from("xy"), max_size=1)),
            officer=draw(st.sampled_from([None, None, None, "o0"])),
            prize=draw(st.sampled_from([None, None, 500, 50_000])),
        )
        for i in range(draw(st.integers(0, 8)))
    ]
    return problem(stops, vehicles, places)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(small_problems())
def test_any_small_problem_gets_a_valid_answer(p: Problem) -> None:
    for solution in both(p, seconds=0.1):
        assert violations(p, solution) == []
