"""Travel per visit with and without travel-aware availability, on a seeded realistic day, then deletes the
scratch tenant.

    manage.py bench_travel_aware [--officers 5] [--customers 40] [--km 20] [--seed 0] [--keep]

`officers` officers (Monday to Friday 09:00–12:30 and 13:30–17:00) start and end their days at one office
in the middle of a square `km` kilometres a side; `customers` customers at random points in it book one
after another a 60-minute on-site visit (15-minute buffers). Without: each takes the earliest slot the
engine offers with no point (today's behaviour). With: each gives its point and takes the recommended slot
adding least travel on the day the customer got without (else the earliest recommended slot). Each
officer's day is then routed in time order (office, visits, office) with the travel matrix: travel per
visit, and the visits that could not be reached in time from the previous place (the office from the
day's start). The last line printed is one JSON object.
"""

from __future__ import annotations

import itertools
import json
import math
import random
import time
from argparse import ArgumentParser
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_scopes import scope

from accounts.models import Skill, Tenant
from benchmarks.scenarios import (
    HOST_SUFFIX,
    benchmarked_type_create,
    officers_create,
    scratch_tenant_create,
    scratch_tenant_delete,
)
from bookings.availability import AvailableSlot, available_slots
from bookings.availability.travel import travel_legs
from bookings.models import Booking, BookingStatus, Channel
from bookings.services import booking_cancel, booking_hold
from demo.scheduling import OFFICER_HOURS, WEEKDAYS
from scheduling.models import AppointmentType, WorkingPattern
from scheduling.routing.problem import Point
from scheduling.services import supply_version_bump

CENTRE = Point(52.4862, -1.8904)
METRES_PER_DEGREE = 111_320.0
SEARCH_DAYS = 14


class Command(BaseCommand):
    help = "Compares travel per visit with and without travel-aware availability (JSON on the last line)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--officers", type=int, default=5)
        parser.add_argument("--customers", type=int, default=40)
        parser.add_argument("--km", type=float, default=20.0, help="side of the square the customers are in")
        parser.add_argument("--seed", type=int, default=0, help="the same seed builds the same customers")
        parser.add_argument("--keep", action="store_true", help="keep the scratch tenant to look at")

    def handle(self, *args: Any, **options: Any) -> None:
        officers, customers, km = options["officers"], options["customers"], options["km"]
        if not 1 <= officers <= 100 or not 1 <= customers <= 1000 or not 0 < km <= 200:
            raise CommandError("Give 1 to 100 officers, 1 to 1000 customers and 0 to 200 km.")
        started = time.perf_counter()
        rng = random.Random(options["seed"])
        points = [_random_point(rng, km) for _ in range(customers)]
        now = timezone.now()
        tenant = scratch_tenant_create(prefix="travel")
        try:
            appointment_type, first_day = _scenario(tenant, officers, now)
            start = datetime.combine(first_day, OFFICER_HOURS[0][0], tenant.zone) - timedelta(hours=2)
            end = start + timedelta(days=SEARCH_DAYS)
            with scope(tenant=tenant):
                without = _run(appointment_type, points, start, end, now, travel_aware=False)
                routes_without = _routes(tenant, without)
                for booking in Booking.objects.filter(status=BookingStatus.HELD):
                    booking_cancel(booking=booking, reason="benchmark run over", now=now)
                days_without = [
                    b.starts_at.astimezone(tenant.zone).date() if b else None for b, _p in without
                ]
                with_ = _run(appointment_type, points, start, end, now, travel_aware=True, days=days_without)
                routes_with = _routes(tenant, with_)
        finally:
            if options["keep"]:
                self.stdout.write(f"kept tenant {tenant.slug} (host {tenant.slug}.{HOST_SUFFIX})")
            else:
                scratch_tenant_delete(tenant=tenant)
        for name, routes, run in (("without", routes_without, without), ("with", routes_with, with_)):
            placed = sum(1 for b, _p in run if b is not None)
            self.stdout.write(
                f"{name}: {placed} of {customers} placed over {len(routes['days'])} officer-days, "
                f"{routes['km'] / max(placed, 1):.2f} km per visit, {routes['unreachable']} visits "
                f"not reachable in time"
            )
        per_visit_without = routes_without["km"] / max(1, sum(1 for b, _p in without if b))
        per_visit_with = routes_with["km"] / max(1, sum(1 for b, _p in with_ if b))
        summary = {
            "visits": customers,
            "officers": officers,
            "placed_without": sum(1 for b, _p in without if b),
            "placed_with": sum(1 for b, _p in with_ if b),
            "travel_km_per_visit_without": round(per_visit_without, 2),
            "travel_km_per_visit_with": round(per_visit_with, 2),
            "reduction_pct": round(100 * (1 - per_visit_with / per_visit_without), 1)
            if per_visit_without
            else 0,
            "unreachable_without": routes_without["unreachable"],
            "unreachable_with": routes_with["unreachable"],
            "seconds": round(time.perf_counter() - started, 1),
        }
        self.stdout.write(json.dumps(summary))


