"""Wall-clock to UTC conversion, checked around real DST transitions."""

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.availability.wallclock import (
    WeeklyRule,
    local_span_to_interval,
    local_to_epoch,
    slot_grid,
    weekly_intervals,
    whole_days,
)

LONDON = ZoneInfo("Europe/London")
SPRING = date(2026, 3, 29)  # 01:00 GMT -> 02:00 BST: local 01:00-02:00 does not exist
AUTUMN = date(2026, 10, 25)  # 02:00 BST -> 01:00 GMT: local 01:00-02:00 happens twice
HOUR = 3600


def utc(*args: int) -> int:
    return int(datetime(*args, tzinfo=UTC).timestamp())


def wall(instant: int, tz: ZoneInfo) -> datetime:
    return datetime.fromtimestamp(instant, tz)


def wall_times(instants: list[int], tz: ZoneInfo) -> list[str]:
    return [wall(i, tz).strftime("%H:%M") for i in instants]


# --- local_to_epoch -------------------------------------------------------------------------------


def test_local_to_epoch_uses_the_zone_offset_of_the_day() -> None:
    assert local_to_epoch(date(2026, 1, 5), time(9), LONDON) == utc(2026, 1, 5, 9)
    assert local_to_epoch(date(2026, 6, 1), time(9), LONDON) == utc(2026, 6, 1, 8)


def test_local_to_epoch_is_none_in_the_spring_gap() -> None:
    assert local_to_epoch(SPRING, time(1), LONDON) is None
    assert local_to_epoch(SPRING, time(1, 59), LONDON) is None
    assert local_to_epoch(SPRING, time(0, 59), LONDON) == utc(2026, 3, 29, 0, 59)
    assert local_to_epoch(SPRING, time(2), LONDON) == utc(2026, 3, 29, 1)


def test_local_to_epoch_takes_the_first_occurrence_of_a_repeated_time() -> None:
    assert local_to_epoch(AUTUMN, time(1, 30), LONDON) == utc(2026, 10, 25, 0, 30)
    assert local_to_epoch(AUTUMN, time(2), LONDON) == utc(2026, 10, 25, 2)


# --- local_span_to_interval and whole_days --------------------------------------------------------


def test_span_ending_at_midnight_covers_the_real_length_of_the_day() -> None:
    spring = local_span_to_interval(SPRING, time(0), time(0), LONDON)
    autumn = local_span_to_interval(AUTUMN, time(0), time(0), LONDON)
    assert spring == (utc(2026, 3, 29, 0), utc(2026, 3, 29, 23))
    assert autumn == (utc(2026, 10, 24, 23), utc(2026, 10, 26, 0))


def test_span_endpoints_in_the_gap_move_to_the_end_of_the_gap() -> None:
    gap_end = utc(2026, 3, 29, 1)
    assert local_span_to_interval(SPRING, time(1, 30), time(3), LONDON) == (gap_end, utc(2026, 3, 29, 2))
    assert local_span_to_interval(SPRING, time(0, 30), time(1, 30), LONDON) == (
        utc(2026, 3, 29, 0, 30),
        gap_end,
    )


def test_span_that_does_not_exist_or_is_inverted_is_none() -> None:
    assert local_span_to_interval(SPRING, time(1, 15), time(1, 45), LONDON) is None
    assert local_span_to_interval(date(2026, 1, 5), time(10), time(9), LONDON) is None


def test_whole_day_lengths_follow_dst() -> None:
    start, end = whole_days(SPRING, SPRING, LONDON)
    assert end - start == 23 * HOUR
    start, end = whole_days(AUTUMN, AUTUMN, LONDON)
    assert end - start == 25 * HOUR
    start, end = whole_days(date(2026, 3, 28), date(2026, 3, 30), LONDON)
    assert (start, end) == (utc(2026, 3, 28, 0), utc(2026, 3, 30, 23))


# --- weekly_intervals -----------------------------------------------------------------------------


def test_nine_to_five_is_shifted_in_summer_but_not_in_winter() -> None:
    rule = WeeklyRule(weekday=0, start=time(9), end=time(17))
    assert weekly_intervals([rule], date(2026, 6, 1), date(2026, 6, 7), LONDON) == [
        (utc(2026, 6, 1, 8), utc(2026, 6, 1, 16))
    ]
    assert weekly_intervals([rule], date(2026, 1, 5), date(2026, 1, 11), LONDON) == [
        (utc(2026, 1, 5, 9), utc(2026, 1, 5, 17))
    ]


