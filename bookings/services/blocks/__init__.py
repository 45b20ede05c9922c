"""Block booking: many bookings of one appointment type at once, all-or-nothing or best-effort.

Two kinds of item, freely mixed: a customer to book at the earliest free start in a period (a programme,
such as every food premises in a ward this month) and a customer at an explicit start (several slots for
one customer). Booking them one by one through `booking_create` costs tens of milliseconds each, so the work
is split in two timed phases:

- `block_check` (the check phase, read only) reads the type's open time and everyone's booked time once for
  the whole period, then plans every item in memory: each takes the earliest start (or its own) at which the
  type's seats can be filled, officers ordered by the type's allocation strategy, and the calendars it takes
  are consumed at once (buffers included), so no two items of the block ever share an officer's time.
- `block_book` (the write phase) locks the planned officers' and resources' rows (as `placement` does, so a
  concurrent booking waits or has already committed), re-reads the booked time and re-checks every planned
  item against it: whatever was taken since the check is a conflict with alternatives. Then the bookings,
  their assignments and their audit events are inserted in bulk. The exclusion constraints still have the
  last word: if they refuse the bulk insert, the block is written item by item through `place` in
  savepoints, which finds exactly the items that lost.

Every invariant of the single-booking services holds: references are unique (the unique constraint decides,
a refused batch draws again), every booking has its audit event, the deferred trigger of migration 0007
raises the tenant's booked version once per transaction for any insert, and when the customers are to be
told, each booking's confirmation (and its reminders) is queued as `booking_confirm` queues it.
"""

from .plan import BlockItem, BlockMode, BlockOutcome, BlockPlan, BlockResult, block_check
from .write import block_book, block_customers_tell

__all__ = [
    "BlockItem",
    "BlockMode",
    "BlockOutcome",
    "BlockPlan",
    "BlockResult",
    "block_book",
    "block_check",
    "block_customers_tell",
]
