"""Block booking: many bookings of one appointment type at once, all-or-nothing or best-effort.

Two kinds of item, freely mixed: a customer to book at the earliest free start in a period (a programme,
such as every food premises in a ward this month) and a customer at an explicit start (several slots for
one customer). Booking them one by one through `booking_create` costs tens of milliseconds each, so the work
is split in two timed phases:

- `block_check` (the check phase, read only) reads the type's open time and everyone's booked time once for
  the whole period, then plans every item in memory: each takes the earliest start (or its own) at which the
  type's seats can be filled, officers ordered by the type's allocation strategy, and the calendars it takes
  are consumed at once (buffers included), so no two items of the block ever share an officer's time.
- `block_book` (the write phase) locks the planned officers' and resources' rows (as `placement` does, so a
  concurrent booking waits or has already committed), re-reads the booked time and re-checks every planned
  item against it: whatever was taken since the check is a conflict with alternatives. Then the bookings,
  their assignments and their audit events are inserted in bulk. The exclusion constraints still have the
  last word: if they refuse the bulk insert, the block is written item by item through `place` in
  savepoints, which finds exactly the items that lost.

Every invariant of the single-booking services holds: references are unique (the unique constraint decides,
a refused batch draws again), every booking has its audit event, the deferred trigger of migration 0007
raises the tenant's booked version once per transaction for any insert, and when the customers are to be
told, each booking's confirmation (and its reminders) is queued as `booking_confirm` queues it.
"""

from __future__ import annotations

import time as clock
from bisect import bisect_left, bisect_right
from collections import defaultdict
from collections.abc import Collection, Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Max, TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Officer, User
from bookings.contacts import ContactDetails
from bookings.errors import BookingError
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingStatus,
    Channel,
    Customer,
)
from notifications.models import MessageKind
from scheduling.availability import engine
from scheduling.availability.intervals import Interval, normalise, subtract
from scheduling.availability.supply import DAY, booking_window, from_epoch, supply_for, to_epoch
from scheduling.errors import InvalidWindow
from scheduling.models import AllocationStrategy, AppointmentType, Resource

from .history import booking_event_new, booking_snapshot
from .idempotency import Idempotency, idempotency_for, idempotency_record, replayed
from .messages import customer_tell
from .placement import (
    PLACEMENT_CONFLICTS,
    holds_expire_lapsed,
    place,
    reraise_unless_conflict,
    start_check,
)
from .references import reference_new, reference_taken

ALTERNATIVES = 3
# Alternatives are looked for this far around an explicit start (as `nearest_alternatives` does) and after
# the end of a programme's period.
ALTERNATIVES_BEFORE = timedelta(days=3)
ALTERNATIVES_AFTER = timedelta(days=14)
REFERENCE_ATTEMPTS = 3
BLOCK_ACTION = "block_booked"


