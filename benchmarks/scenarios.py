"""Scratch scenarios for benchmarks and load tests: a throw-away tenant with officers, working time, an
appointment type and bookings, the race of many requests for one slot, and the tenant's removal.

Used by `manage.py bench_availability`, `manage.py bench_booking_race` and their tests, so each scenario
is written once. Creation runs inside the scratch tenant's scope and writes in bulk (one INSERT per table
and batch), which builds 200 officers and 20,000 bookings in seconds. A scratch tenant is recognisable
by its host `<slug>.bench.invalid` (a reserved top-level domain, so it can never answer a real request);
`scratch_tenant_delete` refuses any other tenant.
"""

from __future__ import annotations

import contextlib
import random
import secrets
import threading
import time as clock
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import recurrence
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone
from django_scopes import scope, scopes_disabled

from accounts.models import Domain, Membership, Officer, OfficerSkill, Role, Skill, Tenant, User
from accounts.services import tenant_create
from bookings.availability import available_slots
from bookings.models import Booking, BookingAssignment, BookingStatus, Channel, Customer
from bookings.services import REFERENCE_ALPHABET, booking_create
from demo.scheduling import OFFICER_HOURS, WEEKDAYS
from scheduling.models import (
    Absence,
    AbsenceKind,
    AppointmentType,
    Category,
    Holiday,
    LocationMode,
    ServiceBlock,
    StaffingRequirement,
    WorkingInterval,
    WorkingPattern,
)
from scheduling.services import supply_version_bump

HOST_SUFFIX = "bench.invalid"
BATCH_SIZE = 2000
# Every fifth officer lacks the benchmarked type's skill: "a skill most officers have".
UNSKILLED_EVERY = 5
# Every fourth officer's Tuesday mornings are reserved for phone calls (the service block).
BLOCKED_EVERY = 4
BLOCK_WEEKDAY = 1
BLOCK_HOURS = OFFICER_HOURS[0]
# About two bookings in five are the benchmarked type, the rest short calls: with 100 bookings per officer
# a month that keeps officers about 60% busy, leaving the fragmented free time a real diary has.
LONG_SHARE = 0.4
BARRIER_TIMEOUT_SECONDS = 60
# Past bookings reach this far back, on the short type's grid, and end as most bookings do.
HISTORY_YEARS = 3
HISTORY_STATUSES = (
    (BookingStatus.COMPLETED, 0.7),
    (BookingStatus.CANCELLED, 0.15),
    (BookingStatus.CONFIRMED, 0.15),  # never marked completed: still active, still in the overlap index
)


@dataclass(frozen=True)
class Scenario:
    """A scratch tenant and what a benchmark asks about: one appointment type over one window."""

    tenant: Tenant
    appointment_type: AppointmentType
    officer_ids: list[int]
    customer_ids: list[int]
    start: datetime
    end: datetime
    now: datetime
    bookings: int = 0
    history: int = 0


@dataclass(frozen=True)
class Closures:
    """Supply taken away by a holiday, absences and the service block, as (officer, day, half) keys.

    A half is the index of the span in OFFICER_HOURS (0: morning, 1: afternoon).
    """

    holiday: date | None
    absent: frozenset[tuple[int, date, int]]
    reserved: frozenset[tuple[int, date, int]]


@dataclass
class RaceOutcome:
    """What each attempt of a race for one slot ended with, in attempt order."""

    results: list[Booking | BaseException | None]
    elapsed_ms: float
    bookings: list[Booking] = field(init=False)
    errors: list[BaseException] = field(init=False)

    def __post_init__(self) -> None:
        self.bookings = [r for r in self.results if isinstance(r, Booking)]
        self.errors = [r for r in self.results if isinstance(r, BaseException)]


# --- tenant --------------------------------------------------------------------------------------------


def scratch_tenant_create(*, prefix: str = "bench") -> Tenant:
    """A new tenant `<prefix>-<random>` on host `<slug>.bench.invalid`, with the default categories."""
    slug = f"{prefix}-{secrets.token_hex(4)}"
    return tenant_create(name=f"Scratch {slug}", slug=slug, hosts=[f"{slug}.{HOST_SUFFIX}"])


