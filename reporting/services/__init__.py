"""Writes of the reporting app: it rewrites its own summaries and never writes bookings."""

from .refresh import reports_refresh, reports_refresh_recent
from .summaries import daily_summaries_refresh

__all__ = [
    "daily_summaries_refresh",
    "daily_summaries_refresh_recent",
    "reports_refresh",
    "reports_refresh_recent",
]
