"""Solves a Solomon VRPTW instance with the route solver and says how far it is from the best known.

    manage.py plan_routes --solomon benchmarks/data/solomon/R101.txt --seconds 10 [--seed 1]

The last line printed is one JSON object: {"instance", "distance" (unrounded Euclidean length of the
routes found), "vehicles", "feasible", "seconds", "best_known", "best_known_vehicles", "gap_percent"}; the
best-known figures come from benchmarks/data/solomon/best_known.csv (distance-only optima where known).
"""

from __future__ import annotations

import csv
import json
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from scheduling.routing.solomon import euclidean_distance, read_solomon, solomon_problem
from scheduling.routing.solver import solve, violations

BEST_KNOWN = Path(__file__).resolve().parents[2] / "data" / "solomon" / "best_known.csv"


class Command(BaseCommand):
    help = "Solves a Solomon VRPTW instance and compares it with the best known (JSON on the last line)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--solomon", required=True, help="a Solomon instance file")
        parser.add_argument("--seconds", type=float, default=10.0, help="search time")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        path, seconds = Path(options["solomon"]), options["seconds"]
        if not 0 < seconds <= 3600:
            raise CommandError("Give 0-3600 seconds.")
        try:
            instance = read_solomon(path.read_text())
        except (OSError, ValueError) as error:
            raise CommandError(f"Cannot read {path}: {error}") from error
        problem = solomon_problem(instance)
        solution = solve(problem, seconds=seconds, seed=options["seed"])
        wrong = violations(problem, solution)
        if wrong:
            raise CommandError(f"The solver broke a rule: {wrong[:3]}")
        distance = euclidean_distance(instance, solution)
        summary: dict[str, Any] = {
            "instance": instance.name,
            "distance": round(distance, 2),
            "vehicles": len(solution.routes),
            "feasible": solution.feasible,
            "seconds": solution.seconds,
        }
        known = best_known().get(instance.name.upper())
        if known:
            summary["best_known"] = known["min_distance"]
            summary["best_known_vehicles"] = known["min_distance_vehicles"]
            summary["gap_percent"] = round(100 * (distance / known["min_distance"] - 1), 2)
        self.stdout.write(
            f"{instance.name}: {len(instance.customers)} customers, {distance:.2f} with "
            f"{len(solution.routes)} vehicles in {solution.seconds:.1f} s"
        )
        self.stdout.write(json.dumps(summary))


def best_known() -> dict[str, dict[str, Any]]:
    if not BEST_KNOWN.exists():
        return {}
    lines = [line for line in BEST_KNOWN.read_text().splitlines() if line and not line.startswith("#")]
    return {
        row["instance"].upper(): {
            "min_distance": float(row["min_distance"]),
            "min_distance_vehicles": int(row["min_distance_vehicles"]),
        }
        for row in csv.DictReader(lines)
    }
