"""Solomon's VRPTW format: read, turned into a `Problem` (capacity included), solved, measured unrounded."""

from __future__ import annotations

import math

import pytest

from scheduling.routing.problem import Call, Route, Solution
from scheduling.routing.solomon import SCALE, euclidean_distance, read_solomon, solomon_problem
from scheduling.routing.solver import solve, violations

TINY = """TINY1

VEHICLE
NUMBER     CAPACITY
  3          30

CUSTOMER
CUST NO.  XCOORD.   YCOORD.    DEMAND   READY TIME  DUE DATE   SERVICE   TIME

    0      0          0          0          0        100          0
    1      3          4         20          0         50          5
    2      6          8         20          0         50          5
    3      0          5         10         40         45          5
"""


def test_reads_the_header_and_the_customer_table() -> None:
    instance = read_solomon(TINY)
    assert (instance.name, instance.vehicles, instance.capacity) == ("TINY1", 3, 30)
    assert instance.depot.due == 100 and len(instance.customers) == 3
    assert instance.customers[0].x == 3 and instance.customers[2].ready == 40


def test_rejects_text_that_is_not_an_instance() -> None:
    with pytest.raises(ValueError):
        read_solomon("hello\nworld\n")


def test_problem_scales_times_and_distances() -> None:
    p = solomon_problem(read_solomon(TINY))
    assert p.distances[0][1] == 5 * SCALE and p.distances[1][2] == 5 * SCALE
    assert p.stops[2].windows == ((40 * SCALE, 45 * SCALE),) and p.stops[0].demand == 20
    assert {v.capacity for v in p.vehicles} == {30} and len(p.vehicles) == 3


def test_distance_is_measured_unrounded() -> None:
    instance = read_solomon(TINY)
    route = Route(1, (Call(1, 0, 0, 0, 0, 0), Call(3, 0, 0, 0, 0, 0)), 0, 0, 0, 0)
    solution = Solution(routes=(route,), unassigned=(2,), feasible=False)
    # 0 -> (3,4) -> (0,5) -> 0: 5 + sqrt(10) + 5
    assert euclidean_distance(instance, solution) == pytest.approx(10 + math.sqrt(10))


def test_solved_within_capacity_and_windows() -> None:
    instance = read_solomon(TINY)
    p = solomon_problem(instance)
    solution = solve(p, seconds=0.2, seed=1)
    assert violations(p, solution) == [] and solution.feasible
    # 20 + 20 exceeds the capacity of 30, so customers 1 and 2 ride in different vehicles.
    together = [{c.stop for c in r.calls} for r in solution.routes]
    assert not any({1, 2} <= calls for calls in together)
    assert euclidean_distance(instance, solution) == pytest.approx(solution.distance / SCALE, abs=0.01)
