"""Slot finding and the interval arithmetic under it, checked against brute-force oracles."""

from collections.abc import Hashable, Iterable
from itertools import permutations, product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scheduling.availability.engine import Calendar, Slot, SlotRules, assign, find_slots, valid_starts
from scheduling.availability.intervals import (
    Interval,
    clip,
    intersect,
    normalise,
    overlaps,
    subtract,
    union,
)

MIN = 60
HOUR = 60 * MIN


def rules(
    duration: int = 30 * MIN,
    before: int = 0,
    after: int = 0,
    earliest: int = 0,
    latest: int = 24 * HOUR,
    step: int = 15 * MIN,
) -> SlotRules:
    return SlotRules(
        duration=duration,
        buffer_before=before,
        buffer_after=after,
        earliest_start=earliest,
        latest_start=latest,
        grid=list(range(0, 24 * HOUR, step)),
    )


def hours(*spans: tuple[float, float]) -> list[Interval]:
    return [(int(a * HOUR), int(b * HOUR)) for a, b in spans]


def starts(slots: list[Slot]) -> list[float]:
    return [slot.start / HOUR for slot in slots]


# --- explicit examples ----------------------------------------------------------------------------


def test_back_to_back_bookings_touch() -> None:
    officer = Calendar("a", open=hours((9, 12)), busy=hours((10, 10.5)))
    slots = find_slots(rules(), [officer], [frozenset({"a"})])
    assert starts(slots) == [9, 9.25, 9.5, 10.5, 10.75, 11, 11.25, 11.5]
    assert slots[0] == Slot(start=9 * HOUR, end=9 * HOUR + 30 * MIN, candidates=(("a",),))


def test_buffers_push_starts_away_from_bookings() -> None:
    officer = Calendar("a", open=hours((9, 12)), busy=hours((10, 10.5)))
    slots = find_slots(rules(before=15 * MIN, after=15 * MIN), [officer], [frozenset({"a"})])
    # Needs 15 minutes clear after the appointment before 10:00, and 15 minutes after 10:30.
    assert starts(slots) == [9, 9.25, 10.75, 11, 11.25, 11.5]


def test_buffers_may_extend_outside_open_time() -> None:
    officer = Calendar("a", open=hours((9, 10)), busy=[])
    slots = find_slots(rules(before=HOUR, after=HOUR), [officer], [frozenset({"a"})])
    assert starts(slots) == [9, 9.25, 9.5]


def test_busy_at_the_edges_of_open_time() -> None:
    officer = Calendar("a", open=hours((9, 11)), busy=hours((8, 9.25), (10.75, 12)))
    slots = find_slots(rules(), [officer], [frozenset({"a"})])
    assert starts(slots) == [9.25, 9.5, 9.75, 10, 10.25]


def test_booking_window_is_inclusive() -> None:
    officer = Calendar("a", open=hours((9, 12)), busy=[])
    slots = find_slots(rules(earliest=10 * HOUR, latest=11 * HOUR), [officer], [frozenset({"a"})])
    assert starts(slots) == [10, 10.25, 10.5, 10.75, 11]


def test_one_officer_cannot_fill_two_seats() -> None:
    both = Calendar("both", open=hours((9, 10)), busy=[])
    gas = Calendar("gas", open=hours((9, 9.5)), busy=[])
    requirements = [frozenset({"both"}), frozenset({"both", "gas"})]
    slots = find_slots(rules(), [both, gas], requirements)
    # Only at 09:00 is "gas" free for its 30 minutes, letting "both" take the first seat.
    assert starts(slots) == [9]
    assert slots[0].candidates == (("both",), ("both", "gas"))
    assert assign(slots[0].candidates) == ("both", "gas")


def test_seat_with_no_eligible_calendar_gives_no_slots() -> None:
    officer = Calendar("a", open=hours((9, 12)), busy=[])
    assert find_slots(rules(), [officer], [frozenset({"a"}), frozenset({"room"})]) == []
    assert find_slots(rules(), [officer], [frozenset()]) == []


def test_candidates_list_every_free_calendar_in_input_order() -> None:
    calendars = [
        Calendar("c", open=hours((9, 10)), busy=[]),
        Calendar("a", open=hours((9, 10)), busy=hours((9, 9.5))),
        Calendar("b", open=hours((9, 10)), busy=[]),
        Calendar("room", open=hours((0, 24)), busy=[]),
    ]
    requirements = [frozenset({"a", "b", "c"}), frozenset({"room"})]
    slots = find_slots(rules(), calendars, requirements)
    assert [(s.start / HOUR, s.candidates) for s in slots] == [
        (9, (("c", "b"), ("room",))),
        (9.25, (("c", "b"), ("room",))),
        (9.5, (("c", "a", "b"), ("room",))),
    ]


