"""One booking as an event in an officer's own calendar: the feed and the CalDAV push both use it.

The UID is the booking's for its whole life (the same as the customer's invitations), SEQUENCE is the
booking's, and what it says of the customer is only what the officer needs: the type, the reference and
the place, and the customer's name only where the officer has chosen it.
"""

from __future__ import annotations

from datetime import datetime

from icalendar import Event

from bookings.calendar_files import booking_uid
from bookings.models import Booking


def officer_event(booking: Booking, *, with_customer_name: bool, stamp: datetime) -> Event:
    summary = f"{booking.appointment_type.name} ({booking.reference})"
    if with_customer_name and booking.customer_id is not None:
        summary = f"{summary} – {booking.customer.full_name}"
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", stamp)
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("sequence", booking.sequence)
    event.add("summary", summary)
    if booking.location:
        event.add("location", booking.location)
    event.add("description", f"Reference: {booking.reference}")
    event.add("status", "CONFIRMED")
    event.add("transp", "OPAQUE")
    return event
