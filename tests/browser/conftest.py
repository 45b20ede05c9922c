"""Real-browser flows: Playwright drives Debian's Chromium against pytest-django's live server.

The portal answers on tenant host names; Chromium resolves `*.localhost` to loopback, so the pages are
opened at http://northshire.localhost:<port>/. Data is made in the test (the live server needs committed
rows) and the server runs in real time, so every appointment is placed relative to `timezone.now()`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Locator, Page, expect

from accounts.models import Domain, Tenant
from bookings.models import Booking, Customer
from bookings.services import booking_create
from bookings.tokens import manage_token
from scheduling.models import AppointmentType, Question, QuestionKind
from tests import builders as b

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
QUESTION = "What kind of business is it?"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_FLAGS}


def slot_label(moment: datetime) -> str:
    """How the slot picker names a time: 'Tuesday 1 December 2026, 10:00am' (Django's 'l j F Y, g:ia')."""
    hour = moment.hour % 12 or 12
    return f"{moment:%A} {moment.day} {moment:%B %Y}, {hour}:{moment:%M}{moment:%p}".replace(
        "AM", "am"
    ).replace("PM", "pm")


@dataclass
class Portal:
    """Northshire's portal on the live server, with one on-site service, its officer and its question."""

    url: str
    tenant: Tenant
    service: AppointmentType
    next_monday: date

    def at(self, days_after_next_monday: int, hour: int, minute: int = 0) -> datetime:
        """A wall-clock time in the tenant's zone, in the week after this one (always in the future)."""
        day = self.next_monday + timedelta(days=days_after_next_monday)
        return datetime.combine(day, time(hour, minute), tzinfo=self.tenant.zone)

    @staticmethod
    def label(moment: datetime) -> str:
        return slot_label(moment)

    def slot_button(self, page: Page, moment: datetime) -> Locator:
        return page.get_by_role("button", name=re.compile("^" + re.escape(slot_label(moment))))

    # --- walking the booking flow as a customer would ----------------------------------------------------

    def open_slot_picker(self, page: Page) -> None:
        page.goto(f"{self.url}/services/{self.service.slug}/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time")

    def next_week(self, page: Page) -> None:
        page.get_by_role("link", name="Next week").click()
        expect(
            page.get_by_role("heading", level=2, name=re.compile(self.next_monday.strftime("^%-d %B %Y")))
        ).to_be_visible()

    def hold(self, page: Page, moment: datetime) -> str:
        """From the slot picker: the week after this one, then the slot; returns the held reference."""
        self.open_slot_picker(page)
        self.next_week(page)
        self.slot_button(page, moment).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
        return re.search(r"/book/(BK-[^/]+)/details/", page.url).group(1)

    def fill_details(self, page: Page, *, name: str = "Ann Example", email: str = "ann@example.org") -> None:
        page.get_by_label("Full name").fill(name)
        page.get_by_label("Address line 1").fill("1 High Street")
        page.get_by_label("Town or city").fill("Northtown")
        page.get_by_label("Postcode").fill("NT1 1AA")
        page.get_by_role("group", name=QUESTION).get_by_label("Takeaway").check()
        page.get_by_role("radio", name="Email", exact=True).check()
        page.get_by_label("Email address").fill(email)
        page.get_by_label("I agree to be contacted").check()

    def confirm(self, page: Page) -> None:
        page.get_by_role("button", name="Confirm booking").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Booking confirmed")

    def book(self, page: Page, moment: datetime) -> str:
        """The whole booking flow through the browser; ends on the confirmation page."""
        reference = self.hold(page, moment)
        self.fill_details(page)
        self.confirm(page)
        return reference

    # --- data made directly, for flows that start after a booking exists -------------------------------

    def booked(
        self, moment: datetime, *, name: str = "Ann Example", email: str = "ann@example.org"
    ) -> Booking:
        with scope(tenant=self.tenant):
            customer = Customer.objects.create(
                tenant=self.tenant, full_name=name, email=email, consent_given_at=timezone.now()
            )
            return booking_create(
                appointment_type=self.service, starts_at=moment, customer=customer, now=timezone.now()
            )

    def manage_url(self, booking: Booking) -> str:
        return f"{self.url}/manage/{manage_token(tenant_id=self.tenant.pk, public_id=booking.public_id)}/"

    def booking(self, reference: str) -> Booking:
        with scope(tenant=self.tenant):
            return Booking.objects.get(reference=reference)


@pytest.fixture
def portal(live_server: Any, tenant: Tenant) -> Portal:
    b.officer(tenant)
    service = b.appointment_type(
        tenant,
        name="Food hygiene inspection",
        slug="food-hygiene",
        description="An officer inspects your kitchen and food records.",
        documents_to_bring="Photo ID\nFood safety records",
    )
    with scope(tenant=tenant):
        Question.objects.create(
            tenant=tenant,
            appointment_type=service,
            label=QUESTION,
            kind=QuestionKind.CHOICE,
            choices="Cafe\nTakeaway\nRestaurant",
        )
        host = Domain.objects.get(is_primary=True).host  # northshire.localhost
    today = timezone.now().astimezone(tenant.zone).date()
    port = urlsplit(live_server.url).port
    return Portal(
        url=f"http://{host}:{port}",
        tenant=tenant,
        service=service,
        next_monday=today + timedelta(days=7 - today.weekday()),
    )


@pytest.fixture
def page(page: Page) -> Page:
    page.set_default_timeout(10_000)
    return page


_AXE = Axe()


@pytest.fixture
def axe() -> Callable[[Page], list[dict[str, Any]]]:
    """axe-core (bundled with axe-playwright-python, so it works offline) on the page as it is now."""

    def run(page: Page) -> list[dict[str, Any]]:
        return _AXE.run(page).response["violations"]

    return run


def describe(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']}\n"
        + "\n".join(f"    {', '.join(map(str, n['target']))}: {n['html'][:200]}" for n in v["nodes"])
        for v in violations
    )


@pytest.fixture
def describe_violations() -> Callable[[list[dict[str, Any]]], str]:
    return describe