def test_valid_starts_are_intervals_of_start_instants() -> None:
    officer = Calendar("a", open=hours((9, 12)), busy=hours((10, 10.5)))
    result = valid_starts(rules(before=10 * MIN, after=5 * MIN), officer)
    assert result == [(9 * HOUR, 9 * HOUR + 25 * MIN + 1), (10 * HOUR + 40 * MIN, 11 * HOUR + 30 * MIN + 1)]


def test_assign_prefers_earlier_candidates_seat_by_seat() -> None:
    assert assign([["x", "y"], ["x", "y"]]) == ("x", "y")
    assert assign([["y", "x"], ["x", "y"]]) == ("y", "x")
    # Seat 0 would like "x", but then seat 1 could not be filled.
    assert assign([["x", "y"], ["x"]]) == ("y", "x")
    assert assign([["x"], ["x"]]) is None
    assert assign([["x"], []]) is None
    assert assign([]) == ()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"duration": 0}, "duration"),
        ({"before": -1}, "buffers"),
        ({"after": -1}, "buffers"),
        ({"earliest": 10, "latest": 9}, "latest start"),
    ],
)
def test_bad_rules_are_rejected(changes: dict[str, int], message: str) -> None:
    officer = Calendar("a", open=hours((9, 12)), busy=[])
    with pytest.raises(ValueError, match=message):
        find_slots(rules(**changes), [officer], [frozenset({"a"})])
    with pytest.raises(ValueError, match=message):
        valid_starts(rules(**changes), officer)


def test_empty_requirements_and_duplicate_keys_are_rejected() -> None:
    officer = Calendar("a", open=hours((9, 12)), busy=[])
    with pytest.raises(ValueError, match="requirement"):
        find_slots(rules(), [officer], [])
    with pytest.raises(ValueError, match="more than once"):
        find_slots(rules(), [officer, officer], [frozenset({"a"})])


# --- properties: interval arithmetic against sets of minutes --------------------------------------

raw_intervals = st.lists(st.tuples(st.integers(-5, 60), st.integers(-5, 60)), max_size=8)


def minutes_of(intervals: Iterable[Interval]) -> set[int]:
    return {m for a, b in intervals for m in range(a, b)}


def runs(minutes: set[int]) -> list[Interval]:
    """The unique normalised interval list covering exactly these minutes."""
    result: list[Interval] = []
    for m in sorted(minutes):
        if result and result[-1][1] == m:
            result[-1] = (result[-1][0], m + 1)
        else:
            result.append((m, m + 1))
    return result


@settings(max_examples=300, deadline=None)
@given(raw_intervals, raw_intervals, raw_intervals, st.integers(-5, 60), st.integers(-5, 60))
def test_interval_functions_match_sets(
    raw_a: list[Interval], raw_b: list[Interval], raw_c: list[Interval], lo: int, hi: int
) -> None:
    a, b = normalise(raw_a), normalise(raw_b)
    assert a == runs(minutes_of(raw_a))
    assert union(raw_a, raw_b, raw_c) == runs(minutes_of(raw_a) | minutes_of(raw_b) | minutes_of(raw_c))
    assert intersect(a, b) == runs(minutes_of(a) & minutes_of(b))
    assert subtract(a, b) == runs(minutes_of(a) - minutes_of(b))
    assert clip(a, lo, hi) == runs({m for m in minutes_of(a) if lo <= m < hi})


proper_interval = st.builds(
    lambda start, length: (start, start + length), st.integers(0, 20), st.integers(1, 10)
)


@given(proper_interval, proper_interval)
def test_overlaps_matches_sets(a: Interval, b: Interval) -> None:
    assert overlaps(a, b) == bool(minutes_of([a]) & minutes_of([b]))


# --- properties: find_slots against a minute-by-minute oracle -------------------------------------

TIMELINE = 600  # minutes


@st.composite
def minute_intervals(draw: st.DrawFn, max_size: int, max_length: int) -> list[Interval]:
    spans = draw(st.lists(st.tuples(st.integers(0, TIMELINE), st.integers(1, max_length)), max_size=max_size))
    return runs(minutes_of((start, start + length) for start, length in spans))


