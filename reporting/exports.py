"""Any report Table as a download: CSV rows and an XLSX workbook, each opening with a block that says what
the table is, which filters made it and when, then the column labels, then the rows. No HTTP here.

CSV cells are machine-readable: dates ISO 8601, numbers with a full stop and no thousands separator,
"int" columns whole, "number", "hours" and "days" with two decimals, and "percent" columns as a fraction
of 1 with four decimals (0.1250 is 12.5%; the label says "(fraction)"), the same value the XLSX cell holds
under a 0.0% format. A missing value is an empty cell.

Text typed by people (type, team and officer names end up in titles, labels and cells) could start a
formula in a spreadsheet: a text cell starting with =, +, -, @, a tab or a carriage return gets a leading
apostrophe (OWASP's advice for CSV injection), in both formats; numbers are written as numbers."""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterator, Sequence
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from bookings.models import Channel

from .charts import cell_text
from .selectors.filters import ReportFilters
from .tables import Column, Table

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
NUMERIC_KINDS = ("int", "number", "percent", "hours", "days")
CSV_DECIMALS = {"number": 2, "hours": 2, "days": 2, "percent": 4}
XLSX_FORMATS = {
    "int": "#,##0",
    "number": "#,##0.0",
    "hours": "#,##0.0",
    "days": "#,##0.0",
    "percent": "0.0%",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}
# Column widths, in characters, read from the labels and the first rows.
MIN_WIDTH, MAX_WIDTH, WIDTH_SAMPLE_ROWS = 8, 50, 500

FiltersDescription = Sequence[tuple[str, str]]


def describe_filters(filters: ReportFilters) -> list[tuple[str, str]]:
    """The filters in words, every one of them (what was not filtered says "All ..."), for the top of a
    download and of the printable summary."""
    return [
        (_("Period"), _("%(first)s to %(last)s") % period_words(filters)),
        (_("Team"), filters.team.name if filters.team else _("All teams")),
        (_("Officer"), filters.officer.user.full_name if filters.officer else _("All officers")),
        (
            _("Appointment type"),
            filters.appointment_type.name if filters.appointment_type else _("All types"),
        ),
        (_("Category"), filters.category.name if filters.category else _("All categories")),
        (_("Booked through"), str(Channel(filters.channel).label) if filters.channel else _("All channels")),
    ]


def period_words(filters: ReportFilters) -> dict[str, str]:
    return {"first": filters.first_day.isoformat(), "last": filters.last_day.isoformat()}


def guarded(text: Any) -> str:
    """Text that no spreadsheet reads as a formula, without the characters an XLSX file cannot hold."""
    text = ILLEGAL_CHARACTERS_RE.sub("", str(text))
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _number(value: Any) -> int | float | Decimal | None:
    """A numeric cell's value, or None for what is not a finite number (a string in a numeric column is
    written as text instead, see _is_number)."""
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Decimal) and not value.is_finite():
        return None
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _header_block(
    table: Table, filters_description: FiltersDescription, generated_at: dt.datetime
) -> list[tuple[str, Any]]:
    block: list[tuple[str, Any]] = [
        (_("Table"), table.title),
        *filters_description,
        (_("Generated"), generated_at),
    ]
    if table.note:
        block.append((_("Note"), table.note))
    return block


def csv_label(column: Column) -> str:
    return _("%(label)s (fraction)") % {"label": column.label} if column.kind == "percent" else column.label


def csv_cell(value: Any, kind: str, *, zone: dt.tzinfo | None = None) -> str:
    """One CSV cell; an aware datetime is written in `zone` (default: the active time zone)."""
    if value is None:
        return ""
    if kind in NUMERIC_KINDS and _is_number(value):
        number = _number(value)
        if number is None:
            return ""
        # Half up, as the page rounds (not to the nearest even, nor the nearest binary fraction).
        places = Decimal(1).scaleb(-CSV_DECIMALS.get(kind, 0))
        try:
            return str(Decimal(str(number)).quantize(places, ROUND_HALF_UP))
        except InvalidOperation:  # more digits than a Decimal context holds
            return str(number)
    if _is_number(value):  # a number in a text column: no formula can start with it
        return str(value)
    if isinstance(value, dt.datetime):
        return timezone.localtime(value, zone).isoformat() if timezone.is_aware(value) else value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    return guarded(value)


