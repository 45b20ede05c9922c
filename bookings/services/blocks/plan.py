"""Block booking, the check phase: every item planned in memory against one read of availability."""

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

from django.db import connection
from django.db.models import Max, TextChoices
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts.models import Officer
from bookings.errors import BookingError
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingStatus,
    Customer,
)
from scheduling.availability import engine
from scheduling.availability.intervals import Interval, normalise, subtract
from scheduling.availability.supply import DAY, booking_window, from_epoch, supply_for, to_epoch
from scheduling.errors import InvalidWindow
from scheduling.models import AllocationStrategy, AppointmentType

from ..placement import (
    start_check,
)

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
    type_check(appointment_type)
    if any(item.starts_at is None for item in items) and period is None:
        raise BookingError(_("Give the period to book the programme in."))
    known = set(Customer.objects.filter(pk__in={i.customer_id for i in items}).values_list("pk", flat=True))
    diary = Diary.read(appointment_type, reach(items, period, now), now)
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


def reach(
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


def type_check(appointment_type: AppointmentType) -> None:
    if appointment_type.is_group_session:
        raise BookingError(
            _("Block booking is for one-to-one appointments; book group sessions from the diary.")
        )


class Diary:
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
    ) -> Diary:
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