@st.composite
def scenario(draw: st.DrawFn) -> tuple[SlotRules, list[Calendar], list[frozenset[Hashable]]]:
    step = draw(st.sampled_from([5, 15]))
    earliest = draw(st.integers(-30, TIMELINE))
    latest = earliest + draw(st.integers(0, TIMELINE))
    # Rules and calendars in minutes here; scaled to seconds below, as the engine sees them.
    slot_rules = SlotRules(
        duration=draw(st.integers(1, 90)) * MIN,
        buffer_before=draw(st.integers(0, 30)) * MIN,
        buffer_after=draw(st.integers(0, 30)) * MIN,
        earliest_start=earliest * MIN,
        latest_start=latest * MIN,
        grid=[m * MIN for m in range(0, TIMELINE + 60, step)],
    )
    keys = ["a", "b", "c", "d"][: draw(st.integers(1, 4))]
    calendars = [
        Calendar(
            key,
            open=[(a * MIN, b * MIN) for a, b in draw(minute_intervals(4, 300))],
            busy=[(a * MIN, b * MIN) for a, b in draw(minute_intervals(6, 60))],
        )
        for key in keys
    ]
    # Eligibility may name keys that have no calendar, as real data can.
    seats = draw(st.lists(st.frozensets(st.sampled_from([*keys, "zz"])), min_size=1, max_size=3))
    return slot_rules, calendars, seats


def free_at(slot_rules: SlotRules, minutes: tuple[set[int], set[int]], start: int) -> bool:
    """Minute by minute: the appointment is in open time and the occupied range is in no busy time."""
    open_minutes, busy_minutes = minutes
    s = start // MIN
    d = slot_rules.duration // MIN
    occupied = range(s - slot_rules.buffer_before // MIN, s + d + slot_rules.buffer_after // MIN)
    return all(m in open_minutes for m in range(s, s + d)) and not any(m in busy_minutes for m in occupied)


def calendar_minutes(calendar: Calendar) -> tuple[set[int], set[int]]:
    """The calendar's open and busy time as sets of whole minutes."""
    open_minutes = minutes_of((a // MIN, b // MIN) for a, b in calendar.open)
    busy_minutes = minutes_of((a // MIN, b // MIN) for a, b in calendar.busy)
    return open_minutes, busy_minutes


def fillable(candidates: tuple[tuple[Hashable, ...], ...], free_keys: list[Hashable]) -> bool:
    return any(
        all(key in seat for key, seat in zip(chosen, candidates, strict=True))
        for chosen in permutations(free_keys, len(candidates))
    )


def oracle(slot_rules: SlotRules, calendars: list[Calendar], seats: list[frozenset[Hashable]]) -> list[Slot]:
    minutes = [calendar_minutes(c) for c in calendars]
    slots = []
    for start in slot_rules.grid:
        if not slot_rules.earliest_start <= start <= slot_rules.latest_start:
            continue
        free_keys = [c.key for c, m in zip(calendars, minutes, strict=True) if free_at(slot_rules, m, start)]
        candidates = tuple(tuple(key for key in free_keys if key in seat) for seat in seats)
        if fillable(candidates, free_keys):
            slots.append(Slot(start=start, end=start + slot_rules.duration, candidates=candidates))
    return slots


@settings(max_examples=250, deadline=None)
@given(scenario())
def test_find_slots_matches_oracle(
    case: tuple[SlotRules, list[Calendar], list[frozenset[Hashable]]],
) -> None:
    slot_rules, calendars, seats = case
    assert find_slots(slot_rules, calendars, seats) == oracle(slot_rules, calendars, seats)


@settings(max_examples=200, deadline=None)
@given(scenario())
def test_valid_starts_matches_oracle_on_every_minute(
    case: tuple[SlotRules, list[Calendar], list[frozenset[Hashable]]],
) -> None:
    slot_rules, calendars, _ = case
    calendar = calendars[0]
    result = valid_starts(slot_rules, calendar)
    assert result == normalise(result)
    valid = minutes_of(result)
    minutes = calendar_minutes(calendar)
    for minute in range(-60, TIMELINE + 120):
        start = minute * MIN
        expected = slot_rules.earliest_start <= start <= slot_rules.latest_start and free_at(
            slot_rules, minutes, start
        )
        assert (start in valid) == expected


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(st.sampled_from("abcd"), unique=True, max_size=4), max_size=4))
def test_assign_is_the_first_valid_choice_in_preference_order(candidates: list[list[str]]) -> None:
    # product() walks choices lexicographically by each seat's list order: exactly "earlier seats
    # get their most preferred candidate that still leaves a full assignment".
    valid = [chosen for chosen in product(*candidates) if len(set(chosen)) == len(chosen)]
    assert assign(candidates) == (valid[0] if valid else None)
