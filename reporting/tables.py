"""What every dashboard table is, whatever shows it: the page (a data table behind each chart), the CSV
and XLSX downloads and the monthly printable summary. Plain data: cells are raw values (int, float,
Decimal, date, str or None), formatted by the column's kind where they are shown."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

# How a column's values are shown: "text", "int", "number" (one decimal), "percent" (a fraction 0..1,
# shown as a percentage), "hours" (a number of hours), "days", "date".
KINDS = ("text", "int", "number", "percent", "hours", "days", "date")


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: str = "text"

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")


@dataclass(frozen=True)
class Table:
    """One table of a report. `slug` names it in URLs (its download is /staff/reports/<slug>.csv)."""

    slug: str
    title: str
    columns: tuple[Column, ...]
    rows: Sequence[tuple[Any, ...]] = field(default_factory=list)
    # Said under the table (what it counts, what the filters do not apply to).
    note: str = ""

    def column(self, key: str) -> Column:
        for column in self.columns:
            if column.key == key:
                return column
        raise KeyError(key)

    def values(self, key: str) -> list[Any]:
        index = [c.key for c in self.columns].index(key)
        return [row[index] for row in self.rows]