class BlockMode(TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", gettext_lazy("All or nothing")
    BEST_EFFORT = "best_effort", gettext_lazy("Best effort: book what fits")


@dataclass(frozen=True)
class BlockItem:
    """One booking asked for: a customer, at `starts_at` or (None) at the earliest free start of the
    block's period."""

    customer_id: int
    starts_at: datetime | None = None


@dataclass(frozen=True)
class BlockOutcome:
    """What became of one item: placed (start, officers, resources; `booking` once written) or a conflict
    (`reason`, and up to three `alternatives` free when it was checked)."""

    index: int
    customer_id: int
    asked: datetime | None = None
    starts_at: datetime | None = None
    officer_ids: tuple[int, ...] = ()
    resource_ids: tuple[int, ...] = ()
    allocation_reason: str = ""
    reason: str = ""
    alternatives: tuple[datetime, ...] = ()
    booking: Booking | None = None

    @property
    def placed(self) -> bool:
        return self.starts_at is not None and not self.reason

    def as_data(self) -> dict[str, Any]:
        """Plain data (epoch seconds), to carry a checked plan from a preview to its confirmation."""
        return {
            "index": self.index,
            "customer": self.customer_id,
            "asked": to_epoch(self.asked) if self.asked else None,
            "start": to_epoch(self.starts_at) if self.starts_at else None,
            "officers": list(self.officer_ids),
            "resources": list(self.resource_ids),
            "allocation_reason": self.allocation_reason,
            "reason": self.reason,
            "alternatives": [to_epoch(a) for a in self.alternatives],
        }

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> BlockOutcome:
        return cls(
            index=int(data["index"]),
            customer_id=int(data["customer"]),
            asked=from_epoch(data["asked"]) if data.get("asked") is not None else None,
            starts_at=from_epoch(data["start"]) if data.get("start") is not None else None,
            officer_ids=tuple(int(o) for o in data.get("officers", ())),
            resource_ids=tuple(int(r) for r in data.get("resources", ())),
            allocation_reason=str(data.get("allocation_reason", ""))[:300],
            reason=str(data.get("reason", "")),
            alternatives=tuple(from_epoch(a) for a in data.get("alternatives", ())),
        )


@dataclass(frozen=True)
class BlockPlan:
    """The check phase's answer: every item placed or in conflict, nothing written."""

    appointment_type: AppointmentType
    outcomes: list[BlockOutcome]
    checked_at: datetime
    check_seconds: float = 0.0

    @property
    def placed(self) -> list[BlockOutcome]:
        return [o for o in self.outcomes if o.placed]

    @property
    def conflicts(self) -> list[BlockOutcome]:
        return [o for o in self.outcomes if not o.placed]


@dataclass(frozen=True)
class BlockResult:
    """The write phase's answer. `saved` is False when nothing was written (all-or-nothing with a
    conflict); every outcome then still says where its item would have gone, or why it could not."""

    mode: str
    saved: bool
    outcomes: list[BlockOutcome]
    write_seconds: float = 0.0
    replayed: bool = False

    @property
    def booked(self) -> list[BlockOutcome]:
        return [o for o in self.outcomes if o.booking is not None]

    @property
    def conflicts(self) -> list[BlockOutcome]:
        return [o for o in self.outcomes if not o.placed]


# --- the check phase ---------------------------------------------------------------------------------------


def block_check(
    *,
    appointment_type: AppointmentType,
    items: Sequence[BlockItem],
    period: tuple[datetime, datetime] | None = None,
    now: datetime | None = None,
) -> BlockPlan:
    """Plans every item in memory against availability read once (a fixed number of queries, whatever
    the number of items). Items without a start take the earliest free start in `period`, in the order
    given. Reads only."""
    started = clock.perf_counter()
    now = now or timezone.now()
    _type_check(appointment_type)
    if any(item.starts_at is None for item in items) and period is None:
        raise BookingError(_("Give the period to book the programme in."))
    known = set(Customer.objects.filter(pk__in={i.customer_id for i in items}).values_list("pk", flat=True))
    diary = _Diary.read(appointment_type, _reach(items, period, now), now)
    outcomes: list[BlockOutcome] = []
    in_programme: set[int] = set()
    customer_busy: dict[int, list[Interval]] = defaultdict(list)
    pointer = to_epoch(period[0]) if period else 0
    duration = appointment_type.duration_minutes * 60
    for index, item in enumerate(items):
        outcome = BlockOutcome(index=index, customer_id=item.customer_id, asked=item.starts_at)
        if item.customer_id not in known:
            outcomes.append(replace(outcome, reason=_("No such customer.")))
            continue
        if item.starts_at is None:
            if item.customer_id in in_programme:
                outcomes.append(replace(outcome, reason=_("This customer is already in the programme.")))
                continue
            in_programme.add(item.customer_id)
            assert period is not None
            found = diary.earliest(max(pointer, to_epoch(period[0])), to_epoch(period[1]))
            if found is None:
                reason = _("Nothing is free between %(start)s and %(end)s.") % _period_words(
                    appointment_type, period
                )
                outcomes.append(replace(outcome, reason=reason))
                continue
            pointer = found  # booked time only grows: nothing earlier can free up for a later item
            start = found
        else:
            start = to_epoch(item.starts_at)
            try:
                start_check(appointment_type, item.starts_at, now, apply_notice=True)
            except BookingError as error:
                outcomes.append(replace(outcome, reason=error.message))
                continue
            if any(lo < start + duration and start < hi for lo, hi in customer_busy[item.customer_id]):
                outcomes.append(
                    replace(outcome, reason=_("This customer already has another item of the block then."))
                )
                continue
        allocation = diary.allocate(start)
        if allocation is None:
            outcomes.append(replace(outcome, reason=_("Nobody who could take it is free then.")))
            continue
        officer_ids, resource_ids, reason = allocation
        diary.take(start, officer_ids, resource_ids)
        customer_busy[item.customer_id].append((start, start + duration))
        outcomes.append(
            replace(
                outcome,
                starts_at=from_epoch(start),
                officer_ids=officer_ids,
                resource_ids=resource_ids,
                allocation_reason=reason,
            )
        )
    outcomes = diary.with_alternatives(outcomes, period, known)
    return BlockPlan(
        appointment_type=appointment_type,
        outcomes=outcomes,
        checked_at=now,
        check_seconds=clock.perf_counter() - started,
    )


def _reach(
    items: Sequence[BlockItem], period: tuple[datetime, datetime] | None, now: datetime
) -> tuple[datetime, datetime]:
    """What must be read: the period and the explicit starts, with room for alternatives around them."""
    starts = [i.starts_at for i in items if i.starts_at is not None]
    lows = [s - ALTERNATIVES_BEFORE for s in starts] + ([period[0]] if period else [])
    highs = [s + ALTERNATIVES_AFTER for s in starts] + ([period[1] + ALTERNATIVES_AFTER] if period else [])
    if not lows:
        return now, now + timedelta(days=1)
    return max(min(lows), now), max(max(highs), now + timedelta(days=1))


def _period_words(appointment_type: AppointmentType, period: tuple[datetime, datetime]) -> dict[str, str]:
    zone = appointment_type.tenant.zone
    return {
        "start": period[0].astimezone(zone).strftime("%-d %b %Y"),
        "end": (period[1] - timedelta(seconds=1)).astimezone(zone).strftime("%-d %b %Y"),
    }


def _type_check(appointment_type: AppointmentType) -> None:
    if appointment_type.is_group_session:
        raise BookingError(
            _("Block booking is for one-to-one appointments; book group sessions from the diary.")
        )


class _Diary:
    """Every calendar of the type as the engine sees it, in memory: when each could start the type
    (`valid`, epoch-second intervals), and the load and turn the allocation strategy orders by.
    Taking a start consumes that calendar's time, buffers included, as its assignment would."""

    def __init__(
        self,
        appointment_type: AppointmentType,
        rules: engine.SlotRules,
        requirements: list[frozenset[Hashable]],
        valid: dict[Hashable, list[Interval]],
        loads: dict[tuple[int, int], int],
        turns: dict[int, int],
        names: dict[int, str],
    ) -> None:
        self.appointment_type = appointment_type
        self.rules = rules
        self.requirements = requirements
        self.valid = valid
        self.loads = loads
        self.turns = turns
        self.names = names
        self.zone = appointment_type.tenant.zone
        self.eligible = sorted({key for seat in requirements for key in seat}, key=str)
        self.next_turn = max(turns.values(), default=0) + 1

    @classmethod
    def read(
        cls, appointment_type: AppointmentType, reach: tuple[datetime, datetime], now: datetime
    ) -> _Diary:
        """Open time (the supply cache) and booked time, read once for the whole reach."""
        try:
            window = booking_window(appointment_type, reach[0], reach[1], now=now, apply_notice=True)
        except InvalidWindow:
            window = None
        if window is None:
            rules = engine.SlotRules(60, 0, 0, 0, 0, ())
            return cls(appointment_type, rules, [], {}, {}, {}, {})
        supply = supply_for(appointment_type, window)
        rules = window.rules
        week_lo = cls._monday(appointment_type, rules.earliest_start)
        week_hi = cls._monday(appointment_type, rules.latest_start) + 7 * DAY + DAY
        lo, hi = min(window.reach[0], week_lo), max(window.reach[1], week_hi)
        rows = _booked_rows(appointment_type.tenant_id, supply.officers, supply.resources, lo, hi)
        moment = now.timestamp()
        busy: dict[Hashable, list[Interval]] = defaultdict(list)
        loads: dict[tuple[int, int], int] = defaultdict(int)
        for officer_id, resource_id, start, end, expires in rows:
            key = ("officer", officer_id) if officer_id else ("resource", resource_id)
            if expires is None or expires > moment:
                busy[key].append((int(start), int(end)))
            if officer_id:  # the least-loaded strategy counts lapsed holds too, as `allocate` does
                week = cls._monday(appointment_type, int(start))
                while week < end:
                    loads[(officer_id, week)] += int(end - start)
                    week = cls._monday(appointment_type, week + 7 * DAY + 3600)
        for key, spans in supply.external_busy.items():
            busy[key].extend(spans)
        valid = {
            key: engine.valid_starts(
                rules, engine.Calendar(key=key, open=open_time, busy=normalise(busy[key]))
            )
            for key, open_time in supply.open.items()
        }
        turns: dict[int, int] = {}
        if appointment_type.allocation_strategy == AllocationStrategy.ROUND_ROBIN:
            turns = dict(
                BookingAssignment.objects.filter(
                    officer_id__in=supply.officers, booking__appointment_type=appointment_type
                )
                .values("officer_id")
                .annotate(last=Max("pk"))
                .values_list("officer_id", "last")
            )
        names = dict(Officer.objects.filter(pk__in=supply.officers).values_list("pk", "user__full_name"))
        return cls(appointment_type, rules, supply.requirements, valid, dict(loads), turns, names)

    @staticmethod
    @lru_cache(maxsize=4096)
    def _monday_of(zone: ZoneInfo, quarter_hour: int) -> int:
        local = from_epoch(quarter_hour * 900).astimezone(zone)
        monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
        return to_epoch(monday)

    @classmethod
    def _monday(cls, appointment_type: AppointmentType, moment: int) -> int:
        """The local Monday midnight starting the week of `moment` (zones are offset by quarter hours)."""
        return cls._monday_of(appointment_type.tenant.zone, moment // 900)

    def _free(self, key: Hashable, start: int) -> bool:
        spans = self.valid.get(key, ())
        i = bisect_right(spans, (start, float("inf"))) - 1
        return i >= 0 and spans[i][1] > start

    def _on_grid(self, start: int) -> bool:
        grid = self.rules.grid
        i = bisect_left(grid, start)
        return i < len(grid) and grid[i] == start

    def _next_start(self, key: Hashable, start: int) -> int | None:
        """The first grid start at or after `start` at which this calendar is free."""
        spans, grid = self.valid.get(key, ()), self.rules.grid
        i = max(bisect_right(spans, (start, float("inf"))) - 1, 0)
        while i < len(spans):
            lo, hi = spans[i]
            g = bisect_left(grid, max(lo, start))
            if g < len(grid) and grid[g] < hi:
                return grid[g]
            i += 1
        return None

    def candidates(self, start: int) -> list[list[Hashable]] | None:
        if not self.requirements or not self._on_grid(start):
            return None
        seats = [[key for key in seat if self._free(key, start)] for seat in self.requirements]
        return seats if all(seats) else None

    def earliest(self, start: int, before: int) -> int | None:
        """The first start in [start, before) at which every seat can be filled."""
        while start < before:
            found = [s for key in self.eligible if (s := self._next_start(key, start)) is not None]
            if not found or min(found) >= before:
                return None
            first = min(found)
            # One seat: any calendar free at a grid start fills it. Several: they must fill together.
            if len(self.requirements) == 1 or self.allocate(first, dry=True) is not None:
                return first
            start = first + 1
        return None

    def allocate(
        self, start: int, *, dry: bool = False
    ) -> tuple[tuple[int, ...], tuple[int, ...], str] | None:
        """Distinct free calendars for every seat at `start`, officers in the type's strategy's order
        (with the reason `allocate` gives), or None."""
        seats = self.candidates(start)
        if seats is None:
            return None
        strategy = self.appointment_type.allocation_strategy
        week = self._monday(self.appointment_type, start)
        turns, loads = self.turns, self.loads

        def rank(key: Hashable) -> tuple[Any, ...]:
            kind, pk = key  # type: ignore[misc]
            if kind != "officer" or strategy == AllocationStrategy.NAMED_OFFICER:
                return (pk,)
            if strategy == AllocationStrategy.ROUND_ROBIN:
                return (pk in turns, turns.get(pk, 0), pk)
            return (loads.get((pk, week), 0), pk)

        chosen = engine.assign([sorted(seat, key=rank) for seat in seats])
        if chosen is None:
            return None
        if dry:
            return (), (), ""
        officers = tuple(k[1] for k in chosen if k[0] == "officer")  # type: ignore[index]
        resources = tuple(k[1] for k in chosen if k[0] == "resource")  # type: ignore[index]
        if strategy == AllocationStrategy.NAMED_OFFICER:
            reason = _("the service is always taken by this officer")
        elif strategy == AllocationStrategy.ROUND_ROBIN:
            first = officers[0] if officers else None
            reason = (
                _("next in turn for this service") if first in self.turns else _("first turn at this service")
            )
        else:
            hours = self.loads.get((officers[0], week), 0) / 3600 if officers else 0
            reason = _("least loaded in the week of %(monday)s (%(hours).1f h booked)") % {
                "monday": from_epoch(week).astimezone(self.zone).strftime("%-d %B %Y"),
                "hours": hours,
            }
        chosen_names = ", ".join(self.names.get(o, str(o)) for o in officers)
        return officers, resources, f"{chosen_names}: {reason}"[:300]

    def take(self, start: int, officer_ids: Collection[int], resource_ids: Collection[int]) -> None:
        """Consumes the calendars' time for an appointment at `start` (buffers included)."""
        rules = self.rules
        occupied = (start - rules.buffer_before, start + rules.duration + rules.buffer_after)
        lead, trail = rules.duration + rules.buffer_after - 1, rules.buffer_before
        forbidden = [(occupied[0] - lead, occupied[1] + trail)]
        keys = [("officer", o) for o in officer_ids] + [("resource", r) for r in resource_ids]
        for key in keys:
            if key in self.valid:
                self.valid[key] = subtract(self.valid[key], forbidden)
        for officer_id in officer_ids:
            week = self._monday(self.appointment_type, start)
            self.loads[(officer_id, week)] = self.loads.get((officer_id, week), 0) + occupied[1] - occupied[0]
            self.turns[officer_id] = self.next_turn
            self.next_turn += 1

    def free_for(self, start: int, officer_ids: Collection[int], resource_ids: Collection[int]) -> bool:
        keys = [("officer", o) for o in officer_ids] + [("resource", r) for r in resource_ids]
        return self._on_grid(start) and all(self._free(key, start) for key in keys)

    def nearest(self, around: int, *, after: int | None = None) -> tuple[datetime, ...]:
        """Up to ALTERNATIVES free starts nearest `around` (after `after` when given), earliest first."""
        found: list[int] = []
        if after is not None:
            start = after
            while len(found) < ALTERNATIVES and (s := self.earliest(start, self.rules.latest_start + 1)):
                found.append(s)
                start = s + 1
            return tuple(from_epoch(s) for s in found)
        grid = self.rules.grid
        i = bisect_left(grid, around)
        lo, hi = i - 1, i
        limit = ALTERNATIVES_AFTER.total_seconds()
        while len(found) < ALTERNATIVES and (lo >= 0 or hi < len(grid)):
            take_hi = hi < len(grid) and (lo < 0 or grid[hi] - around <= around - grid[lo])
            point = grid[hi] if take_hi else grid[lo]
            if abs(point - around) > limit:
                break
            if take_hi:
                hi += 1
            else:
                lo -= 1
            if point >= self.rules.earliest_start and self.allocate(point, dry=True) is not None:
                found.append(point)
        return tuple(from_epoch(s) for s in sorted(found))

    def with_alternatives(
        self, outcomes: list[BlockOutcome], period: tuple[datetime, datetime] | None, known: set[int]
    ) -> list[BlockOutcome]:
        """Conflicts get the free starts nearest what they asked (after what the block took): an explicit
        start the nearest ones, a programme item the first ones after its period."""
        answered = []
        after_period: tuple[datetime, ...] | None = None
        for outcome in outcomes:
            if outcome.placed or outcome.customer_id not in known:
                answered.append(outcome)
                continue
            if outcome.asked is not None:
                alternatives = self.nearest(to_epoch(outcome.asked))
            else:
                if after_period is None:
                    after_period = self.nearest(0, after=to_epoch(period[1])) if period else ()
                alternatives = after_period
            answered.append(replace(outcome, alternatives=alternatives))
        return answered


def _booked_rows(
    tenant_id: int, officers: list[int], resources: list[int], lo: int, hi: int
) -> list[tuple[int | None, int | None, float, float, float | None]]:
    """Active assignments of these calendars overlapping [lo, hi): officer, resource, occupied span (epoch
    seconds) and, for a hold, its expiry. One statement, epoch numbers straight from PostgreSQL."""
    sql = f"""
        SELECT a.officer_id, a.resource_id,
               date_part('epoch', lower(a.occupied)), date_part('epoch', upper(a.occupied)),
               date_part('epoch', h.hold_expires_at)
        FROM {BookingAssignment._meta.db_table} a
        LEFT JOIN {Booking._meta.db_table} h
          ON h.id = a.booking_id AND h.tenant_id = a.tenant_id AND h.status = %(held)s
        WHERE a.tenant_id = %(tenant)s AND a.is_active
          AND a.occupied && tstzrange(to_timestamp(%(lo)s), to_timestamp(%(hi)s))
          AND (a.officer_id = ANY(%(officers)s::bigint[]) OR a.resource_id = ANY(%(resources)s::bigint[]))
    """
    params = {
        "tenant": tenant_id,
        "held": BookingStatus.HELD,
        "lo": lo,
        "hi": hi,
        "officers": list(officers),
        "resources": list(resources),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# --- the write phase ---------------------------------------------------------------------------------------


def block_book(
    *,
    plan: BlockPlan,
    mode: str,
    tell_customers: bool,
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
    writer: str = "bulk",
) -> BlockResult:
    """Writes a checked plan in one transaction, re-checked under the calendars' row locks: an item whose
    time was taken since the check becomes a conflict with alternatives (never a double booking).
    All-or-nothing writes nothing if any item is in conflict; best-effort writes the rest.

    Each booking is confirmed for its customer with the customer's record as its contact details, with an
    audit event ("block_booked"); with `tell_customers` its confirmation and reminders are queued.
    Repeating the call with the same `idempotency_key` and plan books nothing twice and answers with the
    first call's bookings. `writer="each"` writes item by item through `place` (for measuring).
    """
    started = clock.perf_counter()
    now = now or timezone.now()
    appointment_type = plan.appointment_type
    _type_check(appointment_type)
    idempotency = idempotency_for(
        idempotency_key,
        "booking.block",
        appointment_type=appointment_type.pk,
        plan=[o.as_data() for o in plan.outcomes],
        mode=mode,
        tell=tell_customers,
    )
    if previous := _replayed(idempotency, plan, mode, now):
        return previous
    try:
        with transaction.atomic():
            if previous := _replayed(idempotency, plan, mode, now, lock=True):
                return previous
            outcomes = _recheck(plan, now)
            conflicted = any(not o.placed for o in outcomes)
            if mode == BlockMode.ALL_OR_NOTHING and conflicted:
                return BlockResult(mode, False, outcomes, clock.perf_counter() - started)
            outcomes = _write(
                appointment_type,
                outcomes,
                mode=mode,
                tell_customers=tell_customers,
                actor=actor,
                now=now,
                block=idempotency.key if idempotency else "",
                writer=writer,
            )
            if mode == BlockMode.ALL_OR_NOTHING and any(not o.placed for o in outcomes):
                transaction.set_rollback(True)
                outcomes = [replace(o, booking=None) for o in outcomes]
                return BlockResult(mode, False, outcomes, clock.perf_counter() - started)
            first = next((o.booking for o in outcomes if o.booking is not None), None)
            if first is not None:
                idempotency_record(idempotency, booking=first, now=now)
    except IntegrityError:
        if previous := _replayed(idempotency, plan, mode, now):
            return previous
        raise
    saved = any(o.booking is not None for o in outcomes)
    return BlockResult(mode, saved, outcomes, clock.perf_counter() - started)


def _replayed(
    idempotency: Idempotency | None, plan: BlockPlan, mode: str, now: datetime, *, lock: bool = False
) -> BlockResult | None:
    """The result of an earlier call with this key: its bookings (found by their audit events, which name
    the block) in the plan's places."""
    if idempotency is None:
        return None
    if lock:
        # Two copies of one request: the second waits here for the first to commit or roll back.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"bookings.block:{plan.appointment_type.tenant_id}:{idempotency.key}"],
            )
    first = replayed(idempotency, now=now)
    if first is None:
        return None
    events = BookingEvent.objects.filter(
        action=BLOCK_ACTION, booking_id__gte=first.pk, after__block=idempotency.key
    ).select_related("booking")
    bookings = {event.after.get("item"): event.booking for event in events}
    outcomes = [replace(o, booking=bookings.get(o.index)) for o in plan.outcomes]
    outcomes = [
        o if o.booking is not None or not o.placed else replace(o, reason=_("Not booked.")) for o in outcomes
    ]
    return BlockResult(mode, True, outcomes, 0.0, replayed=True)


def _recheck(plan: BlockPlan, now: datetime) -> list[BlockOutcome]:
    """The plan against the booked time as it is now, read under the planned calendars' row locks (taken
    in a fixed order, as `placement` takes them, so concurrent writers queue instead of deadlocking)."""
    appointment_type = plan.appointment_type
    placed = plan.placed
    officer_ids = sorted({o for item in placed for o in item.officer_ids})
    resource_ids = sorted({r for item in placed for r in item.resource_ids})
    locked_officers = set(
        Officer.objects.select_for_update(of=("self",))
        .filter(pk__in=officer_ids, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    locked_resources = set(
        Resource.objects.select_for_update()
        .filter(pk__in=resource_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    known = set(
        Customer.objects.filter(pk__in={o.customer_id for o in plan.outcomes}).values_list("pk", flat=True)
    )
    starts = [o.starts_at for o in placed] + [o.asked for o in plan.outcomes if o.asked]
    period = (
        (min(starts), max(starts) + timedelta(minutes=appointment_type.duration_minutes)) if starts else None
    )
    diary = _Diary.read(appointment_type, _reach([], period, now), now)
    outcomes = []
    for outcome in plan.outcomes:
        if not outcome.placed:
            outcomes.append(outcome)
            continue
        start = to_epoch(outcome.starts_at)
        if outcome.customer_id not in known:
            outcomes.append(_unplaced(outcome, _("No such customer.")))
        elif not (
            set(outcome.officer_ids) <= locked_officers and set(outcome.resource_ids) <= locked_resources
        ):
            outcomes.append(
                _unplaced(outcome, _("An officer or resource of the plan is no longer bookable."))
            )
        elif outcome.starts_at <= now or not diary.free_for(start, outcome.officer_ids, outcome.resource_ids):
            outcomes.append(_unplaced(outcome, _("That time was taken after the check.")))
        else:
            diary.take(start, outcome.officer_ids, outcome.resource_ids)
            outcomes.append(outcome)
    lost = {o.index for o in plan.placed} - {o.index for o in outcomes if o.placed}
    return [
        replace(o, alternatives=diary.nearest(to_epoch(o.asked))) if o.index in lost and o.asked else o
        for o in outcomes
    ]


def _unplaced(outcome: BlockOutcome, reason: str) -> BlockOutcome:
    """A planned item that cannot be written: the conflict names the time it had, alternatives to follow."""
    return replace(outcome, asked=outcome.asked or outcome.starts_at, starts_at=None, reason=reason)


def _write(
    appointment_type: AppointmentType,
    outcomes: list[BlockOutcome],
    *,
    mode: str,
    tell_customers: bool,
    actor: User | None,
    now: datetime,
    block: str,
    writer: str,
) -> list[BlockOutcome]:
    placed = [o for o in outcomes if o.placed]
    if not placed:
        return outcomes
    customers = Customer.objects.in_bulk([o.customer_id for o in placed])
    rules_span = (appointment_type.buffer_before, appointment_type.duration + appointment_type.buffer_after)
    _holds_in_the_way_expire(placed, rules_span, now)
    bookings = {
        o.index: _booking_new(appointment_type, o, customers[o.customer_id], actor, now) for o in placed
    }
    written: dict[int, Booking] = {}
    events: dict[int, BookingEvent] = {}
    if writer == "bulk":
        try:
            with transaction.atomic():
                events = _insert_bulk(placed, bookings, rules_span, actor, now, block)
                written = {index: bookings[index] for index in events}
        except (IntegrityError, OperationalError) as error:
            reraise_unless_conflict(error)  # the exclusion constraints refused: find who lost, one by one
            for booking in bookings.values():
                booking.pk, booking._state.adding = None, True
            written, events = {}, {}
    lost: set[int] = set()
    if not written:
        for outcome in placed:
            booking = bookings[outcome.index]
            if event := _insert_one(outcome, booking, actor, now, block):
                written[outcome.index], events[outcome.index] = booking, event
            else:
                lost.add(outcome.index)  # all-or-nothing goes on too, to report every item that lost
    result = []
    for outcome in outcomes:
        if outcome.index in written:
            booking = written[outcome.index]
            booking.appointment_type = appointment_type
            booking.customer = customers[outcome.customer_id]
            result.append(replace(outcome, booking=booking))
        elif outcome.index in lost:
            result.append(_unplaced(outcome, _("That time was taken after the check.")))
        else:
            result.append(outcome)
    if tell_customers and written and not (lost and mode == BlockMode.ALL_OR_NOTHING):
        for index, booking in written.items():
            customer_tell(booking=booking, kind=MessageKind.CONFIRMATION, event=events[index], now=now)
    return result


def _holds_in_the_way_expire(
    placed: list[BlockOutcome], span: tuple[timedelta, timedelta], now: datetime
) -> None:
    """Lapsed holds are free time, but their assignments refuse an insert until they are expired."""
    lo = min(o.starts_at for o in placed) - span[0]
    hi = max(o.starts_at for o in placed) + span[1]
    officers = {o for item in placed for o in item.officer_ids}
    in_the_way = BookingAssignment.objects.filter(
        is_active=True, occupied__overlap=(lo, hi), officer_id__in=officers
    ).values("booking_id")
    holds_expire_lapsed(
        Booking.objects.filter(status=BookingStatus.HELD, hold_expires_at__lte=now, pk__in=in_the_way), now
    )


def _booking_new(
    appointment_type: AppointmentType,
    outcome: BlockOutcome,
    customer: Customer,
    actor: User | None,
    now: datetime,
) -> Booking:
    contact = ContactDetails.of_customer(customer)
    assert outcome.starts_at is not None
    return Booking(
        tenant_id=appointment_type.tenant_id,
        appointment_type=appointment_type,
        customer=customer,
        status=BookingStatus.CONFIRMED,
        starts_at=outcome.starts_at,
        ends_at=outcome.starts_at + appointment_type.duration,
        priority=appointment_type.default_priority,
        channel=Channel.STAFF,
        allocation_reason=outcome.allocation_reason,
        contact_name=contact.name,
        contact_email=contact.email,
        contact_phone=contact.phone,
        contact_by_email=contact.by_email,
        contact_by_sms=contact.by_sms,
        contact_language=contact.language,
        contact_consent_at=now if contact.consent else None,
        accessibility_needs=contact.accessibility_needs,
        seat=1,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )


def _insert_bulk(
    placed: list[BlockOutcome],
    bookings: dict[int, Booking],
    span: tuple[timedelta, timedelta],
    actor: User | None,
    now: datetime,
    block: str,
) -> dict[int, BookingEvent]:
    """One INSERT per table; answers the events by item. References are drawn distinct, and the unique
    constraint still decides (a refused batch draws again)."""
    rows = [bookings[o.index] for o in placed]
    for attempt in range(REFERENCE_ATTEMPTS):
        drawn: set[str] = set()
        for booking in rows:
            while (reference := reference_new()) in drawn:
                pass
            drawn.add(reference)
            booking.reference = booking.session_key = reference
        try:
            with transaction.atomic():
                Booking.objects.bulk_create(rows)
            break
        except IntegrityError as error:
            if not reference_taken(error) or attempt + 1 == REFERENCE_ATTEMPTS:
                raise
            for booking in rows:
                booking.pk, booking._state.adding = None, True
    assignments: dict[int, list[BookingAssignment]] = {}
    for outcome in placed:
        booking = bookings[outcome.index]
        occupied = DateTimeTZRange(booking.starts_at - span[0], booking.starts_at + span[1])
        assignments[outcome.index] = [
            BookingAssignment(
                tenant_id=booking.tenant_id,
                booking=booking,
                occupied=occupied,
                session_key=booking.session_key,
                **{taken: calendar_id},
            )
            for taken, ids in (("officer_id", outcome.officer_ids), ("resource_id", outcome.resource_ids))
            for calendar_id in ids
        ]
    BookingAssignment.objects.bulk_create([a for o in placed for a in assignments[o.index]])
    events = {
        o.index: _event(bookings[o.index], assignments[o.index], o.index, actor, now, block) for o in placed
    }
    BookingEvent.objects.bulk_create(list(events.values()))
    return events


def _insert_one(
    outcome: BlockOutcome, booking: Booking, actor: User | None, now: datetime, block: str
) -> BookingEvent | None:
    """One item through `place` (which reads its slot again and lets the constraints refuse it), in its
    own savepoint: its audit event, or None when its time is gone."""
    assert outcome.starts_at is not None
    written: list[BookingEvent] = []

    def event(assignments: list[BookingAssignment]) -> BookingEvent:
        written.append(_event(booking, assignments, outcome.index, actor, now, block))
        return written[-1]

    for attempt in range(REFERENCE_ATTEMPTS):
        booking.reference = reference_new()
        written.clear()
        try:
            with transaction.atomic():
                place(booking, outcome.starts_at, now=now, officer_ids=outcome.officer_ids, event=event)
            return written[-1]
        except PLACEMENT_CONFLICTS as error:
            booking.pk, booking._state.adding = None, True
            if reference_taken(error) and attempt + 1 < REFERENCE_ATTEMPTS:
                continue
            reraise_unless_conflict(error)
            return None
    return None


def _event(
    booking: Booking,
    assignments: list[BookingAssignment],
    index: int,
    actor: User | None,
    now: datetime,
    block: str,
) -> BookingEvent:
    after = {**booking_snapshot(booking, assignments=assignments), "block": block, "item": index}
    return booking_event_new(
        booking, BLOCK_ACTION, actor=actor, now=now, after=after, reason=_("Block booking")
    )
