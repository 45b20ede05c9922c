"""axe-core on every portal page a customer can reach, in each state it can be in."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Page, expect

from bookings.models import Booking
from bookings.services import booking_cancel
from integrations.models import GazetteerEntry

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def home(portal, page: Page) -> None:
    page.goto(portal.url + "/")


def slot_picker(portal, page: Page) -> None:
    portal.open_slot_picker(page)


def slot_picker_next_week(portal, page: Page) -> None:
    portal.open_slot_picker(page)
    portal.next_week(page)


def slot_picker_time_taken(portal, page: Page) -> None:
    slot_picker_next_week(portal, page)
    portal.booked(portal.at(1, 10))
    portal.slot_button(page, portal.at(1, 10)).click()
    expect(page.locator(".error-summary button.slot").first).to_be_visible()


def slot_picker_postcode_not_found(portal, page: Page) -> None:
    portal.open_slot_picker(page)
    page.get_by_label("Postcode of the address to visit").fill("ZZ9 9ZZ")
    page.get_by_role("button", name="Show times").click()
    expect(page.locator(".error-summary")).to_be_visible()


def slot_picker_recommended(portal, page: Page) -> None:
    with scope(tenant=portal.tenant):
        GazetteerEntry.objects.get_or_create(
            tenant=portal.tenant,
            key="nt11aa",
            defaults={"label": "NT1 1AA", "latitude": 52.0, "longitude": -1.0},
        )
    portal.open_slot_picker(page)
    page.get_by_label("Postcode of the address to visit").fill("NT1 1AA")
    page.get_by_role("button", name="Show times").click()
    portal.next_week(page)
    expect(page.locator("button.slot .tag").first).to_have_text("Recommended")


def details(portal, page: Page) -> None:
    portal.hold(page, portal.at(1, 10))


def details_with_errors(portal, page: Page) -> None:
    portal.hold(page, portal.at(1, 10))
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".error-summary")).to_be_visible()


def details_hold_lapsed(portal, page: Page) -> None:
    reference = portal.hold(page, portal.at(1, 10))
    portal.fill_details(page)
    with scope(tenant=portal.tenant):
        Booking.objects.filter(reference=reference).update(
            hold_expires_at=timezone.now() - timedelta(minutes=1)
        )
    portal.booked(portal.at(1, 10), name="Dan Other", email="dan@example.org")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".error-summary button.slot").first).to_be_visible()


def confirmation(portal, page: Page) -> None:
    portal.book(page, portal.at(1, 10))


def manage(portal, page: Page) -> None:
    page.goto(portal.manage_url(portal.booked(portal.at(1, 10))))


def manage_moved(portal, page: Page) -> None:
    page.goto(portal.manage_url(portal.booked(portal.at(1, 10))) + "?moved=1")


def manage_cancelled(portal, page: Page) -> None:
    booking = portal.booked(portal.at(1, 10))
    with scope(tenant=portal.tenant):
        booking_cancel(booking=booking, reason="Not needed")
    page.goto(portal.manage_url(booking))


def reschedule(portal, page: Page) -> None:
    page.goto(portal.manage_url(portal.booked(portal.at(1, 10))) + "reschedule/")


def cancel(portal, page: Page) -> None:
    page.goto(portal.manage_url(portal.booked(portal.at(1, 10))) + "cancel/")


def find(portal, page: Page) -> None:
    page.goto(portal.url + "/manage/")


def find_with_errors(portal, page: Page) -> None:
    find(portal, page)
    page.get_by_label("Booking reference").fill("not a reference")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.locator(".error-summary")).to_be_visible()


def code(portal, page: Page) -> None:
    booking = portal.booked(portal.at(1, 10))
    find(portal, page)
    page.get_by_label("Booking reference").fill(booking.reference)
    page.get_by_label("Email address or mobile number").fill("ann@example.org")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")


def code_with_errors(portal, page: Page) -> None:
    code(portal, page)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".error-summary")).to_be_visible()


def bad_link(portal, page: Page) -> None:
    assert page.goto(portal.url + "/manage/this-is-not-a-link/").status == 400


def not_found(portal, page: Page) -> None:
    assert page.goto(portal.url + "/no-such-page/").status == 404


PAGES: dict[str, Callable[..., None]] = {
    f.__name__.replace("_", " "): f
    for f in (
        home,
        slot_picker,
        slot_picker_next_week,
        slot_picker_time_taken,
        slot_picker_postcode_not_found,
        slot_picker_recommended,
        details,
        details_with_errors,
        details_hold_lapsed,
        confirmation,
        manage,
        manage_moved,
        manage_cancelled,
        reschedule,
        cancel,
        find,
        find_with_errors,
        code,
        code_with_errors,
        bad_link,
        not_found,
    )
}


@pytest.mark.parametrize(
    "visit",
    [pytest.param(visit, id=name) for name, visit in PAGES.items()],
)
def test_no_axe_violations(portal, page: Page, visit, axe, describe_violations):
    visit(portal, page)
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe_violations(violations)}"


@pytest.fixture
def small_screen(new_context) -> Page:
    page = new_context(viewport={"width": 320, "height": 640}).new_page()
    page.set_default_timeout(10_000)
    return page


def test_320_pixels_wide_needs_no_sideways_scrolling(portal, small_screen: Page):
    page = small_screen
    seen = {}
    home(portal, page)
    seen["home"] = page.evaluate("document.documentElement.scrollWidth")
    slot_picker_next_week(portal, page)
    seen["slot picker"] = page.evaluate("document.documentElement.scrollWidth")
    slots = page.locator("button.slot")
    assert slots.count() >= 10
    too_small = [
        (slots.nth(i).inner_text(), box["width"], box["height"])
        for i in range(slots.count())
        if (box := slots.nth(i).bounding_box())["width"] < 24 or box["height"] < 24
    ]
    assert not too_small, f"slot buttons under 24x24 CSS px: {too_small}"
    portal.slot_button(page, portal.at(1, 10)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    seen["details"] = page.evaluate("document.documentElement.scrollWidth")
    controls = page.locator("input[type=radio], input[type=checkbox]")
    assert controls.count() >= 7
    too_small = [
        (controls.nth(i).get_attribute("id"), box["width"], box["height"])
        for i in range(controls.count())
        if (box := controls.nth(i).bounding_box())["width"] < 24 or box["height"] < 24
    ]
    assert not too_small, f"radios and checkboxes under 24x24 CSS px: {too_small}"
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".error-summary")).to_be_visible()
    seen["details with errors"] = page.evaluate("document.documentElement.scrollWidth")
    assert all(width <= 320 for width in seen.values()), seen


def test_keyboard_skip_link_and_visible_focus(portal, page: Page):
    page.goto(f"{portal.url}/services/{portal.service.slug}/?week={portal.next_monday.isoformat()}")

    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to main content")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box["x"] >= 0 and box["y"] >= 0 and box["width"] > 0, "the focused skip link is off screen"

    page.keyboard.press("Enter")
    expect(page.locator("main#main-content")).to_be_focused()

    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.matches('button.slot')"):
            break
    else:
        pytest.fail("Tab from the main content never reached a slot button")
    outline = page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return {style: style.outlineStyle, width: parseFloat(style.outlineWidth),
                    visible: document.activeElement.matches(':focus-visible')};
        }"""
    )
    assert outline["visible"]
    assert outline["style"] != "none" and outline["width"] >= 2, outline
