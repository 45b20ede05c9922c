"""The dates of a series' rule and the instants of its occurrences (pure: no database)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from recurrence import deserialize, serialize

from bookings.series_dates import (
    Repeat,
    ended_before,
    exdates,
    nth_weekday,
    occurrence_start,
    rule_dates,
    rule_last_date,
    series_rule,
    with_exdates,
    without_exdates,
)

LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2027, 3, 2)


def stored(recurrence):
    """The rule as the database gives it back."""
    return deserialize(serialize(recurrence))


def test_weekly_fortnightly_and_monthly_on_the_nth_weekday() -> None:
    weekly = stored(series_rule(Repeat.WEEKLY, TUESDAY, count=4))
    fortnightly = stored(series_rule(Repeat.FORTNIGHTLY, TUESDAY, until=date(2027, 4, 13)))
    second_tuesday = date(2027, 3, 9)
    monthly = stored(series_rule(Repeat.MONTHLY_NTH_WEEKDAY, second_tuesday, count=4))

    assert rule_dates(weekly, TUESDAY) == [TUESDAY + timedelta(weeks=n) for n in range(4)]
    assert rule_dates(fortnightly, TUESDAY) == [
        date(2027, 3, 2),
        date(2027, 3, 16),
        date(2027, 3, 30),
        date(2027, 4, 13),
    ]
    assert rule_dates(monthly, second_tuesday) == [
        date(2027, 3, 9),
        date(2027, 4, 13),
        date(2027, 5, 11),
        date(2027, 6, 8),
    ]
    assert all(d.weekday() == 1 and 8 <= d.day <= 14 for d in rule_dates(monthly, second_tuesday))


def test_a_fifth_weekday_repeats_on_the_last_one() -> None:
    fifth_tuesday = date(2027, 3, 30)
    assert nth_weekday(fifth_tuesday) == -1
    dates = rule_dates(stored(series_rule(Repeat.MONTHLY_NTH_WEEKDAY, fifth_tuesday, count=3)), fifth_tuesday)
    assert dates == [date(2027, 3, 30), date(2027, 4, 27), date(2027, 5, 25)]  # April and May have four


def test_the_first_date_counts_only_when_the_rule_gives_it() -> None:
    rule = series_rule(Repeat.WEEKLY, TUESDAY, count=2)
    # Counted from a Monday, a Tuesday rule does not add the Monday (django-recurrence's include_dtstart).
    assert rule_dates(rule, date(2027, 3, 1)) == [date(2027, 3, 2), date(2027, 3, 9)]


def test_window_and_exdates_are_honoured_and_survive_storage() -> None:
    rule = stored(with_exdates(series_rule(Repeat.WEEKLY, TUESDAY, count=6), [date(2027, 3, 16)]))
    assert exdates(rule) == {date(2027, 3, 16)}
    assert rule_dates(rule, TUESDAY, start=date(2027, 3, 9), end=date(2027, 3, 23)) == [
        date(2027, 3, 9),
        date(2027, 3, 23),
    ]
    assert date(2027, 3, 16) in rule_dates(without_exdates(rule, [date(2027, 3, 16)]), TUESDAY)


def test_ending_before_a_date_keeps_the_earlier_ones_and_replaces_a_count() -> None:
    rule = stored(with_exdates(series_rule(Repeat.WEEKLY, TUESDAY, count=10), [date(2027, 3, 9)]))
    ended = stored(ended_before(rule, date(2027, 3, 23)))
    assert rule_dates(ended, TUESDAY) == [date(2027, 3, 2), date(2027, 3, 16)]
    assert rule_last_date(ended, TUESDAY) == date(2027, 3, 16)
    assert rule_last_date(rule, TUESDAY) == date(2027, 5, 4)


def test_ten_local_keeps_ten_local_across_both_changes_in_london() -> None:
    # Clocks go forward on Sunday 28 March 2027 and back on Sunday 31 October 2027.
    assert occurrence_start(date(2027, 3, 22), time(10), LONDON) == datetime(2027, 3, 22, 10, tzinfo=UTC)
    assert occurrence_start(date(2027, 3, 29), time(10), LONDON) == datetime(2027, 3, 29, 9, tzinfo=UTC)
    assert occurrence_start(date(2027, 10, 25), time(10), LONDON) == datetime(2027, 10, 25, 9, tzinfo=UTC)
    assert occurrence_start(date(2027, 11, 1), time(10), LONDON) == datetime(2027, 11, 1, 10, tzinfo=UTC)


def test_a_time_in_the_spring_gap_moves_forward_and_a_repeated_one_is_the_first() -> None:
    # 01:30 on 28 March 2027 never shows on a London clock: the gap ends at 01:00 UTC (02:00 BST).
    assert occurrence_start(date(2027, 3, 28), time(1, 30), LONDON) == datetime(2027, 3, 28, 1, tzinfo=UTC)
    # 01:30 on 31 October 2027 happens twice: the first is 00:30 UTC (BST).
    assert occurrence_start(date(2027, 10, 31), time(1, 30), LONDON) == datetime(
        2027, 10, 31, 0, 30, tzinfo=UTC
    )


def test_a_rule_needs_exactly_one_end() -> None:
    with pytest.raises(ValueError):
        series_rule(Repeat.WEEKLY, TUESDAY)
    with pytest.raises(ValueError):
        series_rule(Repeat.WEEKLY, TUESDAY, count=2, until=date(2027, 4, 1))
    with pytest.raises(ValueError):
        series_rule(Repeat.WEEKLY, TUESDAY, until=date(2027, 3, 1))


days = st.dates(min_value=date(2026, 1, 1), max_value=date(2035, 12, 31))
times = st.times().map(lambda t: t.replace(second=0, microsecond=0))
zones = st.sampled_from([LONDON, ZoneInfo("Europe/Paris"), ZoneInfo("America/New_York"), ZoneInfo("UTC")])


@settings(max_examples=200, deadline=None)
@given(first=days, count=st.integers(1, 60), repeat=st.sampled_from(Repeat.CHOICES))
def test_rule_dates_match_the_repeat_exactly(first: date, count: int, repeat: str) -> None:
    dates = rule_dates(stored(series_rule(repeat, first, count=count)), first)
    assert len(dates) == count and dates[0] == first and dates == sorted(set(dates))
    if repeat == Repeat.MONTHLY_NTH_WEEKDAY:
        nth = nth_weekday(first)
        for day in dates:
            assert day.weekday() == first.weekday()
            if nth == -1:
                assert (day + timedelta(weeks=1)).month != day.month  # the last of its month
            else:
                assert nth_weekday(day) == nth
        assert all((b.year * 12 + b.month) - (a.year * 12 + a.month) == 1 for a, b in pairwise(dates))
    else:
        step = 7 if repeat == Repeat.WEEKLY else 14
        assert all((b - a).days == step for a, b in pairwise(dates))


@settings(max_examples=300, deadline=None)
@given(day=days, start=times, zone=zones)
def test_an_occurrence_starts_at_the_local_wall_time_unless_it_does_not_exist(
    day: date, start: time, zone: ZoneInfo
) -> None:
    instant = occurrence_start(day, start, zone)
    local = instant.astimezone(zone)
    assert instant.tzinfo is not None
    if local.date() == day and local.time() == start:
        return
    # Only a wall time in a spring gap moves, forward, to the first instant after the gap.
    assert local.date() == day and local.time() > start
    assert (instant - timedelta(seconds=1)).astimezone(zone).utcoffset() != local.utcoffset()


@settings(max_examples=100, deadline=None)
@given(first=days, count=st.integers(2, 30), data=st.data())
def test_exdated_and_ended_rules_only_ever_lose_dates(first: date, count: int, data: st.DataObject) -> None:
    rule = series_rule(Repeat.WEEKLY, first, count=count)
    dates = rule_dates(rule, first)
    out = data.draw(st.sets(st.sampled_from(dates)))
    cut = data.draw(st.sampled_from(dates))
    assert rule_dates(stored(with_exdates(rule, out)), first) == [d for d in dates if d not in out]
    assert rule_dates(stored(ended_before(rule, cut)), first) == [d for d in dates if d < cut]
