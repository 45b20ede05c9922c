"""Server-side chart geometry for the report pages: a Table in, a Chart out, which the template draws as SVG
without deciding anything. Pure: no database, no request.

Colour is never the only cue. Each series has a colour (at least 3:1 against white) and also a fill
pattern (bars) or a marker shape and dash style (lines), shown the same way in the legend beside the
series' name; every chart has a text alternative (`summary`) and the data table behind a disclosure."""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.utils import dateformat, timezone
from django.utils.text import slugify
from django.utils.translation import gettext

from reporting.tables import Table

# GOV.UK-flavoured colours, each at least 3:1 against white (tests check the ratio).
COLOURS = ("#1d70b8", "#b35900", "#00703c", "#d53880", "#4c2c92", "#505a5f")
# Bars: a white texture over the series colour, so a bar stays a solid shape against the page.
PATTERNS = ("solid", "diagonal", "dots", "crosshatch", "reverse-diagonal", "vertical")
# Lines: a marker shape and a dash style per series.
MARKERS = ("circle", "square", "triangle", "diamond", "triangle-down", "plus")
DASHES = ("", "8 4", "2 3", "10 3 2 3", "4 4", "12 3 2 3 2 3")
STYLES = len(COLOURS)

WIDTH = 640
HEIGHT = 320
MARGIN_TOP = 14
MARGIN_RIGHT = 16
MARGIN_BOTTOM = 34
FONT_SIZE = 12
# A generous average advance per character at FONT_SIZE: label thinning assumes labels this wide.
CHAR_WIDTH = 7.0
LABEL_GAP = 10.0
# Rotated labels sit this far apart along the axis (a line of text and some air).
ROTATED_SPACING = 18.0
ROTATED_MAX_CHARS = 16
MARKER_SIZE = 4.0
# Above this many categories a line gets a marker on the labelled categories only (and on lone points).
ALL_MARKERS_UP_TO = 31
NUMERIC_KINDS = ("int", "number", "percent", "hours", "days")
# Kinds whose values add up to a meaningful total.
ADDITIVE_KINDS = ("int", "hours")


@dataclass(frozen=True)
class SeriesStyle:
    index: int
    name: str
    colour: str
    pattern: str
    # What a bar of this series is filled with: the colour itself, or url(#<pattern id>).
    fill: str
    pattern_id: str
    marker: str
    dash: str
    # The legend's swatch marker, drawn in a 40 x 16 box.
    swatch_marker: str


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    series: int
    fill: str
    label: str


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    marker: str
    label: str


@dataclass(frozen=True)
class Line:
    series: int
    colour: str
    dash: str
    # M/L segments; a None value starts a new segment, leaving a gap.
    path: str
    points: tuple[Point, ...]


@dataclass(frozen=True)
class Tick:
    value: float
    y: float
    label: str


@dataclass(frozen=True)
class CategoryLabel:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    transform: str = ""


@dataclass(frozen=True)
class Chart:
    id: str
    kind: str
    title: str
    summary: str
    width: int = WIDTH
    height: int = HEIGHT
    empty: bool = False
    message: str = ""
    series: tuple[SeriesStyle, ...] = ()
    bars: tuple[Bar, ...] = ()
    lines: tuple[Line, ...] = ()
    ticks: tuple[Tick, ...] = ()
    labels: tuple[CategoryLabel, ...] = ()
    # The plot area, and where the value 0 sits (the baseline drawn over the bars).
    left: float = 0.0
    top: float = 0.0
    right: float = 0.0
    bottom: float = 0.0
    baseline: float = 0.0

    @property
    def tick_x(self) -> float:
        """Where the value axis' labels end, just left of the plot."""
        return _r(self.left - 6)

    @property
    def legend(self) -> tuple[SeriesStyle, ...]:
        return self.series

    @property
    def patterns(self) -> tuple[SeriesStyle, ...]:
        """The series whose bars need a <pattern> in the chart's <defs>."""
        return tuple(s for s in self.series if s.pattern != "solid") if self.kind == "bar" else ()


# Formatting ---------------------------------------------------------------------------------------------


