"""Chart geometry from plain tables, and the chart and table templates that draw it. No database."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal
from html.parser import HTMLParser
from itertools import pairwise

import pytest
from django.template.loader import render_to_string
from hypothesis import given
from hypothesis import strategies as st

from reporting.charts import (
    CHAR_WIDTH,
    Chart,
    bar_chart,
    category_text,
    line_chart,
    nice_ticks,
    series_styles,
)
from reporting.tables import Column, Table
from reporting.templatetags.reports import report_cell

MONDAY = dt.date(2026, 11, 2)


def weekly(rows: list[tuple], slug: str = "bookings-weekly") -> Table:
    return Table(
        slug=slug,
        title="Bookings per week by channel",
        columns=(
            Column("week", "Week", "date"),
            Column("portal", "Portal", "int"),
            Column("phone", "Phone", "int"),
        ),
        rows=rows,
    )


def scale(chart: Chart) -> float:
    """Pixels per unit on the value axis, read off the chart's own ticks."""
    top = chart.ticks[-1]
    return (chart.baseline - top.y) / top.value


def days_table(
    values: list[list[float | None]], names: list[str] | None = None, start: dt.date = MONDAY
) -> Table:
    names = names or [f"Type {i}" for i in range(len(values[0]))]
    return Table(
        slug="next-slot",
        title="Days to next available slot",
        columns=(
            Column("day", "Day", "date"),
            *(Column(f"s{i}", name, "days") for i, name in enumerate(names)),
        ),
        rows=[(start + dt.timedelta(days=i), *row) for i, row in enumerate(values)],
    )


# Bars ---------------------------------------------------------------------------------------------------


def test_bar_heights_are_proportional_to_values_and_stand_on_the_baseline() -> None:
    table = weekly(
        [
            (MONDAY, 10, None),
            (MONDAY + dt.timedelta(weeks=1), 20, None),
            (MONDAY + dt.timedelta(weeks=2), 40, None),
        ]
    )
    chart = bar_chart(table, category="week", series=["portal"], title="Portal bookings")

    heights = [bar.height for bar in chart.bars]
    assert heights[1] == pytest.approx(2 * heights[0], abs=0.02)
    assert heights[2] == pytest.approx(4 * heights[0], abs=0.02)
    assert heights[0] == pytest.approx(10 * scale(chart), abs=0.02)
    assert all(bar.y + bar.height == pytest.approx(chart.baseline, abs=0.02) for bar in chart.bars)
    # Bars go left to right in the rows' order, inside the plot and not overlapping.
    xs = [bar.x for bar in chart.bars]
    assert xs == sorted(xs) and chart.left <= xs[0] and xs[-1] + chart.bars[-1].width <= chart.right
    assert all(a.x + a.width < b.x for a, b in pairwise(chart.bars))


def test_stacked_segments_sit_on_each_other_and_reach_the_total() -> None:
    rows = [
        (MONDAY, 30, 12),
        (MONDAY + dt.timedelta(weeks=1), 0, 45),
        (MONDAY + dt.timedelta(weeks=2), 212, 7),
    ]
    chart = bar_chart(weekly(rows), category="week", series=["portal", "phone"], title="Bookings")

    per_unit = scale(chart)
    by_x: dict[float, list] = {}
    for bar in chart.bars:
        by_x.setdefault(bar.x, []).append(bar)
    assert len(by_x) == 3
    for (_, portal, phone), segments in zip(rows, by_x.values(), strict=True):
        segments.sort(key=lambda bar: -bar.y)  # bottom first
        # A zero draws nothing; the rest touch, bottom to top, in series order.
        assert [bar.series for bar in segments] == [i for i, v in enumerate((portal, phone)) if v]
        for lower, upper in pairwise(segments):
            assert upper.y + upper.height == pytest.approx(lower.y, abs=0.02)
        assert segments[0].y + segments[0].height == pytest.approx(chart.baseline, abs=0.02)
        assert chart.baseline - segments[-1].y == pytest.approx((portal + phone) * per_unit, abs=0.05)
    # The axis covers the highest total (219), not just the highest segment.
    assert chart.ticks[0].value == 0 and chart.ticks[-1].value >= 219
    assert chart.ticks[-1].value - (chart.ticks[1].value - chart.ticks[0].value) < 219


