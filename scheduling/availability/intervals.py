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
    for start, end in sorted(iv for iv in intervals if iv[0] < iv[1]):
        # Touching intervals are merged too, so the representation of a set is unique.
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
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
    j = 0
    for start, end in a:
        # Intervals of b that end before this one starts cannot affect it or any later one.
        while j < len(b) and b[j][1] <= start:
            j += 1
        cursor = start
        k = j
        while k < len(b) and b[k][0] < end:
            if b[k][0] > cursor:
                result.append((cursor, b[k][0]))
            cursor = max(cursor, b[k][1])
            k += 1
        if cursor < end:
            result.append((cursor, end))
    return result


def clip(a: list[Interval], lo: int, hi: int) -> list[Interval]:
    """The part of normalised list ``a`` inside [lo, hi)."""
    if lo >= hi:
        return []
    return intersect(a, [(lo, hi)])


def overlaps(a: Interval, b: Interval) -> bool:
    """Whether two half-open intervals share any point; merely touching does not count."""
    return a[0] < b[1] and b[0] < a[1]