def test_validity_dates_are_inclusive() -> None:
    rule = WeeklyRule(
        weekday=0, start=time(9), end=time(17), valid_from=date(2026, 1, 12), valid_until=date(2026, 1, 19)
    )
    spans = weekly_intervals([rule], date(2026, 1, 1), date(2026, 1, 31), LONDON)
    assert spans == [
        (utc(2026, 1, 12, 9), utc(2026, 1, 12, 17)),
        (utc(2026, 1, 19, 9), utc(2026, 1, 19, 17)),
    ]


def test_open_ended_validity_and_merging_of_adjacent_rules() -> None:
    rules = [
        WeeklyRule(weekday=4, start=time(9), end=time(12), valid_until=date(2026, 1, 9)),
        WeeklyRule(weekday=4, start=time(12), end=time(0)),
        WeeklyRule(weekday=5, start=time(0), end=time(2), valid_from=date(2026, 1, 10)),
    ]
    spans = weekly_intervals(rules, date(2026, 1, 5), date(2026, 1, 16), LONDON)
    assert spans == [
        (utc(2026, 1, 9, 9), utc(2026, 1, 10, 2)),
        (utc(2026, 1, 16, 12), utc(2026, 1, 17, 0)),
    ]


def test_weekly_rule_across_the_spring_gap() -> None:
    rule = WeeklyRule(weekday=6, start=time(0), end=time(3))
    assert weekly_intervals([rule], SPRING, SPRING, LONDON) == [(utc(2026, 3, 29, 0), utc(2026, 3, 29, 2))]


# --- slot_grid ------------------------------------------------------------------------------------


def test_grid_on_spring_day_skips_the_missing_hour() -> None:
    grid = slot_grid(SPRING, SPRING, LONDON, 30)
    times = wall_times(grid, LONDON)
    assert len(grid) == 46
    assert "01:00" not in times
    assert "01:30" not in times
    assert times[:4] == ["00:00", "00:30", "02:00", "02:30"]


def test_grid_on_autumn_day_has_each_wall_time_once() -> None:
    grid = slot_grid(AUTUMN, AUTUMN, LONDON, 30)
    times = wall_times(grid, LONDON)
    assert len(grid) == 48
    assert len(set(times)) == 48
    assert all(a < b for a, b in pairwise(grid))
    # The repeated hour is offered at its first (BST) occurrence.
    assert grid[times.index("01:30")] == utc(2026, 10, 25, 0, 30)


def test_grid_on_ordinary_days() -> None:
    grid = slot_grid(date(2026, 1, 5), date(2026, 1, 6), LONDON, 15)
    assert len(grid) == 2 * 96
    assert grid[0] == utc(2026, 1, 5, 0)
    assert grid[-1] == utc(2026, 1, 6, 23, 45)


# --- validation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("granularity", [0, -15, 7, 1441])
def test_bad_granularity_is_rejected(granularity: int) -> None:
    with pytest.raises(ValueError, match="granularity"):
        slot_grid(SPRING, SPRING, LONDON, granularity)


def test_reversed_date_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="before first date"):
        slot_grid(AUTUMN, SPRING, LONDON, 30)
    with pytest.raises(ValueError, match="before first date"):
        whole_days(AUTUMN, SPRING, LONDON)
    with pytest.raises(ValueError, match="before first date"):
        weekly_intervals([], AUTUMN, SPRING, LONDON)


def test_bad_rules_are_rejected() -> None:
    with pytest.raises(ValueError, match="weekday"):
        WeeklyRule(weekday=7, start=time(9), end=time(17))
    with pytest.raises(ValueError, match="weekday"):
        WeeklyRule(weekday=-1, start=time(9), end=time(17))
    with pytest.raises(ValueError, match="after start"):
        WeeklyRule(weekday=0, start=time(17), end=time(9))
    with pytest.raises(ValueError, match="after start"):
        WeeklyRule(weekday=0, start=time(9), end=time(9))
    WeeklyRule(weekday=0, start=time(0), end=time(0))  # the whole day is fine


