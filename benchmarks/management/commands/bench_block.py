"""Times a block booking (the check phase and the write phase) over a scratch tenant, then deletes it.

    manage.py bench_block --items 1000 --officers 20 --seed 1 [--bookings 200] [--days 31]
        [--mode best_effort] [--writer bulk|each] [--tell] [--repeat 3]

A programme of `--items` customers, each to be booked at the earliest free start of the benchmarked type
(one hour, 15-minute buffers and grid) over `--days` days, among `--bookings` bookings already there.
Each run checks the plan (`block_check`) and writes it (`block_book`, committed), then deletes what it
booked so the next run starts from the same diary. The last line printed is one JSON object with the
median of the runs: {"items", "check_seconds", "write_seconds", "booked", "conflicts", "queries", ...}.
"""

from __future__ import annotations

import json
import statistics
import time
from argparse import ArgumentParser
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.test import override_settings
from django_scopes import scope

from benchmarks.scenarios import BATCH_SIZE, HOST_SUFFIX, availability_scenario_create, scratch_tenant_delete
from bookings.models import Booking, BookingAssignment, BookingEvent, Customer
from bookings.services.blocks import BlockItem, BlockMode, block_book, block_check
from notifications.models import Message


class Command(BaseCommand):
    help = "Times block_check and block_book for a programme in a scratch tenant (JSON on the last line)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--items", type=int, default=1000)
        parser.add_argument("--officers", type=int, default=20)
        parser.add_argument("--days", type=int, default=31, help="length of the programme's period")
        parser.add_argument("--bookings", type=int, default=200, help="bookings already in the period")
        parser.add_argument("--mode", choices=list(BlockMode.values), default=BlockMode.BEST_EFFORT)
        parser.add_argument("--writer", choices=["bulk", "each"], default="bulk")
        parser.add_argument("--tell", action="store_true", help="queue the customers' confirmations")
        parser.add_argument("--repeat", type=int, default=3, help="runs; the medians are reported")
        parser.add_argument("--seed", type=int, default=0, help="the same seed builds the same data")

    def handle(self, *args: Any, **options: Any) -> None:
        items, officers, days, repeat = (options[k] for k in ("items", "officers", "days", "repeat"))
        if not (1 <= items <= 20000 and 1 <= officers <= 500 and 1 <= days <= 365 and 1 <= repeat <= 20):
            raise CommandError("Give 1-20000 items, 1-500 officers, 1-365 days and 1-20 runs.")
        scenario = availability_scenario_create(
            officers=officers, days=days, bookings=options["bookings"], seed=options["seed"]
        )
        self.stdout.write(
            f"built {scenario.tenant.slug}: {officers} officers, {scenario.bookings} bookings, "
            f"{scenario.start:%Y-%m-%d} to {scenario.end:%Y-%m-%d}"
        )
        runs = []
        try:
            customer_ids = premises_create(scenario.tenant, items)
            for run in range(repeat):
                runs.append(self.run_once(scenario, customer_ids, options))
                self.stdout.write(
                    f"run {run + 1}: check {runs[-1]['check_seconds']:.3f} s "
                    f"({runs[-1]['queries']} queries), "
                    f"write {runs[-1]['write_seconds']:.3f} s ({runs[-1]['write_queries']} queries), "
                    f"{runs[-1]['booked']} booked, {runs[-1]['conflicts']} conflicts"
                )
        finally:
            scratch_tenant_delete(tenant=scenario.tenant)
            self.stdout.write(f"deleted {scenario.tenant.slug}")
        summary = {
            "items": items,
            "officers": officers,
            "mode": options["mode"],
            "writer": options["writer"],
            "runs": repeat,
            "check_seconds": round(statistics.median(r["check_seconds"] for r in runs), 4),
            "write_seconds": round(statistics.median(r["write_seconds"] for r in runs), 4),
            "booked": runs[-1]["booked"],
            "conflicts": runs[-1]["conflicts"],
            "queries": runs[-1]["queries"],
            "write_queries": runs[-1]["write_queries"],
        }
        self.stdout.write(json.dumps(summary))

    def run_once(self, scenario: Any, customer_ids: list[int], options: dict[str, Any]) -> dict[str, Any]:
        with scope(tenant=scenario.tenant):
            kind = scenario.appointment_type
            block = [BlockItem(customer_id=pk) for pk in customer_ids]
            with counted() as checked:
                started = time.perf_counter()
                plan = block_check(
                    appointment_type=kind,
                    items=block,
                    period=(scenario.start, scenario.end),
                    now=scenario.now,
                )
                check_seconds = time.perf_counter() - started
            # --tell measures telling every customer in the one transaction (what a worker chunk does), not
            # the hand-over to workers that a block this big gets in the product.
            with counted() as written, override_settings(BLOCK_TELL_INLINE_ITEMS=len(block)):
                started = time.perf_counter()
                result = block_book(
                    plan=plan,
                    mode=options["mode"],
                    tell_customers=options["tell"],
                    now=scenario.now,
                    writer=options["writer"],
                )
                write_seconds = time.perf_counter() - started  # committed: the deferred triggers included
            booked = [o.booking.pk for o in result.booked]
            with transaction.atomic():  # the next run starts from the same diary
                topics = [f"booking:{o.booking.reference}" for o in result.booked]
                Message.objects.filter(topic__in=topics).delete()
                BookingEvent.objects.filter(booking_id__in=booked).delete()
                BookingAssignment.objects.filter(booking_id__in=booked).delete()
                Booking.objects.filter(pk__in=booked).delete()
        return {
            "check_seconds": check_seconds,
            "write_seconds": write_seconds,
            "booked": len(booked),
            "conflicts": len(result.conflicts),
            "queries": checked[0],
            "write_queries": written[0],
        }


@contextmanager
def counted() -> Iterator[list[int]]:
    """Counts the statements run inside (the debug query log keeps only the last 9,000)."""
    count = [0]

    def wrapper(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(wrapper):
        yield count


def premises_create(tenant: Any, count: int) -> list[int]:
    """The programme's customers (food premises), apart from the scenario's own customers."""
    with scope(tenant=tenant):
        made = Customer.objects.bulk_create(
            [
                Customer(
                    tenant=tenant,
                    full_name=f"Premises {n}",
                    email=f"premises{n}@{HOST_SUFFIX}",
                    postcode=f"NE{n % 9 + 1} {n % 10}AB",
                )
                for n in range(1, count + 1)
            ],
            batch_size=BATCH_SIZE,
        )
    return [c.pk for c in made]
