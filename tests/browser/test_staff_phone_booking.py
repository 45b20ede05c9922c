"""Customer service in a real Chromium: find a caller, book on their behalf (with and without JavaScript),
and axe-core plus the 320 px check on the search, customer, slot picker and details pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Page, expect

from accounts.models import Membership, Role
from bookings.models import Booking, BookingStatus, Channel, Customer
from bookings.services import booking_create
from tests.browser.conftest import QUESTION, Portal
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


@dataclass
class Desk:
    portal: Portal
    member: Membership
    ann: Customer

    @property
    def url(self) -> str:
        return self.portal.url

    def sign_in(self, page: Page) -> None:
        page.goto(f"{self.url}/accounts/login/")
        page.get_by_label("Email address").fill(self.member.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_have_count(0)

    def search(self, page: Page, query: str) -> None:
        page.goto(f"{self.url}/staff/customers/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Find a customer")
        page.get_by_label("Name, email, phone").fill(query)
        page.get_by_role("button", name="Search", exact=True).click()

    def slot_picker_next_week(self, page: Page) -> None:
        """From wherever 'Book an appointment' or 'Book for a caller' led: the type, then next week."""
        page.get_by_role("link", name=self.portal.service.name).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time")
        self.portal.next_week(page)

    def hold(self, page: Page, customer: Customer | None = None) -> str:
        query = f"?customer={customer.pk}" if customer else ""
        page.goto(f"{self.url}/staff/book/{query}")
        self.slot_picker_next_week(page)
        self.portal.slot_button(page, self.portal.at(1, 10)).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("The caller's details")
        return re.search(r"/staff/book/hold/(BK-[^/?]+)/", page.url).group(1)

    def fill_new_caller(self, page: Page, *, name: str, email: str) -> None:
        page.get_by_label("Full name").fill(name)
        page.get_by_role("radio", name="Email", exact=True).check()
        page.get_by_label("Email address").fill(email)
        page.get_by_label("The caller agrees to be contacted").check()
        page.get_by_label("Address line 1").fill("2 Low Road")
        page.get_by_label("Town or city").fill("Northtown")
        page.get_by_label(re.compile("^Postcode")).fill("NT2 2BB")
        page.get_by_role("group", name=QUESTION).get_by_label("Takeaway").check()

    def booking(self, reference: str) -> Booking:
        return self.portal.booking(reference)


@pytest.fixture
def desk(portal: Portal) -> Desk:
    tenant = portal.tenant
    member = MembershipFactory(tenant=tenant, role=Role.CUSTOMER_SERVICE)
    with scope(tenant=tenant):
        ann = Customer.objects.create(
            tenant=tenant,
            full_name="Annabel Fairweather",
            email="annabel@example.org",
            phone="+447700900982",
            address_line_1="1 High Street",
            town="Northtown",
            postcode="NT1 1AA",
            contact_by_email=True,
            consent_given_at=timezone.now(),
        )
        for n in range(3):
            Customer.objects.create(
                tenant=tenant, full_name=f"Fairbairn Person {n}", email=f"fair{n}@example.org"
            )
    return Desk(portal, member, ann)


# --- (a) an existing customer, found by part of their name -------------------------------------------


def test_customer_service_books_for_an_existing_customer(desk: Desk, page: Page):
    desk.sign_in(page)
    desk.search(page, "fairwea")
    expect(page.get_by_role("heading", level=2, name="1 customer found")).to_be_visible()
    page.get_by_role("link", name="Annabel Fairweather").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Annabel Fairweather")

    page.get_by_role("link", name="Book an appointment for this customer").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Book for a caller")
    expect(page.locator("main")).to_contain_text("Booking for Annabel Fairweather.")
    desk.slot_picker_next_week(page)
    desk.portal.slot_button(page, desk.portal.at(1, 10)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The caller's details")
    reference = re.search(r"/staff/book/hold/(BK-[^/?]+)/", page.url).group(1)
    # Their record fills in the contact details and the address; the type's question is left to ask.
    expect(page.get_by_label("Full name")).to_have_value("Annabel Fairweather")
    expect(page.get_by_label("Email address")).to_have_value("annabel@example.org")
    page.get_by_role("group", name=QUESTION).get_by_label("Takeaway").check()
    page.get_by_label("Case reference").fill("FH-2027-12")
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Annabel Fairweather")
    expect(page.get_by_role("status")).to_contain_text(f"Booked: {reference}.")
    upcoming = page.get_by_role("table", name="Upcoming appointments")
    expect(upcoming.get_by_role("link", name=reference, exact=True)).to_be_visible()
    expect(upcoming).to_contain_text("Food hygiene inspection · FH-2027-12")
    booking = desk.booking(reference)
    assert booking.status == BookingStatus.CONFIRMED and booking.channel == Channel.STAFF
    assert booking.customer_id == desk.ann.pk and booking.starts_at == desk.portal.at(1, 10)
    assert booking.location == "1 High Street, Northtown, NT1 1AA"


# --- (b) a new caller, with JavaScript off --------------------------------------------------------------


@pytest.fixture
def no_script(new_context) -> Page:
    page = new_context(java_script_enabled=False).new_page()
    page.set_default_timeout(10_000)
    return page


def test_booking_for_a_new_caller_works_without_javascript(desk: Desk, no_script: Page):
    page = no_script
    desk.sign_in(page)
    page.goto(f"{desk.url}/staff/book/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Book for a caller")
    desk.slot_picker_next_week(page)  # "Next week" is a plain link here, not an htmx swap
    assert "week=" in page.url
    desk.portal.slot_button(page, desk.portal.at(1, 10)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The caller's details")
    reference = re.search(r"/staff/book/hold/(BK-[^/?]+)/", page.url).group(1)

    page.get_by_role("button", name="Confirm booking").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Enter the caller's full name.")
    desk.fill_new_caller(page, name="Carl Caller", email="carl@example.org")
    page.get_by_role("button", name="Confirm booking").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Carl Caller")
    expect(page.get_by_role("status")).to_contain_text(f"Booked: {reference}.")
    expect(
        page.get_by_role("table", name="Upcoming appointments").get_by_role(
            "link", name=reference, exact=True
        )
    ).to_be_visible()
    booking = desk.booking(reference)
    with scope(tenant=desk.portal.tenant):
        carl = Customer.objects.get(email="carl@example.org")
    assert booking.status == BookingStatus.CONFIRMED and booking.customer_id == carl.pk
    assert booking.location == "2 Low Road, Northtown, NT2 2BB"


# --- (c) axe-core and 320 px on each page, in each state it can be in -----------------------------------


def search_results(desk: Desk, page: Page) -> None:
    desk.search(page, "fair")
    expect(page.get_by_role("heading", level=2, name="4 customers found")).to_be_visible()


def search_too_short(desk: Desk, page: Page) -> None:
    desk.search(page, "fa")
    expect(page.locator(".error-summary")).to_contain_text("Enter at least 3 characters")


def customer_page(desk: Desk, page: Page) -> None:
    with scope(tenant=desk.portal.tenant):
        booking_create(
            appointment_type=desk.portal.service,
            starts_at=desk.portal.at(2, 11),
            customer=desk.ann,
            case_reference="FH-2027-99",
            now=timezone.now(),
        )
    page.goto(f"{desk.url}/staff/customers/{desk.ann.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Annabel Fairweather")
    expect(page.get_by_role("table", name="Upcoming appointments")).to_be_visible()


def slot_picker(desk: Desk, page: Page) -> None:
    page.goto(f"{desk.url}/staff/book/?customer={desk.ann.pk}")
    desk.slot_picker_next_week(page)
    expect(page.locator("button.slot").first).to_be_visible()


def details(desk: Desk, page: Page) -> None:
    desk.hold(page)


def details_with_errors(desk: Desk, page: Page) -> None:
    desk.hold(page)
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".error-summary")).to_be_visible()


PAGES: dict[str, Callable[[Desk, Page], None]] = {
    f.__name__.replace("_", " "): f
    for f in (search_results, search_too_short, customer_page, slot_picker, details, details_with_errors)
}


@pytest.mark.parametrize("visit", [pytest.param(visit, id=name) for name, visit in PAGES.items()])
def test_customer_service_pages_have_no_axe_violations(
    desk: Desk, page: Page, visit, axe, describe_violations
):
    desk.sign_in(page)
    visit(desk, page)
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe_violations(violations)}"


def test_error_summary_links_reach_the_fields(desk: Desk, page: Page):
    desk.sign_in(page)
    details_with_errors(desk, page)
    links = page.locator(".error-summary a")
    assert links.count() >= 3
    for i in range(links.count()):
        target = links.nth(i).get_attribute("href")
        assert page.locator(target).count() == 1, f"{target} names no field"
    links.first.click()
    expect(page.get_by_label("Full name")).to_be_focused()


@pytest.fixture
def small_screen(new_context) -> Page:
    page = new_context(viewport={"width": 320, "height": 640}).new_page()
    page.set_default_timeout(10_000)
    return page


def test_customer_service_pages_need_no_sideways_scrolling_at_320_pixels(desk: Desk, small_screen: Page):
    page = small_screen
    desk.sign_in(page)
    seen: dict[str, Any] = {}
    for name in ("search results", "search too short", "customer page", "slot picker"):
        PAGES[name](desk, page)
        seen[name] = page.evaluate("document.documentElement.scrollWidth")
    details(desk, page)  # holds the time, so "details with errors" goes on from here
    seen["details"] = page.evaluate("document.documentElement.scrollWidth")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".error-summary")).to_be_visible()
    seen["details with errors"] = page.evaluate("document.documentElement.scrollWidth")
    assert all(width <= 320 for width in seen.values()), seen