def test_grouped_bars_sit_side_by_side_from_the_baseline() -> None:
    rows = [(MONDAY, 30, 12), (MONDAY + dt.timedelta(weeks=1), 5, 45)]
    chart = bar_chart(
        weekly(rows), category="week", series=["portal", "phone"], title="Bookings", stacked=False
    )

    first, second = chart.bars[0], chart.bars[1]
    assert (first.series, second.series) == (0, 1)
    assert first.x + first.width == pytest.approx(second.x, abs=0.02)
    assert all(bar.y + bar.height == pytest.approx(chart.baseline, abs=0.02) for bar in chart.bars)
    assert [round(bar.height / scale(chart)) for bar in chart.bars] == [30, 12, 5, 45]
    assert chart.ticks[-1].value >= 45


def test_each_bar_says_its_category_series_and_value() -> None:
    chart = bar_chart(weekly([(MONDAY, 1234, 5)]), category="week", series=["portal", "phone"], title="B")
    assert [bar.label for bar in chart.bars] == ["w/c 2 Nov, Portal: 1,234", "w/c 2 Nov, Phone: 5"]


@given(high=st.floats(min_value=0.001, max_value=1e9, allow_nan=False), whole=st.booleans())
def test_ticks_are_round_and_cover_the_range(high: float, whole: bool) -> None:
    ticks = nice_ticks(0, high, whole=whole)
    step = ticks[1] - ticks[0]
    assert ticks[0] == 0 and ticks[-1] >= high - 1e-9 and ticks[-2] < high
    assert all(b - a == pytest.approx(step) for a, b in pairwise(ticks))
    mantissa = step / 10 ** math.floor(math.log10(step) + 1e-9)
    assert any(mantissa == pytest.approx(m) for m in (1, 2, 2.5, 5))
    assert len(ticks) <= 7
    if whole:
        assert step >= 1 and step == int(step)
    if high >= 10:
        assert len(ticks) >= 4


def test_tick_labels_are_round_numbers_and_percentages() -> None:
    chart = bar_chart(weekly([(MONDAY, 212, 0)]), category="week", series=["portal"], title="B")
    assert [tick.label for tick in chart.ticks] == ["0", "50", "100", "150", "200", "250"]

    table = Table(
        slug="utilisation",
        title="Utilisation",
        columns=(Column("officer", "Officer"), Column("share", "Booked share", "percent")),
        rows=[("Ann", 0.92), ("Bea", 0.4)],
    )
    chart = bar_chart(table, category="officer", series=["share"], title="Utilisation")
    assert [tick.label for tick in chart.ticks] == ["0%", "20%", "40%", "60%", "80%", "100%"]


# Summary ------------------------------------------------------------------------------------------------


def test_summary_names_the_range_total_highest_and_lowest() -> None:
    rows = [
        (MONDAY + dt.timedelta(weeks=i), portal, phone)
        for i, (portal, phone) in enumerate([(50, 10), (200, 12), (3, 1)])
    ]
    chart = bar_chart(
        weekly(rows), category="week", series=["portal", "phone"], title="Bookings per week by channel"
    )

    assert chart.summary == (
        "Bookings per week by channel, weeks beginning 2 Nov to 16 Nov 2026: 276 in total. "
        "Highest: w/c 9 Nov, 212. Lowest: w/c 16 Nov, 4."
    )


def test_summary_of_a_line_chart_names_the_series_at_each_extreme() -> None:
    table = days_table([[3, 9], [None, 14], [0, 5]], names=["Home visit", "Phone call"])
    chart = line_chart(table, category="day", series=["s0", "s1"], title="Days to next available slot")

    assert "2 Nov to 4 Nov 2026" in chart.summary
    assert "Highest: Phone call, 3 Nov, 14." in chart.summary
    assert "Lowest: Home visit, 4 Nov, 0." in chart.summary


def test_summary_of_named_categories_has_no_date_range() -> None:
    table = Table(
        slug="utilisation",
        title="Utilisation",
        columns=(Column("officer", "Officer"), Column("share", "Booked share", "percent")),
        rows=[("Ann Jones", 0.925), ("Bea Smith", 0.4), ("Cal Wong", None)],
    )
    chart = bar_chart(table, category="officer", series=["share"], title="Utilisation by officer")

    assert chart.summary == "Utilisation by officer. Highest: Ann Jones, 92.5%. Lowest: Bea Smith, 40.0%."


