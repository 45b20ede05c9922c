"""Every write to bookings and customers, by concern; the public `<entity>_<verb>` names are here."""

from .codes import access_code_send
from .customers import customer_find_or_create
from .lifecycle import (
    HOLD_DURATION,
    booking_cancel,
    booking_complete,
    booking_confirm,
    booking_create,
    booking_create_displacing,
    booking_hold,
    booking_mark_no_show,
    booking_reschedule,
    bookings_displace,
    holds_expire,
)
from .references import REFERENCE_ALPHABET

__all__ = [
    "HOLD_DURATION",
    "REFERENCE_ALPHABET",
    "access_code_send",
    "booking_cancel",
    "booking_complete",
    "booking_confirm",
    "booking_create",
    "booking_create_displacing",
    "booking_hold",
    "booking_mark_no_show",
    "booking_reschedule",
    "bookings_displace",
    "customer_find_or_create",
    "holds_expire",
]
