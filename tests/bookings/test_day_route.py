"""The diary's route: when to leave for each visit, travel, waiting, lateness, the way back and the totals;
the day view and the day sheet that show it, to whom, and the map's data and content policy."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from accounts.models import Role
from bookings.models import Booking
from bookings.selectors.routes import day_route
from bookings.services import booking_cancel, booking_create
from bookings.views.diary import tile_source
from scheduling.models import LocationMode, WorkingPattern
from scheduling.routing.problem import Point
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import MembershipFactory, OfficerFactory

BASE = Point(51.0, -1.0)


class MilliDegreeMatrix:
    """A travel backend with round numbers: 0.001° of latitude apart is one minute's drive and one km."""

    def table(
        self, sources: Sequence[Point], destinations: Sequence[Point]
    ) -> tuple[list[list[int]], list[list[int]]]:
        steps = [[round(abs(a.latitude - d.latitude) * 1000) for d in destinations] for a in sources]
        return [[60 * s for s in row] for row in steps], [[1000 * s for s in row] for row in steps]


@pytest.fixture(autouse=True)
def round_travel(settings):
    settings.TRAVEL_MATRIX = f"{__name__}.MilliDegreeMatrix"
    settings.TRAVEL_MATRIX_OPTIONS = {}


@pytest.fixture
def frozen():
    with time_machine.travel(at(MONDAY, 7), tick=False):
        yield


@pytest.fixture
def day(tenant):
    """One officer's Monday from a depot: visits at 09:00 (20 km out), a phone call at 10:00, visits at
    11:00 (10 km on), 12:10 (30 km on: late), 14:00 (no map position) and 16:00, then home."""
    officer = b.officer(tenant, spans=[(time(8), time(20))], days=range(7))
    colleague = b.officer(tenant, spans=[(time(8), time(20))], days=range(7))
    with scope(tenant=tenant):
        WorkingPattern.objects.filter(officer=officer).update(
            start_label="Depot", start_latitude=BASE.latitude, start_longitude=BASE.longitude
        )
    visit = b.appointment_type(tenant, name="Food hygiene inspection", slug="visit", granularity_minutes=10)
    call = b.appointment_type(
        tenant, name="Advice call", slug="call", duration_minutes=30, location_mode=LocationMode.PHONE
    )
    customer = b.customer(tenant)

    def book(kind, hour, minute=0, latitude=None, who=officer, **details) -> Booking:
        with scope(tenant=tenant):
            booking = booking_create(
                appointment_type=kind,
                starts_at=at(MONDAY, hour, minute),
                customer=customer,
                now=NOW,
                officer_ids=[who.pk],
                **details,
            )
            if latitude is not None:
                Booking.objects.filter(pk=booking.pk).update(latitude=latitude, longitude=-1.0)
        return booking

    made = {
        "a": book(visit, 9, latitude=51.020, location="1 Mill Lane"),
        "call": book(call, 10),
        "b": book(visit, 11, latitude=51.030, location="2 Bridge Street"),
        "c": book(visit, 12, 10, latitude=51.060, location="3 Far Farm"),
        "d": book(visit, 14, location="Somewhere unmapped"),
        "e": book(visit, 16, latitude=51.010, location="5 Near Road"),
    }
    cancelled = book(visit, 18, latitude=51.5)
    with scope(tenant=tenant):
        booking_cancel(booking=cancelled, now=NOW)
    book(visit, 8, latitude=51.4, who=colleague)
    return {"officer": officer, "colleague": colleague, "bookings": made, "visit": visit, "book": book}


def local(hour: int, minute: int = 0):
    return at(MONDAY, hour, minute)  # London is UTC in March before the clocks change


# --- the selector -----------------------------------------------------------------------------------------


def test_route_leave_at_waiting_late_unknown_legs_and_the_way_back(day, tenant, in_tenant) -> None:
    route = day_route(day["officer"], MONDAY, zone=tenant.zone)
    made = day["bookings"]
    assert [s.booking.pk for s in route.stops] == [made[k].pk for k in ("a", "call", "b", "c", "d", "e")]
    assert route.start.label == "Depot" and route.end.point == BASE  # no end given: back to the start
    a, call, b_, c, d, e = route.stops

    # The first visit: leave the depot in time, nothing to wait for.
    assert (a.leg.leave_at, a.leg.minutes, a.leg.km) == (local(8, 40), 20, 20.0)
    assert a.leg.arrival is None and not a.waiting and not a.late and a.number == 1
    assert a.leg.leave_at.tzinfo == tenant.zone
    # A phone call: no travel, and the officer stays put until it ends at 10:30.
    assert not call.journey and call.leg is None and call.number is None
    # Free at 10:30, 10 minutes' drive: there at 10:40, 20 minutes early.
    assert (b_.leg.leave_at, b_.leg.arrival, b_.waiting_minutes, b_.late) == (
        local(10, 50),
        local(10, 40),
        20,
        timedelta(0),
    )
    # Free at 12:00, 30 minutes' drive to a 12:10 start: 20 minutes late.
    assert (c.leg.leave_at, c.leg.arrival, c.late_minutes, c.waiting) == (
        local(11, 40),
        local(12, 30),
        20,
        timedelta(0),
    )
    # No map position: listed, unnumbered, the legs to and from it unknown.
    assert d.point is None and d.number is None and d.unknown_leg and d.location == "Somewhere unmapped"
    assert e.point is not None and e.number == 4 and e.unknown_leg
    # Back to the depot from the last visit: 10 minutes after it ends at 17:00.
    assert (route.back.leave_at, route.back.arrival, route.back.minutes) == (local(17), local(17, 10), 10)

    assert (route.visits, route.late_stops, route.complete) == (5, 1, False)
    assert (route.travel_minutes, route.km) == (20 + 10 + 30 + 10, 70.0)