# Empty --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rows", [[], [(MONDAY, 0, 0), (MONDAY + dt.timedelta(weeks=1), None, 0)]], ids=["no rows", "all zero"]
)
def test_a_bar_chart_with_nothing_to_show_is_empty_and_has_no_axes(rows: list[tuple]) -> None:
    chart = bar_chart(weekly(rows), category="week", series=["portal", "phone"], title="Bookings")

    assert chart.empty and chart.message == "No data for these filters."
    assert not chart.bars and not chart.ticks and not chart.labels and not chart.legend
    assert chart.summary == "Bookings. No data for these filters."
    page = render_to_string("reporting/_chart.html", {"chart": chart, "table": weekly(rows)})
    assert "<svg" not in page and "No data for these filters." in page
    assert ("Show the data" in page) == bool(rows)


def test_a_line_chart_is_empty_only_without_values_zero_is_a_value() -> None:
    assert line_chart(days_table([[None], [None]]), category="day", series=["s0"], title="Days").empty
    chart = line_chart(days_table([[0], [0]]), category="day", series=["s0"], title="Days")
    assert not chart.empty and len(chart.lines[0].points) == 2


# Lines --------------------------------------------------------------------------------------------------


def test_none_leaves_a_gap_in_the_line() -> None:
    chart = line_chart(days_table([[1], [2], [None], [4], [5]]), category="day", series=["s0"], title="Days")

    (line,) = chart.lines
    segments = re.findall(r"M[^M]+", line.path)
    assert len(segments) == 2
    assert [segment.count("L") for segment in segments] == [1, 1]
    assert len(line.points) == 4
    gap_x = chart.labels[2].x if len(chart.labels) == 5 else None
    assert gap_x is None or all(point.x != gap_x for point in line.points)
    assert line.points[1].label == "3 Nov: 2"
    # Higher values sit higher on the page.
    assert line.points[0].y > line.points[1].y > line.points[2].y > line.points[3].y


def test_a_lone_value_between_gaps_keeps_its_marker_when_markers_are_thinned() -> None:
    values = [[None] for _ in range(62)]
    values[33] = [7]
    values[40] = [2]
    values[41] = [3]
    chart = line_chart(days_table(values), category="day", series=["s0"], title="Days")

    (line,) = chart.lines
    assert line.path.count("M") == 2
    assert any(point.label.endswith(": 7") for point in line.points)


def test_sixty_two_days_get_labels_that_do_not_overlap() -> None:
    values = [[i % 9] for i in range(62)]
    chart = line_chart(
        days_table(values, start=dt.date(2026, 10, 1)), category="day", series=["s0"], title="Days"
    )

    assert 6 <= len(chart.labels) < 62
    assert chart.labels[0].text == "1 Oct"
    widest = max(len(label.text) for label in chart.labels) * CHAR_WIDTH
    gaps = [b.x - a.x for a, b in pairwise(chart.labels)]
    assert min(gaps) >= widest
    assert all(chart.left <= label.x <= chart.right for label in chart.labels)


def test_fifty_two_weeks_are_labelled_as_weeks_without_overlap() -> None:
    rows = [(MONDAY - dt.timedelta(weeks=51 - i), i, 1) for i in range(52)]
    chart = bar_chart(weekly(rows), category="week", series=["portal", "phone"], title="Bookings")

    assert len(chart.bars) == 103  # the first week has no portal bookings
    assert all(label.text.startswith("w/c ") for label in chart.labels)
    widest = max(len(label.text) for label in chart.labels) * CHAR_WIDTH
    assert min(b.x - a.x for a, b in pairwise(chart.labels)) >= widest


def test_long_names_turn_and_stay_on_the_canvas() -> None:
    names = [f"Officer {letter} Longname-Smithson" for letter in "ABCDEFGHIJKL"]
    table = Table(
        slug="hours",
        title="Booked hours",
        columns=(Column("officer", "Officer"), Column("hours", "Hours", "hours")),
        rows=[(name, 10.0 + i) for i, name in enumerate(names)],
    )
    chart = bar_chart(table, category="officer", series=["hours"], title="Booked hours")

    assert len(chart.labels) == 12 and all(label.transform.startswith("rotate(-45") for label in chart.labels)
    assert all(len(label.text) <= 16 for label in chart.labels)
    assert all(label.x - len(label.text) * CHAR_WIDTH * 0.71 >= 0 for label in chart.labels)
    assert chart.height > 320
    # The bar's own label keeps the whole name.
    assert chart.bars[0].label == "Officer A Longname-Smithson: 10.0"