def scratch_tenant_delete(*, tenant: Tenant) -> None:
    """Deletes a scratch tenant, everything it owns and the user accounts made for its officers.

    Bookings protect their customers and types, assignments their officers, and types their category and
    skills, so bookings go first (after everything that refers to them) and types next. Bookings go in one
    plain DELETE: Django's cascade would first fetch every booking's id, a minute per 100,000 of them, and
    the database's foreign keys still refuse if anything pointing at a booking were left.
    """
    with scopes_disabled(), transaction.atomic():
        if not Domain.objects.filter(tenant=tenant, host=f"{tenant.slug}.{HOST_SUFFIX}").exists():
            raise ValueError(f"{tenant.slug} is not a scratch tenant; refusing to delete it.")
        user_ids = list(Membership.objects.filter(tenant=tenant).values_list("user_id", flat=True))
        for relation in Booking._meta.related_objects:
            if relation.related_model is not Booking:  # follow-ups go with the bookings they follow
                relation.related_model._base_manager.filter(tenant=tenant).delete()
        with connection.cursor() as cursor:
            table = connection.ops.quote_name(Booking._meta.db_table)
            cursor.execute(f"DELETE FROM {table} WHERE tenant_id = %s", [tenant.pk])
        AppointmentType.objects.filter(tenant=tenant).delete()
        tenant.delete()
        User.objects.filter(pk__in=user_ids, email__endswith=f"@{tenant.slug}.{HOST_SUFFIX}").delete()


# --- supply --------------------------------------------------------------------------------------------


def officers_create(
    *, tenant: Tenant, count: int, skill: Skill, valid_from: date, unskilled_every: int = UNSKILLED_EVERY
) -> list[Officer]:
    """`count` officers working Monday to Friday OFFICER_HOURS from `valid_from`; all but every
    `unskilled_every`-th have `skill`. Their accounts cannot log in (no usable password)."""
    no_password = make_password(None)
    users = User.objects.bulk_create(
        [
            User(
                email=f"officer{n}@{tenant.slug}.{HOST_SUFFIX}",
                full_name=f"Officer {n}",
                password=no_password,
            )
            for n in range(1, count + 1)
        ],
        batch_size=BATCH_SIZE,
    )
    with scope(tenant=tenant):
        Membership.objects.bulk_create(
            [Membership(tenant=tenant, user=user, role=Role.OFFICER) for user in users], batch_size=BATCH_SIZE
        )
        officers = Officer.objects.bulk_create(
            [Officer(tenant=tenant, user=user) for user in users], batch_size=BATCH_SIZE
        )
        OfficerSkill.objects.bulk_create(
            [
                OfficerSkill(tenant=tenant, officer=officer, skill=skill)
                for n, officer in enumerate(officers, start=1)
                if n % unskilled_every
            ],
            batch_size=BATCH_SIZE,
        )
        patterns = WorkingPattern.objects.bulk_create(
            [WorkingPattern(tenant=tenant, officer=officer, valid_from=valid_from) for officer in officers],
            batch_size=BATCH_SIZE,
        )
        WorkingInterval.objects.bulk_create(
            [
                WorkingInterval(tenant=tenant, pattern=pattern, weekday=weekday, start=start, end=end)
                for pattern in patterns
                for weekday in WEEKDAYS
                for start, end in OFFICER_HOURS
            ],
            batch_size=BATCH_SIZE,
        )
        supply_version_bump(tenant_id=tenant.pk)  # bulk writes send no signals
    return officers


def benchmarked_type_create(*, tenant: Tenant, skill: Skill, horizon_days: int = 365) -> AppointmentType:
    """The type benchmarks ask about: 60 minutes, 15-minute buffers and grid, one officer with `skill`."""
    with scope(tenant=tenant):
        appointment_type = AppointmentType(
            tenant=tenant,
            name="Food hygiene inspection",
            slug="food-hygiene-inspection",
            category=Category.objects.get(name="Inspection"),
            duration_minutes=60,
            buffer_before_minutes=15,
            buffer_after_minutes=15,
            granularity_minutes=15,
            horizon_days=horizon_days,
            location_mode=LocationMode.CUSTOMER_ADDRESS,
        )
        appointment_type.full_clean()
        appointment_type.save()
        StaffingRequirement.objects.create(
            tenant=tenant, appointment_type=appointment_type, skill=skill, count=1
        )
        return AppointmentType.objects.select_related("tenant").get(pk=appointment_type.pk)


def phone_type_create(*, tenant: Tenant) -> AppointmentType:
    """A 30-minute phone call any officer takes: what the service block reserves time for, and the
    short bookings that fill officers' days between inspections."""
    with scope(tenant=tenant):
        appointment_type = AppointmentType(
            tenant=tenant,
            name="Phone advice call",
            slug="phone-advice-call",
            category=Category.objects.get(name="Consultation"),
            duration_minutes=30,
            granularity_minutes=15,
            location_mode=LocationMode.PHONE,
        )
        appointment_type.full_clean()
        appointment_type.save()
        return appointment_type


