"""Every write to bookings and customers, by concern; the public `<entity>_<verb>` names are here."""

from .blocks import BlockItem, BlockMode, BlockResult, block_book, block_check
from .codes import access_code_send
from .conflicts import (
    ConflictClosed,
    conflict_resolve,
    conflicts_detect_absence,
    conflicts_detect_officer_left,
    conflicts_flag_overdue,
)
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
from .outcomes import booking_case_link, booking_outcome_record
from .phone_booking import booking_confirm_for_caller
from .reassign import NotEligible, booking_reassign
from .references import REFERENCE_ALPHABET
from .series import (
    SeriesError,
    occurrence_book,
    occurrence_cancel,
    occurrence_move,
    series_create,
    series_materialise,
    series_roll_forward,
)
from .surveys import survey_answer

__all__ = [
    "HOLD_DURATION",
    "REFERENCE_ALPHABET",
    "BlockItem",
    "BlockMode",
    "BlockResult",
    "ConflictClosed",
    "NotEligible",
    "SeriesError",
    "access_code_send",
    "block_book",
    "block_check",
    "booking_cancel",
    "booking_case_link",
    "booking_complete",
    "booking_confirm",
    "booking_confirm_for_caller",
    "booking_confirm_from_portal",
    "booking_create",
    "booking_create_displacing",
    "booking_hold",
    "booking_mark_no_show",
    "booking_outcome_record",
    "booking_reassign",
    "booking_reschedule",
    "bookings_displace",
    "conflict_resolve",
    "conflicts_detect_absence",
    "conflicts_detect_officer_left",
    "conflicts_flag_overdue",
    "customer_create",
    "customer_find_or_create",
    "customer_merge",
    "customer_update",
    "holds_expire",
    "idempotency_keys_purge",
    "occurrence_book",
    "occurrence_cancel",
    "occurrence_move",
    "series_create",
    "series_materialise",
    "series_roll_forward",
    "survey_answer",
]
