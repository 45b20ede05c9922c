"""The routing benchmark commands at tiny sizes: they solve, check and report JSON on their last line.
Timings and distances are the commands' output, not asserted beyond their consistency."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command

from tests.scheduling.test_solomon import TINY


def run(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue().strip().splitlines()[-1])


def test_bench_routing_reports_solver_long_run_and_greedy() -> None:
    summary = run("bench_routing", "--visits", "12", "--officers", "2", "--seconds", "0.2", "--long", "1")
    assert (summary["visits"], summary["officers"]) == (12, 2)
    assert summary["travel_km"] > 0 and summary["greedy_travel_km"] > 0
    assert summary["unassigned"] <= summary["greedy_unassigned"] or summary["travel_km"] > 0
    assert summary["officer_hours_max"] >= summary["officer_hours_min"] >= 0


def test_plan_routes_solves_a_solomon_file(tmp_path: Path) -> None:
    instance = tmp_path / "tiny.txt"
    instance.write_text(TINY)
    summary = run("plan_routes", "--solomon", str(instance), "--seconds", "0.2")
    assert summary["instance"] == "TINY1" and summary["feasible"] is True
    assert summary["vehicles"] == 2 and summary["distance"] > 0
