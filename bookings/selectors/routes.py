"""An officer's day as a journey: where the day starts, each appointment in time order with when to leave
the previous place, how long the drive is, how long there is to wait or how late the officer will be, and
the way back to where the day ends.

The appointments are the diary's (confirmed, completed and no-show: a past day shows the journey made).
A visit is at the booking's point (`Booking.latitude`/`longitude`, whatever the type's location mode); an
appointment by phone or video has no journey and leaves the officer where they were; a visit with no point
(not geocoded, or an office type's address, which is not geocoded here) is listed but its legs are unknown,
and the totals then say they are incomplete. Travel comes from `scheduling.locations.travel_table` in one
batch. Queries: the day's bookings (two, unless the caller passes the diary's) and the day's bases (two).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from accounts.models import Officer
from bookings.models import Booking
from bookings.selectors.diary import day_bounds, officer_bookings
from scheduling.locations import Place, travel_table
from scheduling.models import LocationMode
from scheduling.routing.problem import Point
from scheduling.selectors import officer_day_bases

NO_JOURNEY = (LocationMode.PHONE, LocationMode.VIDEO)


@dataclass(frozen=True)
class Leg:
    """A drive from the previous place: leave by `leave_at` to arrive on time; `arrival` is the earliest
    arrival when leaving as soon as the previous appointment ends (None for the first visit of the day,
    which starts from the base whenever it must)."""

    seconds: int
    metres: int
    leave_at: datetime
    arrival: datetime | None = None

    @property
    def minutes(self) -> int:
        return math.ceil(self.seconds / 60)

    @property
    def km(self) -> float:
        return self.metres / 1000


@dataclass(frozen=True)
class RouteStop:
    booking: Booking
    location: str
    point: Point | None
    journey: bool  # False for phone and video: nobody travels
    number: int | None  # the visit's number on the map (mapped visits only)
    leg: Leg | None  # None without a journey, or when this place or the previous one has no point
    waiting: timedelta = timedelta(0)
    late: timedelta = timedelta(0)

    @property
    def unknown_leg(self) -> bool:
        return self.journey and self.leg is None

    @property
    def waiting_minutes(self) -> int:
        return int(self.waiting.total_seconds() // 60)

    @property
    def late_minutes(self) -> int:
        return math.ceil(self.late.total_seconds() / 60)


@dataclass(frozen=True)
class DayRoute:
    day: date
    start: Place | None
    end: Place | None
    stops: tuple[RouteStop, ...]
    back: Leg | None  # from the last visit to the end of the day
    complete: bool  # every leg's travel is known (else the totals cover only the known legs)

    @property
    def visits(self) -> int:
        return sum(1 for s in self.stops if s.journey)

    @property
    def late_stops(self) -> int:
        return sum(1 for s in self.stops if s.late)

    @property
    def legs(self) -> list[Leg]:
        return [s.leg for s in self.stops if s.leg] + ([self.back] if self.back else [])

    @property
    def travel_minutes(self) -> int:
        return math.ceil(sum(leg.seconds for leg in self.legs) / 60)

    @property
    def km(self) -> float:
        return sum(leg.metres for leg in self.legs) / 1000

    def map_data(self) -> dict[str, Any]:
        """What the map script draws: numbered visits, the bases and the known stretches of the route."""
        places: list[dict[str, Any] | None] = []
        if self.start:
            places.append(_spot(self.start.point, "start", self.start.label))
        for stop in self.stops:
            if stop.journey:
                places.append(
                    _spot(stop.point, "visit", f"{stop.number}") if stop.point and stop.number else None
                )
        if self.end and self.visits:
            places.append(_spot(self.end.point, "end", self.end.label))
        lines: list[list[list[float]]] = [[]]
        for place in places:
            if place is None:
                lines.append([])
            else:
                lines[-1].append([place["lat"], place["lng"]])
        spots = [p for p in places if p is not None]
        if self.start and self.end and self.start.point == self.end.point and len(spots) > 1:
            spots.pop()  # a day that ends where it starts: one base marker
        return {"spots": spots, "lines": [line for line in lines if len(line) > 1]}


def _spot(point: Point, kind: str, label: str) -> dict[str, Any]:
    return {"lat": point.latitude, "lng": point.longitude, "kind": kind, "label": label}


def booking_point(booking: Booking) -> Point | None:
    if booking.latitude is None or booking.longitude is None:
        return None
    return Point(booking.latitude, booking.longitude)


def day_route(officer: Officer, day: date, *, zone: Any, bookings: list[Booking] | None = None) -> DayRoute:
    """The officer's route on `day` (in the tenant's `zone`). `bookings`: the day's diary appointments when
    the caller already has them (in time order), to save their queries."""
    if bookings is None:
        bookings = officer_bookings(officer, *day_bounds(day, 1, zone))
    bases = officer_day_bases([officer.pk], day, day).get((officer.pk, day))
    start, end = (bases.start, bases.end) if bases else (None, None)
    if start is None and officer.home_latitude is not None and officer.home_longitude is not None:
        # No working pattern covers the day (an appointment placed outside hours): the day starts at home.
        start = Place(officer.home_base, Point(float(officer.home_latitude), float(officer.home_longitude)))
    end = end or start

    points: list[Point] = [p for p in (start.point if start else None, end.point if end else None) if p]
    points += [p for b in bookings if (p := booking_point(b))]
    seconds, metres = travel_table(points)
    index = {p: i for i, p in enumerate(points)}

    def leg_between(a: Point, b: Point, *, arrive_by: datetime, free_from: datetime | None) -> Leg:
        i, j = index[a], index[b]
        drive = timedelta(seconds=seconds[i][j])
        leave_at = (arrive_by - drive).astimezone(zone).replace(second=0, microsecond=0)
        arrival = (free_from + drive).astimezone(zone) if free_from else None
        return Leg(seconds[i][j], metres[i][j], leave_at, arrival)

    stops: list[RouteStop] = []
    here = start.point if start else None  # where the officer is (None: not known)
    free_from: datetime | None = None  # when the last appointment so far ends
    complete, number = True, 0
    for booking in bookings:
        location = booking.location
        if not location and booking.appointment_type.location_mode == LocationMode.OFFICE:
            location = booking.appointment_type.office_address
        if booking.appointment_type.location_mode in NO_JOURNEY:
            stops.append(RouteStop(booking, location, None, journey=False, number=None, leg=None))
        else:
            point = booking_point(booking)
            leg = (
                leg_between(here, point, arrive_by=booking.starts_at, free_from=free_from)
                if here and point
                else None
            )
            complete = complete and leg is not None
            if point:
                number += 1
            waiting = late = timedelta(0)
            if leg and leg.arrival:
                waiting = max(timedelta(0), booking.starts_at - leg.arrival)
                late = max(timedelta(0), leg.arrival - booking.starts_at)
            stops.append(
                RouteStop(booking, location, point, True, number if point else None, leg, waiting, late)
            )
            here = point
        free_from = max(free_from, booking.ends_at) if free_from else booking.ends_at

    back = None
    if any(s.journey for s in stops):
        if here and end:
            i, j = index[here], index[end.point]
            arrival = free_from + timedelta(seconds=seconds[i][j])
            back = Leg(seconds[i][j], metres[i][j], free_from.astimezone(zone), arrival.astimezone(zone))
        complete = complete and back is not None
    return DayRoute(day=day, start=start, end=end, stops=tuple(stops), back=back, complete=complete)
