"""iCalendar files for a booking: the same UID for its whole life as the invitations emailed about it, and
their SEQUENCE (`Booking.sequence`, raised by every change the customer is told of)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from icalendar import Calendar, Event

from .models import Booking, BookingStatus


def booking_uid(booking: Booking) -> str:
    """Unique by the booking's random public id alone; no host name in it, since hosts can change."""
    return f"{booking.public_id}@bookings"


def booking_calendar(booking: Booking) -> bytes:
    appointment_type = booking.appointment_type
    tenant = appointment_type.tenant
    calendar = Calendar()
    calendar.add("prodid", "-//Bookings//Appointments//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    event.add("uid", booking_uid(booking))
    event.add("dtstamp", timezone.now())
    event.add("dtstart", booking.starts_at)
    event.add("dtend", booking.ends_at)
    event.add("sequence", booking.sequence)
    event.add("summary", f"{appointment_type.name} – {tenant.name}")
    if booking.location:
        event.add("location", booking.location)
    lines = [f"Reference: {booking.reference}"]
    if documents := appointment_type.documents():
        lines += ["", "Please bring:", *[f"- {d}" for d in documents]]
    event.add("description", "\n".join(lines))
    event.add("status", "CANCELLED" if booking.status == BookingStatus.CANCELLED else "CONFIRMED")
    calendar.add_component(event)
    return calendar.to_ical()


def download(request: HttpRequest, booking: Booking) -> HttpResponse:
    response = HttpResponse(booking_calendar(booking), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{booking.reference}.ics"'
    return response
