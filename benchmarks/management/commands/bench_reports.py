"""Times the manager dashboard over years of bookings in a scratch tenant, then deletes it.

    manage.py bench_reports --bookings 1000000 [--years 3] [--repeat 20] [--keep]

Builds `--bookings` bookings spread evenly over `--years` years ending 30 days after today (the last
month still to come) in SQL (generate_series, one INSERT ... SELECT), each with one officer assignment laid
out so no officer is ever double-booked: 30-minute appointments from 08:00 local, officer by officer.
Statuses, channels, types (in four categories), urgency and lead times vary by a fixed pattern. Then it
refreshes every report summary of the whole span (timed), times the whole dashboard (every panel's
figures and tables) for the last year including today (median and p95 of `--repeat` runs, and its query
count) and again for one team, and streams that year's daily summary rows as CSV in memory. The last
line printed is one JSON object: {"bookings", "refresh_seconds", "dashboard_median_ms",
"dashboard_p95_ms", "queries", "export_rows_per_s", ...}.
"""

from __future__ import annotations

import csv
import io
import json
import math
import statistics
import time
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from django_scopes import scope

from accounts.models import Officer, Skill, Team, Tenant
from benchmarks.management.commands.bench_block import counted
from benchmarks.scenarios import officers_create, scratch_tenant_create, scratch_tenant_delete
from bookings.models import Booking, BookingAssignment, BookingStatus, Channel
from reporting.models import DailyCapacity, DailySummary, WeeklySummary
from reporting.selectors import ReportFilters, daily_summary_rows_between
from reporting.selectors.dashboard import dashboard
from reporting.services import reports_refresh
from scheduling.models import AppointmentType, Category, LocationMode, Priority

SLOT_MINUTES = 30
SLOTS_PER_OFFICER_DAY = 18  # 08:00 to 17:00 local
FUTURE_DAYS = 30
TEAMS = 5
# One booking in twenty of each past outcome pattern: mostly completed, as a real diary is.
PAST_STATUSES = (
    [BookingStatus.COMPLETED] * 14
    + [BookingStatus.NO_SHOW]
    + [BookingStatus.CANCELLED] * 3
    + [BookingStatus.CONFIRMED, BookingStatus.NEEDS_REBOOKING]
)