def test_dates_read_as_days_and_weeks() -> None:
    assert category_text(dt.date(2026, 11, 3)) == "3 Nov"
    assert category_text(dt.date(2026, 11, 2), weekly=True) == "w/c 2 Nov"
    assert category_text("Phone") == "Phone"


# Not by colour alone ------------------------------------------------------------------------------------


def contrast_with_white(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(int(colour[i : i + 2], 16)) for i in (1, 3, 5))
    return 1.05 / (0.2126 * r + 0.7152 * g + 0.0722 * b + 0.05)


def test_up_to_six_series_differ_in_colour_pattern_marker_and_dash() -> None:
    styles = series_styles([f"S{i}" for i in range(6)], chart_id="chart-x")

    for attribute in ("colour", "pattern", "marker", "dash", "fill", "pattern_id", "swatch_marker"):
        assert len({getattr(style, attribute) for style in styles}) == 6, attribute
    assert all(contrast_with_white(style.colour) >= 3 for style in styles)


def test_beyond_six_series_each_combination_stays_unique() -> None:
    styles = series_styles([f"S{i}" for i in range(36)], chart_id="chart-x")
    assert len({(style.colour, style.pattern) for style in styles}) == 36
    assert len({(style.dash, style.marker) for style in styles}) == 36


def test_a_bar_chart_draws_its_patterns_and_its_legend_shows_them() -> None:
    table = Table(
        slug="by-type",
        title="Bookings by type",
        columns=(Column("day", "Day", "date"), *(Column(f"t{i}", f"Type {i}", "int") for i in range(6))),
        rows=[(MONDAY, *range(1, 7))],
    )
    chart = bar_chart(table, category="day", series=[f"t{i}" for i in range(6)], title="By type")
    page = render_to_string("reporting/_chart.html", {"chart": chart, "table": table})

    assert len(chart.patterns) == 5  # the first series is solid colour
    for style in chart.patterns:
        assert f'<pattern id="{style.pattern_id}"' in page
    legend = page[page.index('class="chart__legend"') :]
    for style in chart.series:
        assert f'fill="{style.fill}"/></svg>{style.name}</li>' in legend


def test_a_line_chart_legend_shows_each_marker_and_dash() -> None:
    table = days_table([[1, 2, 3], [2, 3, 4]])
    chart = line_chart(table, category="day", series=["s0", "s1", "s2"], title="Days")
    page = render_to_string("reporting/_chart.html", {"chart": chart, "table": table})

    legend = page[page.index('class="chart__legend"') :]
    for style in chart.series:
        assert style.swatch_marker in legend and style.name in legend
        if style.dash:
            assert f'stroke-dasharray="{style.dash}"' in legend
    for line in chart.lines:
        assert all(point.marker in page for point in line.points)


# Templates ----------------------------------------------------------------------------------------------


