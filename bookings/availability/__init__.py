"""Availability with bookings: supply (scheduling) minus booked time, who takes a slot, and searches."""

from .allocation import Allocation, NoAllocation, allocate, needs_loads, week_of
from .search import DisplacementOption, displacement_options, earliest_slot, nearest_alternatives
from .slots import AvailableSlot, available_slots, session_key_for, slots_at

__all__ = [
    "Allocation",
    "AvailableSlot",
    "DisplacementOption",
    "NoAllocation",
    "allocate",
    "available_slots",
    "displacement_options",
    "earliest_slot",
    "nearest_alternatives",
    "needs_loads",
    "session_key_for",
    "slots_at",
    "week_of",
]