# --- properties -----------------------------------------------------------------------------------

ZONES = ["Europe/London", "America/New_York", "Australia/Sydney", "UTC"]
# Zones whose transitions happen at or next to midnight, to exercise the edges of a day.
MIDNIGHT_ZONES = ["America/Havana", "America/Santiago", "Asia/Beirut", "America/Asuncion"]
DIVISORS = [g for g in range(1, 1441) if 1440 % g == 0]


def transition_dates(zone: str) -> list[date]:
    tz = ZoneInfo(zone)
    day = date(2024, 1, 1)
    found = []
    while day < date(2028, 1, 1):
        following = day + timedelta(days=1)
        if (
            datetime.combine(day, time(0), tz).utcoffset()
            != datetime.combine(following, time(0), tz).utcoffset()
        ):
            found.append(day)
        day = following
    return found


TRANSITIONS = {zone: transition_dates(zone) for zone in ZONES + MIDNIGHT_ZONES}


@st.composite
def grid_case(draw: st.DrawFn, zones: list[str]) -> tuple[ZoneInfo, date, date, int]:
    zone = draw(st.sampled_from(zones))
    ordinary = st.dates(date(2024, 1, 1), date(2027, 12, 31))
    # Ranges starting a little before a transition hit the interesting days far more often.
    near_transition = st.builds(
        lambda d, back: d - timedelta(days=back),
        st.sampled_from(TRANSITIONS[zone] or [date(2025, 1, 1)]),
        st.integers(0, 2),
    )
    first = draw(st.one_of(ordinary, near_transition))
    last = first + timedelta(days=draw(st.integers(0, 4)))
    granularity = draw(st.sampled_from([g for g in DIVISORS if g >= 5]))
    return ZoneInfo(zone), first, last, granularity


def check_grid(tz: ZoneInfo, first: date, last: date, granularity: int) -> None:
    grid = slot_grid(first, last, tz, granularity)
    assert all(a < b for a, b in pairwise(grid))
    walls = [wall(instant, tz).replace(tzinfo=None, fold=0) for instant in grid]
    assert all((w.hour * 60 + w.minute) % granularity == 0 and w.second == 0 for w in walls)
    assert len(set(walls)) == len(walls)
    # Exact oracle: every existing wall time on the grid, each at its first occurrence.
    expected = []
    day = first
    while day <= last:
        for minute in range(0, 1440, granularity):
            instant = local_to_epoch(day, time(minute // 60, minute % 60), tz)
            if instant is not None:
                expected.append(instant)
        day += timedelta(days=1)
    assert grid == expected


@settings(max_examples=250, deadline=None)
@given(grid_case(ZONES))
def test_grid_property(case: tuple[ZoneInfo, date, date, int]) -> None:
    check_grid(*case)


@settings(max_examples=100, deadline=None)
@given(grid_case(MIDNIGHT_ZONES))
def test_grid_property_with_transitions_at_midnight(case: tuple[ZoneInfo, date, date, int]) -> None:
    check_grid(*case)


@settings(max_examples=200, deadline=None)
@given(grid_case(ZONES + MIDNIGHT_ZONES), st.integers(0, 1439), st.integers(1, 1440))
def test_span_matches_existing_wall_minutes(
    case: tuple[ZoneInfo, date, date, int], start_minute: int, end_minute: int
) -> None:
    tz, day, _, _ = case
    start = time(start_minute // 60, start_minute % 60)
    end = time(0) if end_minute == 1440 else time(end_minute // 60, end_minute % 60)
    span = local_span_to_interval(day, start, end, tz)
    # Oracle, per minute (real transitions are on whole minutes): a span runs from the first real
    # instant of the day showing a wall time at or after ``start`` to the first one at or after ``end``.
    day_start, day_end = whole_days(day, day, tz)
    instants = range(day_start, day_end, 60)
    minutes = [wall(instant, tz).hour * 60 + wall(instant, tz).minute for instant in instants]
    lo = next((u for u, m in zip(instants, minutes, strict=True) if m >= start_minute), day_end)
    hi = next((u for u, m in zip(instants, minutes, strict=True) if m >= end_minute), day_end)
    assert span == ((lo, hi) if lo < hi else None)