class Ids(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.ids: list[str] = []
        self.references: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name == "id" and value:
                self.ids.append(value)
            if name == "aria-labelledby" and value:
                self.references.extend(value.split())
            if value and "url(#" in value:
                self.references.extend(re.findall(r"url\(#([^)]+)\)", value))


def test_two_charts_on_one_page_have_unique_ids_that_resolve() -> None:
    weeks = weekly([(MONDAY, 5, 3), (MONDAY + dt.timedelta(weeks=1), 7, 4)])
    other = weekly([(MONDAY, 1, 8)], slug="bookings-weekly-by-type")
    days = days_table([[1, 2], [2, None]])
    page = "".join(
        render_to_string("reporting/_chart.html", {"chart": chart, "table": table})
        for chart, table in [
            (bar_chart(weeks, category="week", series=["portal", "phone"], title="A"), weeks),
            (bar_chart(other, category="week", series=["portal", "phone"], title="B"), other),
            (line_chart(days, category="day", series=["s0", "s1"], title="C"), days),
            (bar_chart(days, category="day", series=["s0", "s1"], title="D"), days),
        ]
    )
    parser = Ids()
    parser.feed(page)

    assert len(parser.ids) == len(set(parser.ids)) > 8
    assert parser.references and set(parser.references) <= set(parser.ids)


def test_the_chart_is_an_image_named_by_its_title_and_summary() -> None:
    table = weekly([(MONDAY, 5, 3)])
    chart = bar_chart(table, category="week", series=["portal", "phone"], title="Bookings per week")
    page = render_to_string("reporting/_chart.html", {"chart": chart, "table": table})

    assert 'role="img"' in page
    assert f'aria-labelledby="{chart.id}-title {chart.id}-desc"' in page
    assert f'<title id="{chart.id}-title">Bookings per week</title>' in page
    assert f'<desc id="{chart.id}-desc">{chart.summary}</desc>' in page
    assert "<figcaption" in page and "<details" in page and "Show the data" in page
    assert page.index("</svg>") < page.index("chart__legend") < page.index("<details")


def test_labels_are_escaped() -> None:
    table = Table(
        slug="x",
        title="<b>Title</b>",
        columns=(Column("who", "Who"), Column("n", "<script>alert(2)</script>", "int")),
        rows=[("<script>alert(1)</script>", 3)],
        note="<i>note</i>",
    )
    chart = bar_chart(table, category="who", series=["n"], title=table.title)
    page = render_to_string(
        "reporting/_chart.html", {"chart": chart, "table": table, "exports": [("CSV", '/x.csv?a=1&b="2"')]}
    )

    assert "<script" not in page and "<b>" not in page and "<i>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert 'href="/x.csv?a=1&amp;b=&quot;2&quot;"' in page


def test_the_table_has_headers_a_caption_the_note_and_downloads() -> None:
    table = Table(
        slug="delivery",
        title="Messages by channel",
        columns=(
            Column("channel", "Channel"),
            Column("sent", "Sent", "int"),
            Column("failed", "Failed", "percent"),
        ),
        rows=[("Email", 12345, 0.125), ("SMS", 10, None)],
        note="Counts messages queued in the period.",
    )
    exports = [("CSV", "/staff/reports/delivery.csv"), ("XLSX", "/staff/reports/delivery.xlsx")]
    page = render_to_string("reporting/_table.html", {"table": table, "exports": exports})

    assert '<caption class="report-table__caption">Messages by channel</caption>' in page
    assert page.count('<th scope="col"') == 3
    assert '<th scope="row" class="report-cell--text">Email</th>' in page
    assert '<td class="report-cell--int">12,345</td>' in page
    assert '<td class="report-cell--percent">12.5%</td>' in page
    assert '<span class="visually-hidden">no data</span>' in page
    assert 'role="region" aria-label="Messages by channel" tabindex="0"' in page
    assert "Counts messages queued in the period." in page
    assert (
        '<a href="/staff/reports/delivery.csv">CSV<span class="visually-hidden"> (Messages by channel)'
        in page
    )

    bare = render_to_string("reporting/_table.html", {"table": Table("t", "T", (Column("a", "A"),))})
    assert "report-exports" not in bare and "report-table__note" not in bare
    assert "No data for these filters." in bare


@pytest.mark.parametrize(
    "value, kind, shown",
    [
        (1234567, "int", "1,234,567"),
        (Decimal("1234.5"), "int", "1,235"),
        (3.14159, "number", "3.1"),
        (12345.25, "number", "12,345.3"),
        (0.125, "percent", "12.5%"),
        (Decimal("0.5"), "percent", "50.0%"),
        (1, "percent", "100.0%"),
        (7.25, "hours", "7.3"),
        (2.5, "days", "3"),
        (4, "days", "4"),
        (dt.date(2026, 11, 3), "date", "3 Nov 2026"),
        ("Phone & text", "text", "Phone &amp; text"),
        ("<b>", "text", "&lt;b&gt;"),
        (0, "int", "0"),
    ],
)
def test_report_cell_formats_by_kind(value: object, kind: str, shown: str) -> None:
    assert report_cell(value, kind) == shown


def test_report_cell_says_no_data_for_none() -> None:
    for kind in ("int", "number", "percent", "hours", "days", "date", "text"):
        assert report_cell(None, kind) == (
            '<span aria-hidden="true">—</span><span class="visually-hidden">no data</span>'
        )


def test_report_cell_shows_an_aware_datetime_in_the_current_zone() -> None:
    from django.utils import timezone

    moment = dt.datetime(2026, 7, 1, 22, 30, tzinfo=dt.UTC)
    with timezone.override("Europe/London"):
        assert report_cell(moment, "date") == "1 Jul 2026 23:30"


def test_values_that_are_not_numbers_are_gaps() -> None:
    chart = line_chart(days_table([[1], [float("nan")], [3]]), category="day", series=["s0"], title="Days.")
    assert chart.lines[0].path.count("M") == 2 and len(chart.lines[0].points) == 2
    assert chart.summary.startswith("Days, 2 Nov to 4 Nov 2026.")
