"""Times `available_slots` for one appointment type over a realistic scratch tenant, then deletes it.

    manage.py bench_availability --officers 50 --days 30 --bookings 5000 [--history 500000]
        [--repeat 30] [--keep]

The last line printed is one JSON object, for scripts and CI to compare runs.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from argparse import ArgumentParser
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django_scopes import scope

from benchmarks.scenarios import HOST_SUFFIX, Scenario, availability_scenario_create, scratch_tenant_delete
from bookings.availability import AvailableSlot, available_slots

NO_CACHE = {"default": {"BACKEND": "django.core.cache.backends.dummy.DummyCache"}}


class Command(BaseCommand):
    help = "Builds a scratch tenant and times available_slots over it (JSON summary on the last line)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--officers", type=int, default=50)
        parser.add_argument("--days", type=int, default=30, help="length of the window asked about")
        parser.add_argument("--bookings", type=int, default=5000, help="confirmed bookings in the window")
        parser.add_argument(
            "--history", type=int, default=0, help="past bookings over the previous three years"
        )
        parser.add_argument("--repeat", type=int, default=30, help="timed calls, after one warm-up call")
        parser.add_argument("--seed", type=int, default=0, help="the same seed builds the same data")
        parser.add_argument("--keep", action="store_true", help="keep the scratch tenant to look at")

    def handle(self, *args: Any, **options: Any) -> None:
        officers, days, bookings, repeat = (options[k] for k in ("officers", "days", "bookings", "repeat"))
        history = options["history"]
        if officers < 1 or days < 1 or repeat < 1 or bookings < 0 or history < 0 or days > 700:
            raise CommandError(
                "Give at least one officer, 1 to 700 days, bookings >= 0, history >= 0 and repeat >= 1."
            )

        started = time.perf_counter()
        try:
            scenario = availability_scenario_create(
                officers=officers, days=days, bookings=bookings, history=history, seed=options["seed"]
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        built_s = time.perf_counter() - started
        self.stdout.write(
            f"built {scenario.tenant.slug}: {officers} officers, {scenario.bookings} bookings "
            f"and {scenario.history} past ones, "
            f"{scenario.start:%Y-%m-%d} to {scenario.end:%Y-%m-%d} ({days} days) in {built_s:.1f} s"
        )
        try:
            result = measure(scenario, repeat=repeat)
        finally:
            if options["keep"]:
                self.stdout.write(
                    f"kept tenant {scenario.tenant.slug} (host {scenario.tenant.slug}.{HOST_SUFFIX})"
                )
            else:
                started = time.perf_counter()
                scratch_tenant_delete(tenant=scenario.tenant)
                self.stdout.write(f"deleted {scenario.tenant.slug} in {time.perf_counter() - started:.1f} s")

        self.stdout.write(
            f"available_slots alone (no view, no template), {repeat} calls after a warm-up: "
            f"median {result['median_ms']} ms, p95 {result['p95_ms']} ms, "
            f"min {result['min_ms']} ms, max {result['max_ms']} ms"
        )
        self.stdout.write(
            f"one call: {result['queries']} queries taking {result['sql_ms']} ms of {result['call_ms']} ms; "
            f"{result['slots']} slots"
        )
        self.stdout.write(
            f"without the open-time cache (the first call after a configuration change): "
            f"median {result['cold_median_ms']} ms, {result['cold_queries']} queries"
        )
        self.stdout.write(
            f"portal slot-list partial (one week, htmx request through the whole Django stack): "
            f"median {result['partial_median_ms']} ms, p95 {result['partial_p95_ms']} ms"
        )
        summary = {
            "officers": officers,
            "days": days,
            "bookings": scenario.bookings,
            "history": scenario.history,
            **{
                k: result[k]
                for k in ("median_ms", "p95_ms", "queries", "slots", "cold_median_ms", "cold_queries")
            },
            "partial_median_ms": result["partial_median_ms"],
            "partial_p95_ms": result["partial_p95_ms"],
        }
        self.stdout.write(json.dumps(summary))


def measure(scenario: Scenario, *, repeat: int) -> dict[str, Any]:
    """Times `repeat` calls after one untimed warm-up, then counts one more call's queries and SQL time."""
    appointment_type = scenario.appointment_type

    def call() -> list[AvailableSlot]:
        return available_slots(appointment_type, scenario.start, scenario.end, now=scenario.now)

    with scope(tenant=scenario.tenant):
        call()
        timings = []
        for _ in range(repeat):
            started = time.perf_counter()
            slots = call()
            timings.append((time.perf_counter() - started) * 1000)
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            call()
            call_ms = (time.perf_counter() - started) * 1000
        # The same without the open-time cache: what the first call after a configuration change costs.
        with override_settings(CACHES=NO_CACHE):
            cold = []
            for _ in range(repeat):
                started = time.perf_counter()
                call()
                cold.append((time.perf_counter() - started) * 1000)
            with CaptureQueriesContext(connection) as cold_captured:
                call()
            cold_queries = len(cold_captured.captured_queries)
    timings.sort()
    cold.sort()
    queries = captured.captured_queries  # read before any request: request_started resets the query log
    partial = _partial_timings(scenario, repeat=repeat)
    return {
        "partial_median_ms": round(statistics.median(partial), 2),
        "partial_p95_ms": round(partial[math.ceil(0.95 * len(partial)) - 1], 2),
        "median_ms": round(statistics.median(timings), 2),
        "cold_median_ms": round(statistics.median(cold), 2),
        "cold_queries": cold_queries,
        "p95_ms": round(timings[math.ceil(0.95 * len(timings)) - 1], 2),  # nearest rank
        "min_ms": round(timings[0], 2),
        "max_ms": round(timings[-1], 2),
        "queries": len(queries),
        "sql_ms": round(sum(float(q["time"]) for q in queries) * 1000, 2),
        "call_ms": round(call_ms, 2),
        "slots": len(slots),
    }


def _partial_timings(scenario: Scenario, *, repeat: int) -> list[float]:
    """Server-side time of the portal's slot-list partial for the first full week of the scenario."""
    client = Client(HTTP_HOST=f"{scenario.tenant.slug}.{HOST_SUFFIX}")
    monday = scenario.start.date() + timedelta(days=(7 - scenario.start.weekday()) % 7)
    url = f"/services/{scenario.appointment_type.slug}/?week={monday.isoformat()}"
    response = client.get(url, headers={"HX-Request": "true"})
    if response.status_code != 200 or b"slot-picker" not in response.content:
        raise CommandError(f"{url} answered {response.status_code}")
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        client.get(url, headers={"HX-Request": "true"})
        timings.append((time.perf_counter() - started) * 1000)
    return sorted(timings)