def test_route_map_data_breaks_the_line_where_a_place_is_unknown(day, tenant, in_tenant) -> None:
    data = day_route(day["officer"], MONDAY, zone=tenant.zone).map_data()
    assert [(s["kind"], s["label"]) for s in data["spots"]] == [
        ("start", "Depot"),
        ("visit", "1"),
        ("visit", "2"),
        ("visit", "3"),
        ("visit", "4"),
    ]
    base = [BASE.latitude, BASE.longitude]
    assert data["lines"] == [
        [base, [51.02, -1.0], [51.03, -1.0], [51.06, -1.0]],
        [[51.01, -1.0], base],
    ]


def test_route_without_a_base_or_on_another_end_base(day, tenant, in_tenant) -> None:
    officer = day["officer"]
    WorkingPattern.objects.filter(officer=officer).update(
        end_label="Office", end_latitude=51.005, end_longitude=-1.0
    )
    route = day_route(officer, MONDAY, zone=tenant.zone)
    assert route.end.label == "Office" and route.back.minutes == 5 and route.travel_minutes == 65

    # No pattern's start and no home base: the first leg is unknown, and so are the totals.
    WorkingPattern.objects.filter(officer=officer).update(
        start_latitude=None, start_longitude=None, end_latitude=None, end_longitude=None
    )
    route = day_route(officer, MONDAY, zone=tenant.zone)
    assert route.start is None and route.end is None and route.back is None
    assert route.stops[0].unknown_leg and route.stops[2].leg.minutes == 10 and not route.complete

    # A home base when no pattern covers the day.
    WorkingPattern.objects.filter(officer=officer).delete()
    type(officer).objects.filter(pk=officer.pk).update(
        home_base="Home", home_latitude=51.001, home_longitude=-1.0
    )
    officer.refresh_from_db()
    route = day_route(officer, MONDAY, zone=tenant.zone)
    assert route.start.label == "Home" and route.stops[0].leg.minutes == 19 and route.back.minutes == 9


def test_route_queries_are_fixed(day, tenant, in_tenant, django_assert_num_queries) -> None:
    for hour in (17, 18, 19):
        day["book"](day["visit"], hour, latitude=51.0 + hour / 1000)
    with django_assert_num_queries(4):  # bookings, their assignments, the officer's bases (two)
        route = day_route(day["officer"], MONDAY, zone=tenant.zone)
    assert route.visits == 8


# --- the diary and the day sheet --------------------------------------------------------------------------


def officer_client(tenant, client_for, officer):
    return client_for(tenant, officer.user)