def _number(value: Any) -> float | None:
    """A value as a float to plot, or None: missing, not a number, or not finite."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def _half_up(value: Any, places: int = 0) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def cell_text(value: Any, kind: str) -> str:
    """A table cell as plain text by its column's kind; None is "" (the template says "no data")."""
    if value is None:
        return ""
    if kind == "date" and isinstance(value, dt.datetime):
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return dateformat.format(local, "j M Y H:i")
    if kind == "date" and isinstance(value, dt.date):
        return dateformat.format(value, "j M Y")
    if kind not in NUMERIC_KINDS or _number(value) is None:
        return str(value)
    if kind in ("int", "days"):
        return f"{_half_up(value):,}"
    if kind == "percent":
        return f"{_half_up(Decimal(str(value)) * 100, 1):,}%"
    return f"{_half_up(value, 1):,}"


def category_text(value: Any, *, weekly: bool = False, year: bool = False) -> str:
    """A category as the axis says it: dates as "3 Nov" ("w/c 3 Nov" for a week), anything else as text."""
    if isinstance(value, dt.date):
        day = dateformat.format(value, "j M Y" if year else "j M")
        return gettext("w/c %(day)s") % {"day": day} if weekly else day
    return "" if value is None else str(value)


# Scales -------------------------------------------------------------------------------------------------


def nice_ticks(low: float, high: float, *, whole: bool = False, target: int = 5) -> list[float]:
    """Round tick values from at or below `low` to at or above `high`: steps of 1, 2, 2.5 or 5 times a
    power of ten (whole numbers only when `whole`), about `target` of them."""
    if high <= low:
        high = low + 1
    raw = (high - low) / target
    magnitude = 10 ** math.floor(math.log10(raw))
    step = 10 * magnitude
    for multiple in (1, 2, 2.5, 5, 10):
        candidate = multiple * magnitude
        if whole and candidate != int(candidate):
            continue
        if raw <= candidate:
            step = candidate
            break
    if whole:
        step = max(step, 1)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(i * step, 10) for i in range(first, last + 1)]


def _places(step: float) -> int:
    """How many decimal places tick values `step` apart need."""
    return next((places for places in range(7) if abs(round(step, places) - step) < 1e-9), 6)


def _tick_label(value: float, step: float, kind: str) -> str:
    if kind == "percent":
        return f"{value * 100:,.{_places(step * 100)}f}%"
    return f"{value:,.{_places(step)}f}"


@dataclass(frozen=True)
class _Frame:
    left: float
    top: float
    right: float
    bottom: float
    low: float
    high: float

    def y(self, value: float) -> float:
        return self.bottom - (value - self.low) / (self.high - self.low) * (self.bottom - self.top)

    def band(self, count: int) -> float:
        return (self.right - self.left) / count

    def centre(self, index: int, count: int) -> float:
        return self.left + (index + 0.5) * self.band(count)


def _box(frame: _Frame) -> dict[str, float]:
    """The plot area's edges and zero line, as a Chart takes them."""
    return {
        "left": _r(frame.left),
        "top": _r(frame.top),
        "right": _r(frame.right),
        "bottom": _r(frame.bottom),
        "baseline": _r(frame.y(0.0)),
    }


def _r(value: float) -> float:
    return round(value, 2)


# Styles -------------------------------------------------------------------------------------------------


def _marker_path(shape: str, cx: float, cy: float, size: float = MARKER_SIZE) -> str:
    if shape == "circle":
        return (
            f"M{_r(cx - size)},{_r(cy)} a{size},{size} 0 1,0 {_r(2 * size)},0 "
            f"a{size},{size} 0 1,0 {_r(-2 * size)},0 Z"
        )
    outlines = {
        "square": [(-0.9, -0.9), (0.9, -0.9), (0.9, 0.9), (-0.9, 0.9)],
        "triangle": [(0, -1.2), (1.15, 0.9), (-1.15, 0.9)],
        "diamond": [(0, -1.3), (1.3, 0), (0, 1.3), (-1.3, 0)],
        "triangle-down": [(0, 1.2), (1.15, -0.9), (-1.15, -0.9)],
        "plus": [
            (-0.4, -1.2), (0.4, -1.2), (0.4, -0.4), (1.2, -0.4), (1.2, 0.4), (0.4, 0.4),
            (0.4, 1.2), (-0.4, 1.2), (-0.4, 0.4), (-1.2, 0.4), (-1.2, -0.4), (-0.4, -0.4),
        ],
    }  # fmt: skip
    points = " L".join(f"{_r(cx + dx * size)},{_r(cy + dy * size)}" for dx, dy in outlines[shape])
    return f"M{points} Z"