def table_csv_rows(
    table: Table, *, filters_description: FiltersDescription, generated_at: dt.datetime | None = None
) -> Iterator[list[str]]:
    """The table as CSV rows (lists of strings, for csv.writer): the header block, an empty row, the
    column labels, the rows. Times are in the time zone active when this is called, even if the rows
    are read later (a streamed response is read after the view has returned)."""
    zone = timezone.get_current_timezone()
    generated_at = timezone.localtime(generated_at or timezone.now(), zone)
    block = _header_block(table, filters_description, generated_at)

    def rows() -> Iterator[list[str]]:
        for label, value in block:
            shown = value.isoformat(timespec="minutes") if isinstance(value, dt.datetime) else value
            yield [guarded(label), guarded(shown)]
        yield []
        yield [guarded(csv_label(column)) for column in table.columns]
        for row in table.rows:
            yield [
                csv_cell(value, column.kind, zone=zone)
                for column, value in zip(table.columns, row, strict=True)
            ]

    return rows()


def _xlsx_value(value: Any, kind: str) -> tuple[Any, str | None]:
    """A cell's value as openpyxl writes it, and its number format."""
    if value is None:
        return None, None
    if _is_number(value):
        return _number(value), XLSX_FORMATS.get(kind)
    if isinstance(value, dt.datetime):
        # Excel has no time zones: the local wall time, as the page shows it.
        local = timezone.localtime(value) if timezone.is_aware(value) else value
        return local.replace(tzinfo=None), XLSX_FORMATS["datetime"]
    if isinstance(value, dt.date):
        return value, XLSX_FORMATS["date"]
    return guarded(value), None


def _width(table: Table, index: int, column: Column) -> float:
    sample = [column.label]
    for row in table.rows[:WIDTH_SAMPLE_ROWS]:
        value = row[index]
        sample.append("0.0%" if column.kind == "percent" else cell_text(value, column.kind))
        if isinstance(value, dt.date):
            sample.append("0000-00-00 00:00" if isinstance(value, dt.datetime) else "0000-00-00")
    return float(min(MAX_WIDTH, max(MIN_WIDTH, *(len(text) + 2 for text in sample))))


def table_xlsx(
    table: Table, *, filters_description: FiltersDescription, generated_at: dt.datetime | None = None
) -> bytes:
    """The table as an XLSX workbook of one sheet: the header block, an empty row, the column labels in
    bold (frozen, so they stay in view), the rows with numbers as numbers and dates as dates."""
    generated_at = timezone.localtime(generated_at or timezone.now())
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=table.slug[:31] or "table")
    # Write-only sheets take their dimensions and panes before the first row.
    for index, column in enumerate(table.columns):
        sheet.column_dimensions[get_column_letter(index + 1)].width = _width(table, index, column)
    block = _header_block(table, filters_description, generated_at)
    labels_row = len(block) + 2
    sheet.freeze_panes = f"A{labels_row + 1}"
    bold = Font(bold=True)

    def cell(value: Any, number_format: str | None = None, *, font: Font | None = None) -> WriteOnlyCell:
        written = WriteOnlyCell(sheet, value=value)
        if number_format:
            written.number_format = number_format
        if font is not None:
            written.font = font
        return written

    for label, value in block:
        if isinstance(value, dt.datetime):
            shown = cell(value.replace(tzinfo=None), XLSX_FORMATS["datetime"])
        else:
            shown = cell(guarded(value))
        sheet.append([cell(guarded(label), font=bold), shown])
    sheet.append([])
    sheet.append([cell(guarded(column.label), font=bold) for column in table.columns])
    for row in table.rows:
        sheet.append(
            [cell(*_xlsx_value(value, column.kind)) for column, value in zip(table.columns, row, strict=True)]
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
