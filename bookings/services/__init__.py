"""Every write to bookings and customers, by concern; the public `<entity>_<verb>` names are here."""

from .codes import access_code_send
from .customers import customer_create, customer_find_or_create, customer_merge, customer_update
from .idempotency import idempotency_keys_purge
from .lifecycle import (
    HOLD_DURATION,
    booking_cancel,
    booking_complete,
    booking_confirm,
    booking_confirm_from_portal,
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
    "booking_confirm_from_portal",
    "booking_create",
    "booking_create_displacing",
    "booking_hold",
    "booking_mark_no_show",
    "booking_reschedule",
    "bookings_displace",
    "customer_create",
    "customer_find_or_create",
    "customer_merge",
    "customer_update",
    "holds_expire",
    "idempotency_keys_purge",
]
