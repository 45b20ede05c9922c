"""Local wall-clock time in a tenant's zone turned into UTC epoch seconds, correct across DST.

Opening hours are written in wall-clock terms ("09:00-17:00 on Mondays"), but the engine works on
UTC instants. Two kinds of wall time need care:

* a gap (spring forward): wall times in the skipped hour do not exist;
* a repeat (autumn back): wall times in the repeated hour happen twice. We always take the first
  occurrence (``fold=0``) so that nothing is offered twice.

Instants are whole seconds; sub-second parts of ``time`` values are ignored.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from scheduling.availability.intervals import Interval, normalise

MIDNIGHT = time(0)

_SECOND = timedelta(seconds=1)
_ONE_DAY = timedelta(days=1)
_DAY_SECONDS = 86400
_MINUTES_PER_DAY = 1440
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_ORDINAL = date(1970, 1, 1).toordinal()


@dataclass(frozen=True)
class WeeklyRule:
    """A wall-clock span repeated every week; ``end == time(0)`` means the end of the day.

    ``valid_from`` and ``valid_until`` are inclusive local dates; ``None`` leaves that side open.
    """

    weekday: int  # 0 = Monday, as date.weekday()
    start: time
    end: time
    valid_from: date | None = None
    valid_until: date | None = None

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) to 6 (Sunday), got {self.weekday}")
        if self.end != MIDNIGHT and self.end <= self.start:
            raise ValueError(
                f"rule end {self.end} must be after start {self.start} (use 00:00 for end of day)"
            )

    def applies_on(self, day: date) -> bool:
        """Whether this rule produces a span on the given local date."""
        if day.weekday() != self.weekday:
            return False
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.valid_until is None or day <= self.valid_until


def local_to_epoch(day: date, t: time, tz: ZoneInfo) -> int | None:
    """The UTC instant of a wall-clock time, or None when that wall time does not exist.

    An ambiguous wall time resolves to its first occurrence.
    """
    local = _local_datetime(day, t, tz, fold=0)
    # In a gap zoneinfo still answers (using the pre-transition offset), so only a round trip
    # tells us the wall time was never shown on a clock.
    back = local.astimezone(UTC).astimezone(tz)
    if back.replace(tzinfo=None, fold=0) != local.replace(tzinfo=None):
        return None
    return (local - _EPOCH) // _SECOND


def local_span_to_interval(day: date, start: time, end: time, tz: ZoneInfo) -> Interval | None:
    """A wall-clock span on one local date as a UTC interval, or None if it is empty.

    ``end == time(0)`` is the midnight that ends the day. An endpoint that falls in a DST gap
    moves to the instant the gap ends, so the span keeps exactly the time that really exists.
    """
    lo = _resolve(day, start, tz)
    hi = _resolve(day + _ONE_DAY, MIDNIGHT, tz) if end == MIDNIGHT else _resolve(day, end, tz)
    return (lo, hi) if lo < hi else None


def whole_days(first: date, last: date, tz: ZoneInfo) -> Interval:
    """[local midnight starting ``first``, local midnight ending ``last``)."""
    _check_date_range(first, last)
    return (_resolve(first, MIDNIGHT, tz), _resolve(last + _ONE_DAY, MIDNIGHT, tz))


def weekly_intervals(rules: Sequence[WeeklyRule], first: date, last: date, tz: ZoneInfo) -> list[Interval]:
    """Every rule expanded on every matching local date in [first, last], as normalised UTC intervals."""
    _check_date_range(first, last)
    spans: list[Interval] = []
    for day in _dates(first, last):
        for rule in rules:
            if rule.applies_on(day):
                span = local_span_to_interval(day, rule.start, rule.end, tz)
                if span is not None:
                    spans.append(span)
    return normalise(spans)


def slot_grid(first: date, last: date, tz: ZoneInfo, granularity_minutes: int) -> list[int]:
    """Candidate slot starts: wall times 00:00, +g, +2g, ... on every local date in [first, last].

    Wall times in a DST gap are skipped and repeated wall times appear once (first occurrence),
    so the result is strictly increasing.

    Performance: zoneinfo is consulted about twice per day; only a day whose midnight offsets
    differ (a transition day) needs a binary search for the transition instant, and even then each
    grid point is placed with integer arithmetic.
    """
    _check_granularity(granularity_minutes)
    _check_date_range(first, last)
    step = granularity_minutes * 60
    starts: list[int] = []
    offset = _midnight_offset(first, tz)
    for day in _dates(first, last):
        next_offset = _midnight_offset(day + _ONE_DAY, tz)
        wall_midnight = _naive_seconds(day, MIDNIGHT)
        if offset == next_offset:
            utc_midnight = wall_midnight - offset
            starts.extend(range(utc_midnight, utc_midnight + _DAY_SECONDS, step))
        else:
            starts.extend(_grid_across_transition(wall_midnight, offset, next_offset, step, tz))
        offset = next_offset
    return starts


def _grid_across_transition(
    wall_midnight: int, before: int, after: int, step: int, tz: ZoneInfo
) -> list[int]:
    """Grid instants for a day on which the UTC offset changes once, from ``before`` to ``after``."""
    # The transition's wall time (in the old offset) lies within this day, which bounds the search.
    transition = _first_change(wall_midnight - before - 1, wall_midnight + _DAY_SECONDS - before, tz)
    instants: list[int] = []
    for wall in range(wall_midnight, wall_midnight + _DAY_SECONDS, step):
        # A wall time is real under the old offset if that lands before the transition, and under
        # the new offset if that lands at or after it. When both hold (a repeated hour) the old
        # offset gives the earlier instant, i.e. the first occurrence.
        if wall - before < transition:
            instants.append(wall - before)
        elif wall - after >= transition:
            instants.append(wall - after)
    return instants


def _resolve(day: date, t: time, tz: ZoneInfo) -> int:
    """The instant of a wall time, or the end of the gap it falls in."""
    instant = local_to_epoch(day, t, tz)
    return instant if instant is not None else _gap_end(day, t, tz)


def _gap_end(day: date, t: time, tz: ZoneInfo) -> int:
    """The transition instant that ends the DST gap containing a non-existent wall time."""
    # For a wall time in a gap, the pre-transition offset (fold=0) lands after the transition and
    # the post-transition offset (fold=1) lands before it, so they bracket it.
    after = (_local_datetime(day, t, tz, fold=0) - _EPOCH) // _SECOND
    before = (_local_datetime(day, t, tz, fold=1) - _EPOCH) // _SECOND
    return _first_change(before, after, tz)


def _first_change(lo: int, hi: int, tz: ZoneInfo) -> int:
    """The first instant in (lo, hi] whose UTC offset differs from the offset at ``lo``.

    Assumes a single offset change in the range, which holds for any real zone over a day.
    """
    base = _offset_at(lo, tz)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _offset_at(mid, tz) == base:
            lo = mid
        else:
            hi = mid
    return hi


def _offset_at(instant: int, tz: ZoneInfo) -> int:
    offset = datetime.fromtimestamp(instant, tz).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset // _SECOND


def _midnight_offset(day: date, tz: ZoneInfo) -> int:
    offset = _local_datetime(day, MIDNIGHT, tz, fold=0).utcoffset()
    assert offset is not None  # a ZoneInfo always knows its offset
    return offset // _SECOND


def _local_datetime(day: date, t: time, tz: ZoneInfo, fold: int) -> datetime:
    return datetime(day.year, day.month, day.day, t.hour, t.minute, t.second, fold=fold, tzinfo=tz)


def _naive_seconds(day: date, t: time) -> int:
    """Seconds since the epoch of a wall time read as if it were UTC."""
    return (day.toordinal() - _EPOCH_ORDINAL) * _DAY_SECONDS + t.hour * 3600 + t.minute * 60 + t.second


def _dates(first: date, last: date) -> list[date]:
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def _check_date_range(first: date, last: date) -> None:
    if last < first:
        raise ValueError(f"last date {last} is before first date {first}")


def _check_granularity(granularity_minutes: int) -> None:
    if granularity_minutes <= 0:
        raise ValueError(f"granularity must be a positive number of minutes, got {granularity_minutes}")
    if _MINUTES_PER_DAY % granularity_minutes:
        raise ValueError(f"granularity must divide 1440 minutes (one day), got {granularity_minutes}")
