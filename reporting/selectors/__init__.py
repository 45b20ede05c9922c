"""Reads for the manager dashboards."""

from .filters import ReportFilters
from .summaries import (
    COUNTED_STATUSES,
    DIMENSIONS,
    FIGURES,
    TIME_TAKING_STATUSES,
    Breakdown,
    Figures,
    booking_breakdown,
    daily_summary_rows_between,
    summary_between,
    summary_rows_sql,
)

__all__ = [
    "COUNTED_STATUSES",
    "DIMENSIONS",
    "FIGURES",
    "TIME_TAKING_STATUSES",
    "Breakdown",
    "Figures",
    "ReportFilters",
    "booking_breakdown",
    "daily_summary_rows_between",
    "summary_between",
    "summary_rows_sql",
]