class Command(BaseCommand):
    help = "Times the daily summary refresh and a year's dashboard figures over a scratch tenant (JSON last)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--bookings", type=int, default=100_000)
        parser.add_argument("--years", type=int, default=3)
        parser.add_argument("--repeat", type=int, default=20, help="timed runs of the dashboard")
        parser.add_argument("--keep", action="store_true", help="leave the scratch tenant to inspect")

    def handle(self, *args: Any, **options: Any) -> None:
        count, years, repeat = options["bookings"], options["years"], options["repeat"]
        if not (1 <= count <= 5_000_000 and 1 <= years <= 10 and 1 <= repeat <= 200):
            raise CommandError("Give 1-5,000,000 bookings, 1-10 years and 1-200 runs.")
        now = timezone.now()
        tenant = scratch_tenant_create(prefix="bench")
        try:
            started = time.perf_counter()
            first_day = self.build(tenant=tenant, count=count, years=years, now=now)
            self.stdout.write(
                f"built {tenant.slug}: {count} bookings in {time.perf_counter() - started:.1f} s"
            )
            summary = self.measure(tenant=tenant, count=count, first_day=first_day, repeat=repeat, now=now)
        finally:
            if not options["keep"]:
                scratch_tenant_delete(tenant=tenant)
                self.stdout.write(f"deleted {tenant.slug}")
        self.stdout.write(json.dumps(summary))

    def build(self, *, tenant: Tenant, count: int, years: int, now: Any) -> date:
        """Writes the bookings; returns the first day they fall on."""
        days = years * 365
        per_day = math.ceil(count / days)
        officer_count = math.ceil(per_day / SLOTS_PER_OFFICER_DAY)
        today = now.astimezone(tenant.zone).date()
        first_day = today + timedelta(days=FUTURE_DAYS - math.ceil(count / per_day))
        with scope(tenant=tenant):
            skill = Skill.objects.create(tenant=tenant, name="Everything")
            officers = officers_create(
                tenant=tenant, count=officer_count, skill=skill, valid_from=first_day, unskilled_every=10**9
            )
            teams = Team.objects.bulk_create([Team(tenant=tenant, name=f"Team {n}") for n in range(TEAMS)])
            for n, officer in enumerate(officers):
                officer.team = teams[n % TEAMS]
            Officer.objects.bulk_update(officers, ["team"])
            categories = list(Category.objects.order_by("pk")[:4])
            types = AppointmentType.objects.bulk_create(
                [
                    AppointmentType(
                        tenant=tenant,
                        name=f"Service {n}",
                        slug=f"service-{n}",
                        category=categories[n % len(categories)],
                        duration_minutes=SLOT_MINUTES,
                        location_mode=LocationMode.PHONE,
                    )
                    for n in range(8)
                ]
            )
        prototype = Booking(tenant=tenant, allocation_reason="scratch reports benchmark", updated_at=now)
        varying = {
            "tenant": "%(tenant)s",
            "reference": "'RB-' || lpad(g.i::text, 9, '0')",
            "public_id": "gen_random_uuid()",
            "appointment_type": "(%(types)s::bigint[])[1 + (g.i * 7) %% %(type_count)s]",
            "status": (
                "CASE WHEN g.starts_at > %(now)s THEN 'confirmed' "
                "ELSE (%(statuses)s::text[])[1 + (g.i * 7919) %% 20] END"
            ),
            "starts_at": "g.starts_at",
            "ends_at": f"g.starts_at + interval '{SLOT_MINUTES} minutes'",
            "priority": f"CASE WHEN g.i %% 37 = 0 THEN {Priority.URGENT:d} ELSE {Priority.NORMAL:d} END",
            "session_key": "'RB-' || lpad(g.i::text, 9, '0')",
            "channel": "(%(channels)s::text[])[1 + (g.i * 13) %% 3]",
            "created_at": "g.starts_at - ((g.i * 31) %% 60 + 1) * interval '1 day'",
        }
        fixed = [f for f in Booking._meta.concrete_fields if f.name not in varying and not f.primary_key]
        q = connection.ops.quote_name
        params: dict[str, Any] = {
            "tenant": tenant.pk,
            "zone": tenant.time_zone,
            "first_day": first_day,
            "count": count,
            "per_day": per_day,
            "officer_count": officer_count,
            "officers": [o.pk for o in officers],
            "types": [t.pk for t in types],
            "type_count": len(types),
            "now": now,
            "statuses": [s.value for s in PAST_STATUSES],
            "channels": [Channel.PORTAL.value, Channel.STAFF.value, Channel.API.value],
        }
        params.update(
            {
                f"fixed_{f.attname}": f.get_db_prep_save(getattr(prototype, f.attname), connection)
                for f in fixed
            }
        )
        columns = [q(Booking._meta.get_field(name).column) for name in varying] + [q(f.column) for f in fixed]
        values = list(varying.values()) + [f"%(fixed_{f.attname})s" for f in fixed]
        booking_table, assignment_table = q(Booking._meta.db_table), q(BookingAssignment._meta.db_table)
        # Within a day, booking n sits with officer n mod officers in slot n div officers: never an overlap.
        sql = f"""
            WITH g AS (
                SELECT i,
                       i %% %(per_day)s %% %(officer_count)s + 1 AS officer,
                       ((%(first_day)s::date + (i / %(per_day)s)::int)::timestamp + interval '8 hours'
                        + (i %% %(per_day)s / %(officer_count)s) * interval '{SLOT_MINUTES} minutes')
                        AT TIME ZONE %(zone)s AS starts_at
                FROM generate_series(0::bigint, %(count)s - 1) AS i
            ), made AS (
                INSERT INTO {booking_table} ({", ".join(columns)})
                SELECT {", ".join(values)} FROM g
                RETURNING id, reference, starts_at, ends_at, status, session_key
            )
            INSERT INTO {assignment_table}
                (tenant_id, booking_id, officer_id, occupied, session_key, is_active)
            SELECT %(tenant)s, made.id, (%(officers)s::bigint[])[g.officer],
                   tstzrange(made.starts_at, made.ends_at), made.session_key,
                   made.status IN ('held', 'confirmed')
            FROM made JOIN g ON made.reference = 'RB-' || lpad(g.i::text, 9, '0')
        """
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(sql, params)
        with connection.cursor() as cursor:
            for model in (Booking, BookingAssignment):
                cursor.execute(f"ANALYZE {q(model._meta.db_table)}")
        return first_day

    def measure(
        self, *, tenant: Tenant, count: int, first_day: date, repeat: int, now: Any
    ) -> dict[str, Any]:
        today = now.astimezone(tenant.zone).date()
        with scope(tenant=tenant):
            started = time.perf_counter()
            rows = reports_refresh(tenant=tenant, first_day=first_day, last_day=today, now=now)
            refresh_seconds = time.perf_counter() - started
            with connection.cursor() as cursor:
                for model in (DailySummary, WeeklySummary, DailyCapacity):
                    cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
            self.stdout.write(f"refreshed {rows} daily summary rows in {refresh_seconds:.2f} s")
            year = ReportFilters(first_day=today - timedelta(days=364), last_day=today)
            dashboard(tenant=tenant, filters=year, now=now)  # warm-up
            timings, board = [], None
            for _ in range(repeat):
                with counted() as queries:
                    started = time.perf_counter()
                    board = dashboard(tenant=tenant, filters=year, now=now)
                    timings.append((time.perf_counter() - started) * 1000)
            team = Team.objects.order_by("pk").first()
            filtered_timings = []
            for _ in range(max(3, repeat // 4)):
                with counted() as filtered_queries:
                    started = time.perf_counter()
                    dashboard(tenant=tenant, filters=replace(year, team=team), now=now)
                    filtered_timings.append((time.perf_counter() - started) * 1000)
            out = io.StringIO()
            writer = csv.writer(out)
            started = time.perf_counter()
            exported = 0
            for row in daily_summary_rows_between(first_day=year.first_day, last_day=year.last_day):
                writer.writerow(row)
                exported += 1
            export_seconds = time.perf_counter() - started
        return {
            "bookings": count,
            "summary_rows": rows,
            "refresh_seconds": round(refresh_seconds, 3),
            "year_booked": board.totals.booked if board else 0,
            "dashboard_median_ms": round(statistics.median(timings), 2),
            "dashboard_p95_ms": percentile_95(timings),
            "team_filtered_median_ms": round(statistics.median(filtered_timings), 2),
            "queries": queries[0],
            "filtered_queries": filtered_queries[0],
            "export_rows": exported,
            "export_rows_per_s": round(exported / export_seconds) if export_seconds else 0,
        }


def percentile_95(timings: list[float]) -> float:
    ordered = sorted(timings)
    return round(ordered[min(len(ordered) - 1, math.ceil(0.95 * len(ordered)) - 1)], 2)