def _scenario(tenant: Tenant, officers: int, now: datetime) -> tuple[AppointmentType, date]:
    """Officers who all start and end their days at the office in the middle, and the on-site type; the
    first working day at least two days from `now`."""
    first_day = now.astimezone(tenant.zone).date() + timedelta(days=2)
    while first_day.weekday() not in WEEKDAYS:
        first_day += timedelta(days=1)
    with scope(tenant=tenant):
        skill = Skill.objects.create(tenant=tenant, name="Food hygiene")
    made = officers_create(
        tenant=tenant,
        count=officers,
        skill=skill,
        valid_from=first_day - timedelta(days=30),
        unskilled_every=officers + 1,
    )
    appointment_type = benchmarked_type_create(tenant=tenant, skill=skill, horizon_days=SEARCH_DAYS + 7)
    with scope(tenant=tenant):
        WorkingPattern.objects.filter(officer__in=made).update(
            start_label="Office",
            start_latitude=CENTRE.latitude,
            start_longitude=CENTRE.longitude,
            end_label="Office",
            end_latitude=CENTRE.latitude,
            end_longitude=CENTRE.longitude,
        )
        supply_version_bump(tenant_id=tenant.pk)  # a bulk update sends no signal
    return appointment_type, first_day


def _random_point(rng: random.Random, km: float) -> Point:
    half = km * 1000 / 2
    north, east = rng.uniform(-half, half), rng.uniform(-half, half)
    return Point(
        CENTRE.latitude + north / METRES_PER_DEGREE,
        CENTRE.longitude + east / (METRES_PER_DEGREE * math.cos(math.radians(CENTRE.latitude))),
    )


def _run(
    appointment_type: AppointmentType,
    points: list[Point],
    start: datetime,
    end: datetime,
    now: datetime,
    *,
    travel_aware: bool,
    days: list[date | None] | None = None,
) -> list[tuple[Booking | None, Point]]:
    """Each customer in turn asks for slots and holds the one it takes (holds stay live: `now` is fixed)."""
    tz = appointment_type.tenant.zone
    made: list[tuple[Booking | None, Point]] = []
    for index, point in enumerate(points):
        slots = available_slots(appointment_type, start, end, now=now, point=point if travel_aware else None)
        chosen = _choice(slots, days[index] if days else None, tz) if travel_aware else (slots or [None])[0]
        if chosen is None:
            made.append((None, point))
            continue
        booking = booking_hold(
            appointment_type=appointment_type,
            starts_at=chosen.start,
            channel=Channel.STAFF,
            now=now,
            point=point if travel_aware else None,
        )
        made.append((booking, point))
    return made


def _choice(slots: list[AvailableSlot], day: date | None, tz: Any) -> AvailableSlot | None:
    """The recommended slot adding least travel on `day`, else the earliest recommended, else the first."""
    recommended = [s for s in slots if s.recommended]
    on_day = [s for s in recommended if s.start.astimezone(tz).date() == day]
    if on_day:
        return min(on_day, key=lambda s: (s.added_travel_seconds or 0, s.start))
    return recommended[0] if recommended else (slots[0] if slots else None)


def _routes(tenant: Tenant, made: list[tuple[Booking | None, Point]]) -> dict[str, Any]:
    """Each officer's day in time order from the office and back: kilometres, and visits reached late."""
    where = {booking.pk: point for booking, point in made if booking is not None}
    days: dict[tuple[int, date], list[tuple[datetime, datetime, Point]]] = defaultdict(list)
    bookings = Booking.objects.filter(pk__in=where).prefetch_related("assignments")
    for booking in bookings:
        for assignment in booking.assignments.all():
            if assignment.is_active and assignment.officer_id:
                day = booking.starts_at.astimezone(tenant.zone).date()
                occupied = assignment.occupied
                days[(assignment.officer_id, day)].append((occupied.lower, occupied.upper, where[booking.pk]))
    pairs = set()
    for visits in days.values():
        visits.sort(key=lambda v: v[0])
        stops = [CENTRE, *(v[2] for v in visits), CENTRE]
        pairs.update(itertools.pairwise(stops))
    legs = travel_legs(pairs)
    metres = 0
    unreachable = 0
    for (_officer, day), visits in days.items():
        free_at = datetime.combine(day, OFFICER_HOURS[0][0], tenant.zone)
        here = CENTRE
        for lo, hi, point in visits:
            seconds, distance = legs[(here, point)]
            metres += distance
            if free_at + timedelta(seconds=seconds) > lo:
                unreachable += 1
            free_at, here = hi, point
        metres += legs[(here, CENTRE)][1]
    return {"km": metres / 1000, "unreachable": unreachable, "days": sorted(days)}