def series_styles(names: Sequence[str], *, chart_id: str) -> tuple[SeriesStyle, ...]:
    """One style per series. Up to six series differ in colour, pattern, marker and dash alike; beyond
    six, the pair (colour, pattern) and the pair (dash, marker) stay unique up to 36 series."""
    styles = []
    for index, name in enumerate(names):
        colour = COLOURS[index % STYLES]
        shape = (index + index // STYLES) % STYLES
        pattern = PATTERNS[shape]
        pattern_id = f"{chart_id}-pattern-{index}"
        styles.append(
            SeriesStyle(
                index=index,
                name=name,
                colour=colour,
                pattern=pattern,
                fill=colour if pattern == "solid" else f"url(#{pattern_id})",
                pattern_id=pattern_id,
                marker=MARKERS[shape],
                dash=DASHES[index % STYLES],
                swatch_marker=_marker_path(MARKERS[shape], 20, 8),
            )
        )
    return tuple(styles)


# Building -----------------------------------------------------------------------------------------------


def _chart_id(table: Table, kind: str, key: str | None) -> str:
    return "chart-" + (slugify(key) if key else f"{slugify(table.slug)}-{kind}")


def _is_weekly(table: Table, category: str) -> bool:
    column = table.column(category)
    return "week" in column.key.lower() or column.label.lower().startswith("week")


def _categories(table: Table, category: str, weekly: bool | None) -> tuple[list[Any], list[str], bool]:
    raw = table.values(category)
    weekly = _is_weekly(table, category) if weekly is None else weekly
    return raw, [category_text(value, weekly=weekly) for value in raw], weekly


def _all_dates(raw: Sequence[Any]) -> bool:
    return bool(raw) and all(isinstance(value, dt.date) for value in raw)


def _span(raw: Sequence[Any], weekly: bool) -> str:
    """ "3 Nov to 29 Dec 2026" for dates (with both years when they differ); "" for other categories."""
    if not _all_dates(raw):
        return ""
    dates = list(raw)
    first, last = min(dates), max(dates)
    if first == last:
        return category_text(first, weekly=weekly, year=True)
    words = {
        "first": category_text(first, year=first.year != last.year),
        "last": category_text(last, year=True),
    }
    return (
        gettext("weeks beginning %(first)s to %(last)s") if weekly else gettext("%(first)s to %(last)s")
    ) % words


def _empty(chart_id: str, kind: str, title: str) -> Chart:
    message = gettext("No data for these filters.")
    summary = f"{title.rstrip('.')}. {message}"
    return Chart(id=chart_id, kind=kind, title=title, summary=summary, empty=True, message=message)


def _category_labels(
    texts: Sequence[str], frame: _Frame, *, dates: bool
) -> tuple[tuple[CategoryLabel, ...], float, list[int]]:
    """Labels that do not overlap: every `step`-th category, turned 45 degrees when names would not
    fit across otherwise. Returns the labels, the room they need below the plot and the shown indexes."""
    count = len(texts)
    if not count:
        return (), 0.0, []
    band = frame.band(count)
    widest = max(len(text) for text in texts) * CHAR_WIDTH + LABEL_GAP
    rotate = not dates and widest > band
    if rotate:
        step = max(1, math.ceil(ROTATED_SPACING / band))
        shown = [t if len(t) <= ROTATED_MAX_CHARS else t[: ROTATED_MAX_CHARS - 1] + "…" for t in texts]
        room = min(max(len(t) for t in shown), ROTATED_MAX_CHARS) * CHAR_WIDTH * 0.71 + FONT_SIZE + 8
    else:
        step = max(1, math.ceil(widest / band))
        shown = list(texts)
        room = float(MARGIN_BOTTOM)
    indexes = list(range(0, count, step))
    labels = []
    for index in indexes:
        x = _r(frame.centre(index, count))
        if rotate:
            y = _r(frame.bottom + 12)
            labels.append(
                CategoryLabel(x=x, y=y, text=shown[index], anchor="end", transform=f"rotate(-45 {x} {y})")
            )
        else:
            labels.append(CategoryLabel(x=x, y=_r(frame.bottom + 8 + FONT_SIZE), text=shown[index]))
    return tuple(labels), room, indexes


def _layout(
    texts: Sequence[str], values: Sequence[float], *, kind: str, dates: bool
) -> tuple[_Frame, tuple[Tick, ...], tuple[CategoryLabel, ...], int, list[int]]:
    """The plot area, the value axis and the category labels, sized to fit each other."""
    whole = kind in ("int", "days")
    ticks = nice_ticks(min([0.0, *values]), max([0.0, *values]), whole=whole)
    step = ticks[1] - ticks[0]
    tick_texts = [_tick_label(value, step, kind) for value in ticks]
    left = max(len(text) for text in tick_texts) * CHAR_WIDTH + 14
    frame = _Frame(left, MARGIN_TOP, WIDTH - MARGIN_RIGHT, HEIGHT - MARGIN_BOTTOM, ticks[0], ticks[-1])
    labels, room, shown = _category_labels(texts, frame, dates=dates)
    # A turned label reaches down and to the left of its category: keep the first one on the canvas.
    overhang = max(
        (len(label.text) * CHAR_WIDTH * 0.71 - label.x for label in labels if label.transform), default=0
    )
    if overhang > 0:
        frame = replace(frame, left=frame.left + overhang + 4)
        labels, room, shown = _category_labels(texts, frame, dates=dates)
    height = HEIGHT - MARGIN_BOTTOM + math.ceil(room)
    tick_marks = tuple(
        Tick(value=value, y=_r(frame.y(value)), label=text)
        for value, text in zip(ticks, tick_texts, strict=True)
    )
    return frame, tick_marks, labels, height, shown


def _series_kind(table: Table, series: Sequence[str]) -> str:
    kinds = {table.column(key).kind for key in series}
    return kinds.pop() if len(kinds) == 1 else "number"


def _extremes(
    items: Sequence[tuple[str, float]],
) -> tuple[tuple[str, float], tuple[str, float]] | None:
    if not items:
        return None
    highest = max(items, key=lambda item: item[1])
    lowest = min(items, key=lambda item: item[1])
    return highest, lowest


def _summary(
    title: str,
    *,
    span: str,
    total: float | None,
    extremes: tuple[tuple[str, float], tuple[str, float]] | None,
    fmt: Callable[[float], str],
) -> str:
    title = title.rstrip(".")
    first = f"{title}, {span}" if span else title
    if total is not None:
        first = gettext("%(what)s: %(total)s in total") % {"what": first, "total": fmt(total)}
    sentences = [first + "."]
    if extremes:
        (high_label, high), (low_label, low) = extremes
        if high_label == low_label and high == low:
            sentences.append(gettext("%(label)s: %(value)s.") % {"label": high_label, "value": fmt(high)})
        else:
            sentences.append(
                gettext("Highest: %(high_label)s, %(high)s. Lowest: %(low_label)s, %(low)s.")
                % {"high_label": high_label, "high": fmt(high), "low_label": low_label, "low": fmt(low)}
            )
    return " ".join(sentences)


def bar_chart(
    table: Table,
    *,
    category: str,
    series: Sequence[str],
    title: str,
    stacked: bool = True,
    weekly: bool | None = None,
    key: str | None = None,
) -> Chart:
    """Vertical bars, one band per row of `table`: the `series` columns stacked (or side by side).

    `weekly` says the categories are weeks ("w/c 3 Nov"); by default a category column named or labelled
    "week" is. `key` names the chart in the page's ids when one table gets two charts."""
    chart_id = _chart_id(table, "bar", key)
    raw, texts, weekly = _categories(table, category, weekly)
    columns = [table.values(name) for name in series]
    grid = [[_number(column[row]) for column in columns] for row in range(len(raw))]
    if not any(value for row in grid for value in row):
        return _empty(chart_id, "bar", title)

    kind = _series_kind(table, series)
    names = [table.column(name).label for name in series]
    styles = series_styles(names, chart_id=chart_id)
    if stacked:
        ups = [sum(v for v in row if v is not None and v > 0) for row in grid]
        downs = [sum(v for v in row if v is not None and v < 0) for row in grid]
        extent = [*ups, *downs]
    else:
        extent = [v for row in grid for v in row if v is not None]
    frame, ticks, labels, height, _ = _layout(texts, extent, kind=kind, dates=_all_dates(raw))

    count = len(raw)
    band = frame.band(count)
    bar_width = band * 0.8 if count > 1 else min(band * 0.5, 120)
    bars = []
    for row, values in enumerate(grid):
        start = frame.centre(row, count) - bar_width / 2
        up = down = 0.0
        for index, value in enumerate(values):
            if not value:
                continue
            if stacked:
                base = up if value > 0 else down
                top, bottom = frame.y(max(base, base + value)), frame.y(min(base, base + value))
                x, width = start, bar_width
                if value > 0:
                    up += value
                else:
                    down += value
            else:
                top, bottom = frame.y(max(0.0, value)), frame.y(min(0.0, value))
                width = bar_width / len(values)
                x = start + index * width
            who = f"{texts[row]}, {names[index]}" if len(names) > 1 else texts[row]
            bars.append(
                Bar(
                    x=_r(x),
                    y=_r(top),
                    width=_r(width),
                    height=_r(bottom - top),
                    series=index,
                    fill=styles[index].fill,
                    label=f"{who}: {cell_text(value, kind)}",
                )
            )

    additive = kind in ADDITIVE_KINDS
    if stacked or len(series) == 1:
        per_category = [
            (texts[row], sum(v for v in values if v is not None))
            for row, values in enumerate(grid)
            if any(v is not None for v in values)
        ]
    else:
        per_category = [
            (f"{names[index]}, {texts[row]}", value)
            for row, values in enumerate(grid)
            for index, value in enumerate(values)
            if value is not None
        ]
    total = sum(v for row in grid for v in row if v is not None) if additive else None
    summary = _summary(
        title,
        span=_span(raw, weekly),
        total=total,
        extremes=_extremes(per_category),
        fmt=lambda value: cell_text(value, kind),
    )
    return Chart(
        id=chart_id,
        kind="bar",
        title=title,
        summary=summary,
        height=height,
        series=styles,
        bars=tuple(bars),
        ticks=ticks,
        labels=labels,
        **_box(frame),
    )


def line_chart(
    table: Table,
    *,
    category: str,
    series: Sequence[str],
    title: str,
    weekly: bool | None = None,
    key: str | None = None,
) -> Chart:
    """One line per `series` column across the rows of `table`; a None value leaves a gap.

    Zero is a value here (no days to wait is news), so only a chart with no values at all is empty."""
    chart_id = _chart_id(table, "line", key)
    raw, texts, weekly = _categories(table, category, weekly)
    columns = [[_number(value) for value in table.values(name)] for name in series]
    values = [v for column in columns for v in column if v is not None]
    if not values:
        return _empty(chart_id, "line", title)

    kind = _series_kind(table, series)
    names = [table.column(name).label for name in series]
    styles = series_styles(names, chart_id=chart_id)
    frame, ticks, labels, height, shown = _layout(texts, values, kind=kind, dates=_all_dates(raw))
    count = len(raw)
    marked = set(range(count)) if count <= ALL_MARKERS_UP_TO else set(shown)

    lines = []
    for index, column in enumerate(columns):
        style = styles[index]
        commands, points = [], []
        for row, value in enumerate(column):
            if value is None:
                continue
            x, y = _r(frame.centre(row, count)), _r(frame.y(value))
            joined = row > 0 and column[row - 1] is not None
            commands.append(f"{'L' if joined else 'M'}{x},{y}")
            alone = not joined and (row + 1 >= count or column[row + 1] is None)
            if row in marked or alone:
                who = f"{texts[row]}, {names[index]}" if len(names) > 1 else texts[row]
                points.append(
                    Point(
                        x=x,
                        y=y,
                        marker=_marker_path(style.marker, x, y),
                        label=f"{who}: {cell_text(value, kind)}",
                    )
                )
        lines.append(
            Line(
                series=index,
                colour=style.colour,
                dash=style.dash,
                path=" ".join(commands),
                points=tuple(points),
            )
        )

    items = [
        (f"{names[index]}, {texts[row]}" if len(names) > 1 else texts[row], value)
        for index, column in enumerate(columns)
        for row, value in enumerate(column)
        if value is not None
    ]
    summary = _summary(
        title,
        span=_span(raw, weekly),
        total=None,
        extremes=_extremes(items),
        fmt=lambda value: cell_text(value, kind),
    )
    return Chart(
        id=chart_id,
        kind="line",
        title=title,
        summary=summary,
        height=height,
        series=styles,
        lines=tuple(lines),
        ticks=ticks,
        labels=labels,
        **_box(frame),
    )
