"""Many requests for one slot at the same instant: exactly one must win, the rest get alternatives.

    manage.py bench_booking_race --attempts 100

Each attempt runs `booking_create` in its own thread and database connection, for a different customer.
The last line printed is one JSON object; the exit status is non-zero unless exactly one booking was
made, nobody saw an unexpected error, and the database holds exactly one active booking at that time.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from collections import Counter
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from benchmarks.scenarios import booking_race, first_free_start, race_scenario_create, scratch_tenant_delete
from bookings.errors import SlotUnavailable
from bookings.models import Booking


class Command(BaseCommand):
    help = "Races N concurrent bookings of one slot in a scratch tenant (JSON summary on the last line)."
    # It touches no URLs, views or templates, so a half-finished view elsewhere must not stop a run.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--attempts", type=int, default=100, help="concurrent requests (threads)")

    def handle(self, *args: Any, attempts: int, **options: Any) -> None:
        if not 2 <= attempts <= 250:
            raise CommandError("Give 2 to 250 attempts (each holds a database connection).")
        scenario = race_scenario_create(customers=attempts)
        try:
            starts_at = first_free_start(scenario)
            self.stdout.write(
                f"built {scenario.tenant.slug}; {attempts} threads race for {starts_at:%Y-%m-%d %H:%M} UTC"
            )
            outcome = booking_race(scenario=scenario, starts_at=starts_at, customer_ids=scenario.customer_ids)
            with scope(tenant=scenario.tenant):
                active = Booking.objects.active().filter(starts_at=starts_at).count()
        finally:
            scratch_tenant_delete(tenant=scenario.tenant)
            self.stdout.write(f"deleted {scenario.tenant.slug}")

        lost = [r for r in outcome.errors if isinstance(r, SlotUnavailable)]
        unexpected = Counter(type(r).__name__ for r in outcome.errors if not isinstance(r, SlotUnavailable))
        summary = {
            "attempts": attempts,
            "succeeded": len(outcome.bookings),
            "lost_race": len(lost),
            "errors": sum(unexpected.values()),
            "active_bookings": active,
            "alternatives_offered": sum(1 for error in lost if error.alternatives),
            "elapsed_ms": round(outcome.elapsed_ms, 1),
        }
        self.stdout.write(
            f"succeeded {summary['succeeded']}, lost the race {summary['lost_race']} "
            f"({summary['alternatives_offered']} offered alternatives), other errors {summary['errors']}"
            + (f" {dict(unexpected)}" if unexpected else "")
            + f"; {active} active booking(s) at that time; {summary['elapsed_ms']} ms from the start"
        )
        self.stdout.write(json.dumps(summary))
        if summary["succeeded"] != 1 or summary["errors"] or active != 1:
            raise CommandError("The race did not end with exactly one booking and no other errors.")
