"""Filters for report tables: a cell formatted by its column's kind, and a row paired with its columns."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString
from django.utils.translation import gettext

from reporting.charts import cell_text
from reporting.tables import Column, Table

register = template.Library()


@register.filter
def report_cell(value: Any, kind: str) -> SafeString:
    """`{{ value|report_cell:column.kind }}`: "1,234", "12.5%", "3 Nov 2026"; a missing value is an em
    dash that a screen reader reads as "no data"."""
    if value is None:
        return format_html(
            '<span aria-hidden="true">—</span><span class="visually-hidden">{}</span>', gettext("no data")
        )
    return escape(cell_text(value, kind))


@register.filter
def report_row(row: tuple[Any, ...], table: Table) -> list[tuple[Column, Any]]:
    """`{% for column, value in row|report_row:table %}`: each cell with the column it belongs to."""
    return list(zip(table.columns, row, strict=True))
