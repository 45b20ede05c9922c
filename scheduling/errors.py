"""Errors the scheduling core raises for bad requests; each carries a message fit to show a person."""

from __future__ import annotations


class SchedulingError(Exception):
    """A request the scheduling core refuses; `message` says why in plain words."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidWindow(SchedulingError):
    """The dates asked about make no sense (end before start, wholly in the past...)."""
