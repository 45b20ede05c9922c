"""Plans a seeded working week of field visits with the route solver, and compares it with a longer search
and with the nearest-free-officer baseline.

    manage.py bench_routing --visits 100 --officers 5 --seed 1 [--seconds S] [--long 10] [--balance 0]

The instance comes from benchmarks.routing_instances (straight-line travel). The solver runs for
`--seconds` (default: 8 s for 100 visits, 20 s for 400), then for `--long` times as long, and the
greedy baseline once. The last line printed is one JSON object: {"visits", "officers", "seconds",
"travel_km", "long_run_travel_km", "greedy_travel_km", "unassigned", "long_run_unassigned",
"greedy_unassigned", "feasible", "gap_to_long_percent", "saving_vs_greedy_percent",
"officer_hours_min", "officer_hours_max"} (the last two: service hours per officer over the week).
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from benchmarks.routing_instances import routing_instance
from scheduling.routing.greedy import greedy
from scheduling.routing.problem import Problem, Solution
from scheduling.routing.solver import solve, violations


class Command(BaseCommand):
    help = "Benchmarks the route solver against a longer run and the greedy baseline (JSON on the last line)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--visits", type=int, default=100)
        parser.add_argument("--officers", type=int, default=5)
        parser.add_argument("--seed", type=int, default=1, help="the same seed builds the same week")
        parser.add_argument("--seconds", type=float, default=None, help="search time (default: by size)")
        parser.add_argument("--long", type=float, default=10.0, help="the long run is this many times longer")
        parser.add_argument("--balance", type=float, default=0.0, help="Problem.balance")

    def handle(self, *args: Any, **options: Any) -> None:
        visits, officers, long = options["visits"], options["officers"], options["long"]
        if not (1 <= visits <= 5000 and 1 <= officers <= 500 and long >= 1):
            raise CommandError("Give 1-5000 visits, 1-500 officers and --long of at least 1.")
        seconds = options["seconds"] or default_seconds(visits)
        problem = routing_instance(
            visits=visits, officers=officers, seed=options["seed"], balance=options["balance"]
        )
        quick = solve(problem, seconds=seconds, seed=options["seed"])
        self.report("solver", problem, quick)
        slow = solve(problem, seconds=seconds * long, seed=options["seed"])
        self.report("long run", problem, slow)
        baseline = greedy(problem)
        self.report("greedy", problem, baseline)
        hours = Counter({v.officer: 0.0 for v in problem.vehicles})
        vehicles = {v.key: v for v in problem.vehicles}
        for route in quick.routes:
            hours[vehicles[route.vehicle].officer] += sum(c.end - c.start for c in route.calls) / 3600
        summary = {
            "visits": visits,
            "officers": officers,
            "seconds": quick.seconds,
            "travel_km": km(quick),
            "long_run_travel_km": km(slow),
            "greedy_travel_km": km(baseline),
            "unassigned": len(quick.unassigned),
            "long_run_seconds": slow.seconds,
            "long_run_unassigned": len(slow.unassigned),
            "greedy_unassigned": len(baseline.unassigned),
            "feasible": quick.feasible,
            "gap_to_long_percent": round(100 * (quick.distance / max(1, slow.distance) - 1), 2),
            "saving_vs_greedy_percent": round(100 * (1 - quick.distance / max(1, baseline.distance)), 2),
            "balance": options["balance"],
            "officer_hours_min": round(min(hours.values()), 2),
            "officer_hours_max": round(max(hours.values()), 2),
        }
        self.stdout.write(json.dumps(summary))

    def report(self, name: str, problem: Problem, solution: Solution) -> None:
        wrong = violations(problem, solution)
        if wrong:
            raise CommandError(f"{name} broke a rule: {wrong[:3]}")
        self.stdout.write(
            f"{name}: {km(solution)} km, {len(solution.routes)} officer-days, "
            f"{len(solution.unassigned)} unassigned, {solution.seconds:.2f} s"
        )


def default_seconds(visits: int) -> float:
    """8 s for 100 visits, growing with the size (20 s for 400)."""
    return round(max(1.0, 8.0 * (visits / 100) ** 0.66), 1)


def km(solution: Solution) -> float:
    return round(solution.distance / 1000, 2)
