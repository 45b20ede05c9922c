"""Writes of the reporting app: it rewrites its own summaries and never writes bookings."""

from .summaries import daily_summaries_refresh, daily_summaries_refresh_recent

__all__ = ["daily_summaries_refresh", "daily_summaries_refresh_recent"]