def customers_create(*, tenant: Tenant, count: int) -> list[Customer]:
    with scope(tenant=tenant):
        return Customer.objects.bulk_create(
            [
                Customer(tenant=tenant, full_name=f"Customer {n}", email=f"customer{n}@{HOST_SUFFIX}")
                for n in range(1, count + 1)
            ],
            batch_size=BATCH_SIZE,
        )


def closures_create(
    *,
    tenant: Tenant,
    officer_ids: Sequence[int],
    workdays: Sequence[date],
    reserved_for: AppointmentType,
    rng: random.Random,
) -> Closures:
    """A holiday mid-window (when the window has a week of workdays), two days' leave for one officer in
    ten, an afternoon's training for one more, and Tuesday mornings of every fourth officer reserved for
    `reserved_for`."""
    tz = tenant.zone
    absent: set[tuple[int, date, int]] = set()
    reserved: set[tuple[int, date, int]] = set()
    holiday = workdays[len(workdays) // 2] if len(workdays) >= 5 else None
    with scope(tenant=tenant):
        if holiday is not None:
            Holiday.objects.create(tenant=tenant, date=holiday, name="Bank holiday")
        on_leave = rng.sample(list(officer_ids), max(1, len(officer_ids) // 10)) if workdays else []
        absences = []
        for officer_id in on_leave:
            first = rng.randrange(len(workdays))
            days = workdays[first : first + 2]
            absences.append(
                Absence(
                    tenant=tenant,
                    officer_id=officer_id,
                    kind=AbsenceKind.LEAVE,
                    starts_at=datetime.combine(days[0], time.min, tz),
                    ends_at=datetime.combine(days[-1] + timedelta(days=1), time.min, tz),
                )
            )
            absent.update((officer_id, day, half) for day in days for half in range(len(OFFICER_HOURS)))
        if workdays:
            trainee, day = rng.choice(list(officer_ids)), rng.choice(list(workdays))
            afternoon = OFFICER_HOURS[1]
            absences.append(
                Absence(
                    tenant=tenant,
                    officer_id=trainee,
                    kind=AbsenceKind.TRAINING,
                    starts_at=datetime.combine(day, afternoon[0], tz),
                    ends_at=datetime.combine(day, afternoon[1], tz),
                )
            )
            absent.add((trainee, day, 1))
        Absence.objects.bulk_create(absences)
        supply_version_bump(tenant_id=tenant.pk)

        covered = list(officer_ids[::BLOCKED_EVERY])
        block = ServiceBlock.objects.create(
            tenant=tenant,
            name="Tuesday mornings: phone advice",
            start=BLOCK_HOURS[0],
            end=BLOCK_HOURS[1],
            recurrence=recurrence.Recurrence(
                rrules=[recurrence.Rule(recurrence.WEEKLY, byday=[recurrence.TU])]
            ),
        )
        block.appointment_types.set([reserved_for], through_defaults={"tenant": tenant})
        block.officers.set(covered, through_defaults={"tenant": tenant})
        reserved.update(
            (officer_id, day, 0)
            for officer_id in covered
            for day in workdays
            if day.weekday() == BLOCK_WEEKDAY
        )
    return Closures(holiday=holiday, absent=frozenset(absent), reserved=frozenset(reserved))


# --- demand --------------------------------------------------------------------------------------------


def bookings_create(
    *,
    tenant: Tenant,
    officer_ids: Sequence[int],
    workdays: Sequence[date],
    closures: Closures,
    long_type: AppointmentType,
    short_type: AppointmentType,
    customer_ids: Sequence[int],
    count: int,
    now: datetime,
    rng: random.Random,
) -> int:
    """`count` confirmed bookings spread evenly over the officers' open half-days, never overlapping.

    Each half-day gets its share as a random mix of `long_type` (LONG_SHARE of them where they fit and
    the type may be booked, i.e. outside reserved windows) and `short_type`, with random gaps on the
    15-minute grid between them. Each booking has one assignment whose occupied range includes buffers.
    Raises ValueError when `count` does not fit the supply.
    """
    tz = tenant.zone
    half_days = [
        (officer_id, day, half)
        for officer_id in officer_ids
        for day in workdays
        if day != closures.holiday
        for half in range(len(OFFICER_HOURS))
        if (officer_id, day, half) not in closures.absent
    ]
    long_footprint = long_type.buffer_before + long_type.duration + long_type.buffer_after
    short_footprint = short_type.duration
    capacity = sum(_length(OFFICER_HOURS[half]) // short_footprint for _officer, _day, half in half_days)
    if count > capacity:
        raise ValueError(f"{count} bookings do not fit this supply (at most {capacity}).")
    if not count:
        return 0
    per_half_day, extra = divmod(count, len(half_days))
    loads = [per_half_day] * len(half_days)
    for index in rng.sample(range(len(half_days)), extra):
        loads[index] += 1

    bookings: list[Booking] = []
    assignments: list[BookingAssignment] = []
    for (officer_id, day, half), load in zip(half_days, loads, strict=True):
        if not load:
            continue
        opens = datetime.combine(day, OFFICER_HOURS[half][0], tz)
        closes = datetime.combine(day, OFFICER_HOURS[half][1], tz)
        length = closes - opens
        longs = 0
        if (officer_id, day, half) not in closures.reserved:
            for _ in range(load):
                fits = (longs + 1) * long_footprint + (load - longs - 1) * short_footprint <= length
                if fits and rng.random() < LONG_SHARE:
                    longs += 1
        footprints = [long_footprint] * longs + [short_footprint] * (load - longs)
        slack = length - sum(footprints, timedelta())
        rng.shuffle(footprints)
        quarters = [0] * (len(footprints) + 1)
        for _ in range(slack // timedelta(minutes=15)):
            quarters[rng.randrange(len(quarters))] += 1
        moment = opens + quarters[0] * timedelta(minutes=15)
        for footprint, gap in zip(footprints, quarters[1:], strict=True):
            appointment_type = long_type if footprint == long_footprint else short_type
            starts_at = moment + appointment_type.buffer_before
            booking = Booking(
                tenant=tenant,
                appointment_type=appointment_type,
                customer_id=customer_ids[len(bookings) % len(customer_ids)],
                status=BookingStatus.CONFIRMED,
                starts_at=starts_at,
                ends_at=starts_at + appointment_type.duration,
                reference=_reference(len(bookings)),
                seat=1,
                channel=Channel.STAFF,
                allocation_reason="scratch benchmark data",
                created_at=now,
                updated_at=now,
            )
            booking.session_key = booking.reference
            bookings.append(booking)
            assignments.append(
                BookingAssignment(
                    tenant=tenant,
                    booking=booking,
                    officer_id=officer_id,
                    occupied=DateTimeTZRange(moment, moment + footprint),
                    session_key=booking.session_key,
                )
            )
            moment += footprint + gap * timedelta(minutes=15)
    with scope(tenant=tenant):
        Booking.objects.bulk_create(bookings, batch_size=BATCH_SIZE)
        BookingAssignment.objects.bulk_create(assignments, batch_size=BATCH_SIZE)
    return len(bookings)


def _length(span: tuple[time, time]) -> timedelta:
    return datetime.combine(date.min, span[1]) - datetime.combine(date.min, span[0])


def _reference(index: int) -> str:
    """BK-XXXX-XX, distinct for each index (the alphabet's 32 letters as base-32 digits)."""
    digits = []
    for _ in range(6):
        index, digit = divmod(index, len(REFERENCE_ALPHABET))
        digits.append(REFERENCE_ALPHABET[digit])
    code = "".join(reversed(digits))
    return f"BK-{code[:4]}-{code[4:]}"


def history_create(
    *,
    tenant: Tenant,
    officer_ids: Sequence[int],
    appointment_type: AppointmentType,
    customer_ids: Sequence[int],
    count: int,
    first_reference: int,
    now: datetime,
    rng: random.Random,
) -> int:
    """`count` past bookings of `appointment_type` (no buffers) spread evenly over the officers' open
    half-hours of the HISTORY_YEARS years before `now`, each with its assignment, mixed as HISTORY_STATUSES.

    They are written with COPY (ids drawn from the sequence first), so 500,000 take about a minute rather
    than the ten that the ORM would. When they outnumber the open half-hours, the overflow is stacked on
    the same times as completed or cancelled bookings, which the overlap constraints let share a time.
    """
    if not count:
        return 0
    tz = tenant.zone
    today = now.astimezone(tz).date()
    days = [
        day
        for n in range(HISTORY_YEARS * 365, 0, -1)
        if (day := today - timedelta(days=n)).weekday() in WEEKDAYS
    ]
    step = appointment_type.duration
    starts = [
        datetime.combine(day, opens, tz) + n * step
        for day in days
        for opens, closes in OFFICER_HOURS
        for n in range(_length((opens, closes)) // step)
    ]
    per_officer = -(-count // len(officer_ids))
    statuses, weights = zip(*HISTORY_STATUSES, strict=True)
    inactive = [s for s in statuses if s != BookingStatus.CONFIRMED]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [Booking._meta.db_table, count],
        )
        ids = [row[0] for row in cursor.fetchall()]
    prototype = Booking(
        tenant=tenant,
        appointment_type=appointment_type,
        seat=1,
        channel=Channel.STAFF,
        allocation_reason="scratch benchmark history",
        created_at=now,
        updated_at=now,
    )
    varying = ("id", "customer", "status", "starts_at", "ends_at", "reference", "public_id", "session_key")
    fixed = [f for f in Booking._meta.concrete_fields if f.name not in varying]
    fixed_values = tuple(f.get_db_prep_save(getattr(prototype, f.attname), connection) for f in fixed)
    booking_columns = ", ".join(
        connection.ops.quote_name(Booking._meta.get_field(name).column) for name in varying
    ) + "".join(f", {connection.ops.quote_name(f.column)}" for f in fixed)
    assignment_table = connection.ops.quote_name(BookingAssignment._meta.db_table)
    with connection.cursor() as cursor:
        with cursor.copy(
            f"COPY {connection.ops.quote_name(Booking._meta.db_table)} ({booking_columns}) FROM STDIN"
        ) as copy:
            assignments = []
            for index, booking_id in enumerate(ids):
                officer_id = officer_ids[index % len(officer_ids)]
                nth = index // len(officer_ids)
                if per_officer <= len(starts):
                    cycle, place = 0, nth * len(starts) // per_officer
                else:
                    cycle, place = divmod(nth, len(starts))
                status = rng.choices(statuses if not cycle else inactive, weights if not cycle else None)[0]
                starts_at = starts[place]
                reference = _reference(first_reference + index)
                public_id = uuid.UUID(int=rng.getrandbits(128), version=4)
                copy.write_row(
                    (
                        booking_id,
                        customer_ids[index % len(customer_ids)],
                        status,
                        starts_at,
                        starts_at + step,
                        reference,
                        public_id,
                        reference,
                        *fixed_values,
                    )
                )
                assignments.append(
                    (
                        tenant.pk,
                        booking_id,
                        officer_id,
                        DateTimeTZRange(starts_at, starts_at + step),
                        reference,
                        status == BookingStatus.CONFIRMED,
                    )
                )
        with cursor.copy(
            f"COPY {assignment_table} (tenant_id, booking_id, officer_id, occupied, session_key, is_active)"
            " FROM STDIN"
        ) as copy:
            for row in assignments:
                copy.write_row(row)
    return count


# --- scenarios -----------------------------------------------------------------------------------------


def availability_scenario_create(
    *,
    officers: int,
    days: int,
    bookings: int,
    history: int = 0,
    now: datetime | None = None,
    seed: int = 0,
) -> Scenario:
    """A scratch tenant with `officers` officers (Monday to Friday 09:00–12:30 and 13:30–17:00), a
    holiday, absences and a service block, and `bookings` confirmed bookings over a `days`-day window
    that starts at local midnight two days from `now` (clear of the minimum notice), beside `history`
    past bookings (see `history_create`). The tables are analysed afterwards, as autovacuum would have.

    The same `seed` builds the same shape of data. On any failure the half-built tenant is deleted.
    """
    now = now or timezone.now()
    rng = random.Random(seed)
    tenant = scratch_tenant_create(prefix="bench")
    try:
        tz = tenant.zone
        first_day = now.astimezone(tz).date() + timedelta(days=2)
        window = [first_day + timedelta(days=n) for n in range(days)]
        workdays = [day for day in window if day.weekday() in WEEKDAYS]
        with scope(tenant=tenant):
            skill = Skill.objects.create(tenant=tenant, name="Food hygiene")
        officer_ids = [
            o.pk
            for o in officers_create(
                tenant=tenant, count=officers, skill=skill, valid_from=first_day - timedelta(days=365)
            )
        ]
        benchmarked = benchmarked_type_create(tenant=tenant, skill=skill, horizon_days=min(730, days + 7))
        phone = phone_type_create(tenant=tenant)
        closures = closures_create(
            tenant=tenant, officer_ids=officer_ids, workdays=workdays, reserved_for=phone, rng=rng
        )
        customer_ids = [c.pk for c in customers_create(tenant=tenant, count=max(1, min(bookings, 2000)))]
        made = bookings_create(
            tenant=tenant,
            officer_ids=officer_ids,
            workdays=workdays,
            closures=closures,
            long_type=benchmarked,
            short_type=phone,
            customer_ids=customer_ids,
            count=bookings,
            now=now,
            rng=rng,
        )
        past = history_create(
            tenant=tenant,
            officer_ids=officer_ids,
            appointment_type=phone,
            customer_ids=customer_ids,
            count=history,
            first_reference=made,
            now=now,
            rng=rng,
        )
        with connection.cursor() as cursor:
            for model in (Booking, BookingAssignment):
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    except BaseException:
        scratch_tenant_delete(tenant=tenant)
        raise
    return Scenario(
        tenant=tenant,
        appointment_type=benchmarked,
        officer_ids=officer_ids,
        customer_ids=customer_ids,
        start=datetime.combine(first_day, time.min, tz),
        end=datetime.combine(first_day + timedelta(days=days), time.min, tz),
        now=now,
        bookings=made,
        history=past,
    )


def race_scenario_create(*, customers: int, now: datetime | None = None) -> Scenario:
    """A scratch tenant with one officer, the benchmarked type and `customers` customers; the window is
    the officer's first two weeks clear of the type's minimum notice."""
    now = now or timezone.now()
    tenant = scratch_tenant_create(prefix="race")
    try:
        tz = tenant.zone
        first_day = now.astimezone(tz).date() + timedelta(days=2)
        with scope(tenant=tenant):
            skill = Skill.objects.create(tenant=tenant, name="Food hygiene")
        (officer,) = officers_create(
            tenant=tenant, count=1, skill=skill, valid_from=first_day - timedelta(days=365)
        )
        appointment_type = benchmarked_type_create(tenant=tenant, skill=skill)
        customer_ids = [c.pk for c in customers_create(tenant=tenant, count=customers)]
    except BaseException:
        scratch_tenant_delete(tenant=tenant)
        raise
    return Scenario(
        tenant=tenant,
        appointment_type=appointment_type,
        officer_ids=[officer.pk],
        customer_ids=customer_ids,
        start=datetime.combine(first_day, time.min, tz),
        end=datetime.combine(first_day + timedelta(days=14), time.min, tz),
        now=now,
    )


def first_free_start(scenario: Scenario) -> datetime:
    """The earliest bookable start of the scenario's type in its window."""
    with scope(tenant=scenario.tenant):
        slots = available_slots(scenario.appointment_type, scenario.start, scenario.end, now=scenario.now)
    if not slots:
        raise ValueError("The scenario has no free slot.")
    return slots[0].start


def booking_race(
    *, scenario: Scenario, starts_at: datetime, customer_ids: Sequence[int], idempotency_key: str = ""
) -> RaceOutcome:
    """One thread per customer id calls `booking_create` for `starts_at`, all released at once.

    Each thread has its own database connection (closed when it ends) and works in the tenant's scope;
    it loads its own copies of the type and customer before the start, so only booking is raced.
    `elapsed_ms` runs from the release until the last thread finishes.
    """
    attempts = len(customer_ids)
    barrier = threading.Barrier(attempts + 1, timeout=BARRIER_TIMEOUT_SECONDS)
    results: list[Booking | BaseException | None] = [None] * attempts

    def attempt(index: int) -> None:
        released = False
        try:
            with scope(tenant=scenario.tenant):
                appointment_type = AppointmentType.objects.select_related("tenant").get(
                    pk=scenario.appointment_type.pk
                )
                customer = Customer.objects.get(pk=customer_ids[index])
                barrier.wait()
                released = True
                results[index] = booking_create(
                    appointment_type=appointment_type,
                    starts_at=starts_at,
                    customer=customer,
                    now=scenario.now,
                    idempotency_key=idempotency_key,
                )
        except BaseException as error:  # every outcome is data here, to be classified by the caller
            results[index] = error
            if not released:
                barrier.abort()
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(n,), name=f"race-{n}") for n in range(attempts)]
    for thread in threads:
        thread.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a thread failed first; its error is kept
        barrier.wait()
    started = clock.perf_counter()
    for thread in threads:
        thread.join()
    return RaceOutcome(results=results, elapsed_ms=(clock.perf_counter() - started) * 1000)
