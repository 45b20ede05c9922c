"""Calendar invitations for appointment emails, so the customer's calendar adds, moves and removes them.

The invitation is plain data the caller built (see `Message.invite`): the same UID for every message about
one booking and a SEQUENCE that grows with each change, which is what lets a calendar match a new time or
a cancellation to the event it already has. Times are given in the booking's zone with its VTIMEZONE, so
calendars that ignore UTC offsets still show the right local time.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vCalAddress

PRODID = "-//Bookings//Appointment notifications//EN"


def invite_ics(invite: dict[str, Any], *, now: datetime | None = None) -> str:
    """One VCALENDAR with one VEVENT: METHOD REQUEST (confirmed) or CANCEL (cancelled)."""
    method = invite["method"].upper()
    zone = ZoneInfo(invite.get("time_zone") or "UTC")
    starts_at = _instant(invite["starts_at"]).astimezone(zone)
    ends_at = _instant(invite["ends_at"]).astimezone(zone)
    attendee = vCalAddress(f"mailto:{invite['attendee']}")
    attendee.params["RSVP"] = "FALSE"
    event = Event.new(
        uid=invite["uid"],
        sequence=int(invite.get("sequence", 0)),
        stamp=(now or datetime.now(UTC)).astimezone(UTC),
        start=starts_at,
        end=ends_at,
        summary=invite.get("summary", ""),
        location=invite.get("location") or None,
        description=invite.get("description") or None,
        organizer=vCalAddress(f"mailto:{invite['organizer']}"),
        attendees=[attendee],
        status="CANCELLED" if method == "CANCEL" else "CONFIRMED",
    )
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", method)
    calendar.add_component(event)
    # As Calendar.add_missing_timezones does, but with each zone's VTIMEZONE built once per process.
    for tzid in sorted(calendar.get_missing_tzids()):
        calendar.subcomponents.insert(0, _vtimezone(tzid, starts_at.year, ends_at.year))
    return calendar.to_ical().decode()


def _instant(iso: str) -> datetime:
    moment = datetime.fromisoformat(iso)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)  # stored times are UTC


@lru_cache(maxsize=32)
def _vtimezone(tzid: str, first_year: int, last_year: int) -> Timezone:
    """The zone's rules for the years an event touches: all a calendar needs, and shared read-only."""
    return Timezone.from_tzid(tzid, first_date=date(first_year, 1, 1), last_date=date(last_year + 1, 1, 1))
