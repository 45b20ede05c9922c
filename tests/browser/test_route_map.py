"""The diary's route map in a real Chromium: Leaflet from our own static files draws the numbered visits and
the route with no tile server at all, asks no other host for anything and logs no errors; with a tile
server configured, its tiles load under the page's content policy; and it is redrawn for another day."""

from __future__ import annotations

from datetime import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import ConsoleMessage, Page, Route, expect

from bookings.models import Booking, Customer
from bookings.services import booking_create
from scheduling.models import WorkingPattern
from tests import builders as b

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
# The start of the day, then three visits north of it (the day ends where it starts).
DEPOT = (54.60, -5.93)
VISITS = [(9, (54.62, -5.90)), (11, (54.65, -5.95)), (14, (54.58, -5.99))]


@pytest.fixture
def route_day(portal):
    """An officer's Monday next week: three visits from the depot, and a phone-free day after it."""
    tenant = portal.tenant
    officer = b.officer(tenant, spans=[(time(8), time(18))], days=range(7))
    with scope(tenant=tenant):
        WorkingPattern.objects.filter(officer=officer).update(
            start_label="Depot", start_latitude=DEPOT[0], start_longitude=DEPOT[1]
        )
        customer = Customer.objects.create(
            tenant=tenant, full_name="Ann Example", email="ann@example.org", consent_given_at=timezone.now()
        )
        for hour, (latitude, longitude) in VISITS:
            booking = booking_create(
                appointment_type=portal.service,
                starts_at=portal.at(0, hour),
                customer=customer,
                officer_ids=[officer.pk],
                now=timezone.now(),
                location=f"{hour} High Street, Northtown",
            )
            Booking.objects.filter(pk=booking.pk).update(latitude=latitude, longitude=longitude)
    return officer


def watch(page: Page, portal) -> tuple[list[str], list[str]]:
    """Console errors and page errors, and every URL asked of a host other than the portal's."""
    problems: list[str] = []
    elsewhere: list[str] = []
    own = urlsplit(portal.url).netloc

    def console(message: ConsoleMessage) -> None:
        # The browser's own try for /favicon.ico (the site has none) is not the page's doing.
        if message.type == "error" and not message.location.get("url", "").endswith("/favicon.ico"):
            problems.append(f"{message.text} ({message.location.get('url')})")

    page.on("console", console)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("request", lambda r: elsewhere.append(r.url) if urlsplit(r.url).netloc != own else None)
    return problems, elsewhere


def open_day(portal, page: Page, officer) -> None:
    page.goto(portal.url + "/accounts/login/")
    page.get_by_label("Email address").fill(officer.user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1, name="Sign in")).to_have_count(0)
    page.goto(f"{portal.url}/staff/diary/?view=day&date={portal.next_monday.isoformat()}")
    expect(page.get_by_role("heading", level=2, name="Route")).to_be_visible()


def test_route_map_draws_without_a_tile_server(portal, route_day, page: Page) -> None:
    problems, elsewhere = watch(page, portal)
    open_day(portal, page, route_day)

    route_map = page.locator(".route-map")
    expect(route_map).to_be_visible()
    expect(route_map).to_have_attribute("aria-hidden", "true")
    markers = route_map.locator(".route-map__marker")
    expect(markers).to_have_count(1 + len(VISITS))  # the depot (start and end) and each visit
    assert markers.all_inner_texts() == ["S", "1", "2", "3"]
    line = route_map.locator("path.route-map__line")
    expect(line).to_have_count(1)
    # Depot, three visits and back: one stretch of five points, so the path has five commands.
    assert len([c for c in line.get_attribute("d") if c in "ML"]) == 5
    box = route_map.bounding_box()
    for marker in markers.all():
        spot = marker.bounding_box()
        assert box["x"] <= spot["x"] and spot["x"] + spot["width"] <= box["x"] + box["width"] + 1
        assert box["y"] <= spot["y"] and spot["y"] + spot["height"] <= box["y"] + box["height"] + 1
    expect(route_map.locator(".leaflet-tile")).to_have_count(0)
    # Nothing in the map takes focus: the list above is what a keyboard or a screen reader uses.
    focusable = route_map.locator("a[href], button, [tabindex]:not([tabindex='-1'])")
    expect(focusable).to_have_count(0)

    # Another day by htmx and back: the map is drawn again, once.
    page.get_by_role("link", name="Next day").click()
    expect(page.get_by_role("heading", level=2, name="Route")).to_have_count(0)
    page.get_by_role("link", name="Previous day").click()
    expect(page.locator(".route-map .route-map__marker")).to_have_count(1 + len(VISITS))
    expect(page.locator(".route-map")).to_have_count(1)

    assert not problems, problems
    assert not elsewhere, elsewhere


def test_route_map_shows_tiles_from_a_configured_server(portal, route_day, page: Page, settings) -> None:
    tile = (Path(settings.BASE_DIR) / "static/vendor/leaflet/images/layers.png").read_bytes()
    asked: list[str] = []

    def serve(route: Route) -> None:
        asked.append(route.request.url)
        route.fulfill(status=200, content_type="image/png", body=tile)

    page.route("http://*.tiles.localhost/**", serve)
    problems, _ = watch(page, portal)
    settings.MAP_TILE_URL = "http://{s}.tiles.localhost/{z}/{x}/{y}.png"
    open_day(portal, page, route_day)
    expect(page.locator(".route-map img.leaflet-tile-loaded").first).to_be_visible()
    assert asked and all(urlsplit(u).netloc.endswith(".tiles.localhost") for u in asked)
    expect(page.locator(".route-map .route-map__marker")).to_have_count(1 + len(VISITS))
    assert not problems, problems
