"""Arithmetic over sorted, disjoint, half-open integer intervals.

A "normalised" interval list is sorted by start, holds only non-empty intervals and has no two
intervals that overlap or touch. Every function here returns a normalised list; the binary
operations assume (but do not check) that their inputs are normalised so they can run as a
single linear merge.
"""

from collections.abc import Iterable
from itertools import chain

Interval = tuple[int, int]


def normalise(intervals: Iterable[Interval]) -> list[Interval]:
    """Sort, drop empty or inverted intervals, and merge overlapping or touching ones."""
    merged: list[Interval] = []
    append = merged.append
    # The interval being grown is kept in two locals, not re-read from the list: this runs for every busy
    # span of every calendar on every slot list.
    current_start = current_end = None
    for start, end in sorted(intervals):
        if start >= end:
            continue
        if current_end is None:
            current_start, current_end = start, end
        elif start <= current_end:  # touching intervals are merged too, so a set has one representation
            if end > current_end:
                current_end = end
        else:
            append((current_start, current_end))
            current_start, current_end = start, end
    if current_end is not None:
        append((current_start, current_end))
    return merged


def union(*sets: Iterable[Interval]) -> list[Interval]:
    """Everything covered by any of the given interval lists."""
    return normalise(chain.from_iterable(sets))


def intersect(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Everything covered by both normalised lists."""
    result: list[Interval] = []
    i = j = 0
    while i < len(a) and j < len(b):
        start = max(a[i][0], b[j][0])
        end = min(a[i][1], b[j][1])
        if start < end:
            result.append((start, end))
        # Advance whichever interval finishes first: it cannot meet anything further on.
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return result


def subtract(a: list[Interval], b: list[Interval]) -> list[Interval]:
    """Everything covered by normalised list ``a`` but not by normalised list ``b``."""
    result: list[Interval] = []
    append = result.append
    j = 0
    size = len(b)
    for start, end in a:
        # Intervals of b that end before this one starts cannot affect it or any later one.
        while j < size and b[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < size:
            cut_start, cut_end = b[k]
            if cut_start >= end:
                break
            if cut_start > cursor:
                append((cursor, cut_start))
            if cut_end > cursor:
                cursor = cut_end
            k += 1
        if cursor < end:
            append((cursor, end))
    return result


def clip(a: list[Interval], lo: int, hi: int) -> list[Interval]:
    """The part of normalised list ``a`` inside [lo, hi)."""
    if lo >= hi:
        return []
    return intersect(a, [(lo, hi)])


def overlaps(a: Interval, b: Interval) -> bool:
    """Whether two half-open intervals share any point; merely touching does not count."""
    return a[0] < b[1] and b[0] < a[1]