@pytest.mark.usefixtures("frozen")
def test_own_day_view_shows_the_route_and_its_map_data(day, tenant, client_for) -> None:
    response = officer_client(tenant, client_for, day["officer"]).get("/staff/diary/")
    page = response.content.decode()
    assert response.status_code == 200
    route = page.split('id="route-heading"')[1]
    for expected in [
        "Depot",
        "Leave at 08:40: 20 min, 20.0 km.",
        "Leave at 10:50: 10 min, 10.0 km.",
        "20 min to wait.",
        "Late: 20 min (arrives at 12:30 at the earliest).",
        "Late for 1 appointment",
        "By phone: no travel.",
        "Not on the map",
        "Leave at 17:00, back at 17:10: 10 min, 10.0 km.",
        "70 min, 70.0 km",
        "some places have no map position",
    ]:
        assert expected in route, expected
    data = json.loads(re.search(r'id="route-map-data"[^>]*>(.*?)</script>', page, re.S).group(1))
    assert len(data["spots"]) == 5 and len(data["lines"]) == 2 and data["tiles"] == ""
    assert 'data-route-map="route-map-data"' in page and "vendor/leaflet/leaflet.js" in page
    policy = response["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "img-src 'self' data:;" in policy

    week = officer_client(tenant, client_for, day["officer"]).get("/staff/diary/?view=week")
    assert 'id="route-heading"' not in week.content.decode()
    assert "leaflet" not in week.content.decode()


@pytest.mark.usefixtures("frozen")
def test_day_view_htmx_partial_carries_the_route_and_tiles_widen_the_policy(
    day, tenant, client_for, settings
) -> None:
    settings.MAP_TILE_URL = "https://{s}.tiles.example.org/{z}/{x}/{y}.png"
    settings.MAP_TILE_ATTRIBUTION = "Example tiles"
    client = officer_client(tenant, client_for, day["officer"])
    response = client.get("/staff/diary/?view=day&date=2027-03-01", headers={"HX-Request": "true"})
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="diary">') and 'id="route-map-data"' in page
    assert "Map: Example tiles" in page
    assert "img-src 'self' data: https://*.tiles.example.org;" in response["Content-Security-Policy"]
    empty = client.get("/staff/diary/?view=day&date=2027-03-02")
    assert 'id="route-heading"' not in empty.content.decode()


@pytest.mark.usefixtures("frozen")
def test_route_access_follows_the_diary(day, tenant, other_tenant, client_for) -> None:
    officer, colleague = day["officer"], day["colleague"]
    for role in (Role.MANAGER, Role.ADMINISTRATOR, Role.CUSTOMER_SERVICE):
        client = client_for(tenant, MembershipFactory(tenant=tenant, role=role))
        page = client.get(f"/staff/officers/{officer.pk}/diary/").content.decode()
        assert "Leave at 08:40" in page, role
    mine = officer_client(tenant, client_for, colleague)
    assert mine.get(f"/staff/officers/{officer.pk}/diary/").status_code == 403
    # The colleague's own route is theirs alone: one visit at 08:00, 400 km away.
    assert "Leave at 08:40" not in mine.get("/staff/diary/").content.decode()
    foreign = OfficerFactory(tenant=other_tenant)
    manager = client_for(tenant, MembershipFactory(tenant=tenant, role=Role.MANAGER))
    assert manager.get(f"/staff/officers/{foreign.pk}/diary/").status_code == 404
    assert client_for(tenant).get("/staff/diary/").status_code == 302


@pytest.mark.usefixtures("frozen")
def test_day_sheet_lists_the_route_without_a_map(day, tenant, client_for) -> None:
    page = officer_client(tenant, client_for, day["officer"]).get("/staff/diary/print/").content.decode()
    assert "Leave at 11:40: 30 min, 30.0 km." in page and "route-map-data" not in page


@pytest.mark.usefixtures("frozen")
def test_day_view_queries_do_not_grow_with_visits(day, tenant, client_for) -> None:
    client = officer_client(tenant, client_for, day["officer"])
    client.get("/staff/diary/")  # the session and the tenant's settings warm up

    def count() -> int:
        with CaptureQueriesContext(connection) as queries:
            assert client.get("/staff/diary/").status_code == 200
        return len(queries)

    before = count()
    for hour in (17, 18, 19):
        day["book"](day["visit"], hour, latitude=51.0 + hour / 1000)
    assert count() == before <= 12


def test_route_times_are_local_after_the_clocks_go_forward(tenant, in_tenant) -> None:
    officer = b.officer(tenant, spans=[(time(8), time(20))], days=range(7))
    WorkingPattern.objects.filter(officer=officer).update(
        start_label="Depot", start_latitude=BASE.latitude, start_longitude=BASE.longitude
    )
    kind = b.appointment_type(tenant, slug="summer")
    summer_day = MONDAY + timedelta(days=28)  # 29 March 2027: London is UTC+1
    starts_at = datetime.combine(summer_day, time(10), tzinfo=tenant.zone)
    booking = booking_create(
        appointment_type=kind,
        starts_at=starts_at,
        customer=b.customer(tenant),
        now=NOW,
        officer_ids=[officer.pk],
    )
    Booking.objects.filter(pk=booking.pk).update(latitude=51.025, longitude=-1.0)
    route = day_route(officer, summer_day, zone=tenant.zone)
    leave_at = route.stops[0].leg.leave_at
    assert (leave_at.hour, leave_at.minute, leave_at.utcoffset()) == (9, 35, timedelta(hours=1))
    assert route.back.arrival == datetime.combine(summer_day, time(11, 25), tzinfo=tenant.zone)


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("", ""),
        ("https://{s}.tile.example.org/{z}/{x}/{y}.png", "https://*.tile.example.org"),
        ("https://tiles.example.org:8443/osm/{z}/{x}/{y}.png?key=k", "https://tiles.example.org:8443"),
        ("https://a.{s}.example.org/{z}/{x}/{y}.png", ""),  # a CSP wildcard is only leftmost
        ("javascript:alert(1)", ""),
        ("https://evil.example.org; script-src *", ""),
    ],
)
def test_tile_source_for_the_content_policy(url: str, source: str) -> None:
    assert tile_source(url) == source
