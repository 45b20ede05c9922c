"""Availability with bookings: supply (scheduling) minus booked time, who takes a slot, and searches."""

from .allocation import Allocation, NoAllocation, allocate, needs_loads, week_of
from .search import DisplacementOption, displacement_options, earliest_slot, nearest_alternatives
from .slots import (
    AvailableSlot,
    availability_versions,
    available_slots,
    available_slots_stable,
    session_key_for,
    slots_at,
)

__all__ = [
    "Allocation",
    "AvailableSlot",
    "DisplacementOption",
    "NoAllocation",
    "allocate",
    "availability_versions",
    "available_slots",
    "available_slots_stable",
    "displacement_options",
    "earliest_slot",
    "nearest_alternatives",
    "needs_loads",
    "session_key_for",
    "slots_at",
    "week_of",
]
