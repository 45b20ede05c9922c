"""The scheduling desk in a real Chromium: reassigning from the team calendar with the keyboard,
accepting a remedy from the conflict queue, and axe-core plus the 320 px check on the desk pages."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pytest
from django_scopes import scope
from playwright.sync_api import Page, expect

from accounts.models import Membership, Officer, Role, Team
from bookings.models import Booking, BookingAssignment, ConflictItem
from bookings.services import booking_create
from scheduling.models import Absence, AppointmentType, Priority
from tests import builders as b
from tests.factories import MembershipFactory, TeamFactory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory


@dataclass
class Desk:
    portal: Any
    team: Team
    officers: list[Officer]
    kind: AppointmentType
    urgent: AppointmentType
    manager: Membership

    @property
    def url(self) -> str:
        return self.portal.url

    def book(self, moment: datetime, officer: Officer, n: int = 1) -> Booking:
        tenant = self.portal.tenant
        with scope(tenant=tenant):
            return booking_create(
                appointment_type=self.kind,
                starts_at=moment,
                customer=b.customer(tenant, n),
                officer_ids=[officer.pk],
            )

    def absent(self, officer: Officer, booking: Booking) -> ConflictItem:
        """Leave saved over the booking through the model, as the admin would; the receiver queues it."""
        tenant = self.portal.tenant
        with scope(tenant=tenant):
            Absence.objects.create(
                tenant=tenant, officer=officer, starts_at=booking.starts_at, ends_at=booking.ends_at
            )
            return ConflictItem.objects.open().get(booking=booking)

    def calendar_url(self, moment: datetime) -> str:
        day = moment.astimezone(self.portal.tenant.zone).date()
        return f"{self.url}/staff/team/?team={self.team.pk}&view=day&date={day.isoformat()}"

    def sign_in(self, page: Page) -> None:
        page.goto(f"{self.url}/accounts/login/")
        page.get_by_label("Email address").fill(self.manager.user.email)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_have_count(0)


@pytest.fixture
def desk(portal) -> Desk:
    tenant = portal.tenant
    team = TeamFactory(tenant=tenant, name="North")
    officers = [b.officer(tenant) for _ in range(3)]
    with scope(tenant=tenant):
        for officer in officers:
            officer.team = team
            officer.save()
        officers.sort(key=lambda o: o.user.full_name)
        kind = b.appointment_type(tenant, name="Noise visit")
        urgent = b.appointment_type(tenant, name="Gas leak", urgent_target_hours=24 * 14)
    manager = MembershipFactory(tenant=tenant, role=Role.MANAGER)
    return Desk(portal, team, officers, kind, urgent, manager)


def officer_of(desk: Desk, booking: Booking) -> list[int]:
    with scope(tenant=desk.portal.tenant):
        return list(
            BookingAssignment.objects.filter(booking=booking, is_active=True).values_list(
                "officer_id", flat=True
            )
        )


def tab_to(page: Page, selector: str, limit: int = 60) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


def focus_is_visible(page: Page) -> dict[str, Any]:
    return page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return {style: style.outlineStyle, width: parseFloat(style.outlineWidth),
                    visible: document.activeElement.matches(':focus-visible')};
        }"""
    )


# --- (a) reassigning from the team calendar, keyboard only --------------------------------------------


def test_manager_gives_an_appointment_to_another_officer_with_the_keyboard(desk: Desk, page: Page):
    first, _second, third = desk.officers
    when = desk.portal.at(1, 10)
    booking = desk.book(when, first)
    desk.sign_in(page)
    page.goto(desk.calendar_url(when))
    expect(page.get_by_role("heading", level=1)).to_have_text("Team calendar: North")
    mine = page.get_by_role("region", name=first.user.full_name)
    expect(mine).to_contain_text(booking.reference)

    page.keyboard.press("Tab")
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    page.keyboard.press("Enter")
    select = page.get_by_label(f"Give {booking.reference} to")
    tab_to(page, "select[name=officer]")
    expect(select).to_be_focused()
    assert focus_is_visible(page)["style"] != "none"
    # The eligible others, by name; arrow keys move through them without opening the list.
    expect(select.locator("option")).to_have_text([o.user.full_name for o in desk.officers[1:]])
    for _ in range(len(desk.officers)):
        if select.input_value() == str(third.pk):
            break
        page.keyboard.press("ArrowDown")
    expect(select).to_have_value(str(third.pk))
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name="Reassign")
    expect(button).to_be_focused()
    outline = focus_is_visible(page)
    assert outline["visible"] and outline["style"] != "none" and outline["width"] >= 2, outline
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text("Team calendar: North")
    expect(page.get_by_role("region", name=third.user.full_name)).to_contain_text(booking.reference)
    expect(mine).not_to_contain_text(booking.reference)
    assert officer_of(desk, booking) == [third.pk]


# --- (b) the conflict queue: one action resolves an item ----------------------------------------------


def test_manager_accepts_the_first_remedy_and_the_item_leaves_the_queue(desk: Desk, page: Page):
    first = desk.officers[0]
    booking = desk.book(desk.portal.at(1, 10), first)
    item = desk.absent(first, booking)
    desk.sign_in(page)
    page.goto(f"{desk.url}/staff/conflicts/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Conflict queue")
    entry = page.get_by_role("region", name=booking.reference)
    expect(entry).to_contain_text(first.user.full_name)
    remedy = entry.get_by_role("button").first
    expect(remedy).to_have_text(re.compile(rf"^Give {booking.reference} to .+ at the same time$"))
    remedy.click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Conflict queue")
    expect(page.get_by_role("region", name=booking.reference)).to_have_count(0)
    expect(page.locator("main")).to_contain_text("Nothing in the queue.")
    with scope(tenant=desk.portal.tenant):
        item.refresh_from_db()
        assert item.resolved_at is not None and item.resolved_by == desk.manager.user
    now_with = officer_of(desk, booking)
    assert len(now_with) == 1 and now_with != [first.pk]


# --- (c) axe-core and 320 px on every desk page, in each state it can be in ----------------------------


def team_calendar(desk: Desk, page: Page) -> None:
    when = desk.portal.at(1, 10)
    desk.book(when, desk.officers[0])
    desk.book(desk.portal.at(1, 11), desk.officers[1], n=2)
    page.goto(desk.calendar_url(when))
    expect(page.get_by_role("button", name="Reassign").first).to_be_visible()


def team_calendar_week(desk: Desk, page: Page) -> None:
    desk.book(desk.portal.at(1, 10), desk.officers[0])
    page.goto(desk.calendar_url(desk.portal.at(0, 9)).replace("view=day", "view=week"))
    expect(page.get_by_role("button", name="Reassign").first).to_be_visible()


def team_calendar_with_a_problem(desk: Desk, page: Page) -> None:
    when = desk.portal.at(1, 10)
    booking = desk.book(when, desk.officers[0])
    desk.book(when, desk.officers[1], n=2)
    page.goto(desk.calendar_url(when))
    # The second officer is busy by now: another tab gave them a booking at the same time.
    page.evaluate(
        """([id, officer]) => { const s = document.querySelector('#reassign-' + id);
           s.add(new Option('busy', officer)); s.value = officer; }""",
        [_assignment_pk(desk, booking), str(desk.officers[1].pk)],
    )
    page.locator(f"#reassign-{_assignment_pk(desk, booking)}").locator("xpath=..").get_by_role(
        "button", name="Reassign"
    ).click()
    expect(page.locator(".error-summary")).to_be_visible()


def _assignment_pk(desk: Desk, booking: Booking) -> int:
    with scope(tenant=desk.portal.tenant):
        return BookingAssignment.objects.get(booking=booking, is_active=True).pk


def conflict_queue(desk: Desk, page: Page) -> None:
    first = desk.officers[0]
    desk.absent(first, desk.book(desk.portal.at(2, 10), first, n=3))
    page.goto(f"{desk.url}/staff/conflicts/")
    expect(page.locator("section.conflict")).to_have_count(1)


def conflict_queue_flagged(desk: Desk, page: Page) -> None:
    first = desk.officers[0]
    item = desk.absent(first, desk.book(desk.portal.at(2, 11), first, n=4))
    with scope(tenant=desk.portal.tenant):
        ConflictItem.objects.filter(pk=item.pk).update(flagged_at=item.detected_at)
    page.goto(f"{desk.url}/staff/conflicts/")
    expect(page.locator("section.conflict .tag")).to_have_text("Flagged to managers")


def conflict_queue_empty(desk: Desk, page: Page) -> None:
    page.goto(f"{desk.url}/staff/conflicts/")
    expect(page.locator("main")).to_contain_text("Nothing in the queue.")


def emergency(desk: Desk, page: Page) -> None:
    page.goto(f"{desk.url}/staff/emergency/")
    expect(page.get_by_role("button", name="Find the earliest time")).to_be_visible()


def emergency_with_errors(desk: Desk, page: Page) -> None:
    emergency(desk, page)
    page.get_by_role("button", name="Find the earliest time").click()
    expect(page.locator(".error-summary")).to_be_visible()


def emergency_preview(desk: Desk, page: Page) -> None:
    emergency(desk, page)
    page.get_by_label("Type of appointment").select_option(label="Gas leak")
    page.get_by_label("Priority").select_option(str(Priority.URGENT.value))
    page.get_by_label("New customer's full name").fill("Ann Urgent")
    page.get_by_label("Email address").fill("ann@example.org")
    page.get_by_label("Why is it urgent?").fill("Gas smell")
    page.get_by_role("button", name="Find the earliest time").click()
    expect(page.get_by_role("heading", level=2, name="Earliest time")).to_be_visible()
    expect(page.get_by_role("button", name="Book this time")).to_be_visible()


def emergency_booked(desk: Desk, page: Page) -> None:
    emergency_preview(desk, page)
    page.get_by_role("button", name="Book this time").click()
    expect(page.get_by_role("status")).to_contain_text("is booked for")


PAGES: dict[str, Callable[[Desk, Page], None]] = {
    f.__name__.replace("_", " "): f
    for f in (
        team_calendar,
        team_calendar_week,
        team_calendar_with_a_problem,
        conflict_queue,
        conflict_queue_flagged,
        conflict_queue_empty,
        emergency,
        emergency_with_errors,
        emergency_preview,
        emergency_booked,
    )
}


@pytest.mark.parametrize("visit", [pytest.param(visit, id=name) for name, visit in PAGES.items()])
def test_desk_pages_have_no_axe_violations(desk: Desk, page: Page, visit, axe, describe_violations):
    desk.sign_in(page)
    visit(desk, page)
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe_violations(violations)}"


@pytest.fixture
def small_screen(new_context) -> Page:
    page = new_context(viewport={"width": 320, "height": 640}).new_page()
    page.set_default_timeout(10_000)
    return page


def test_desk_pages_need_no_sideways_scrolling_at_320_pixels(desk: Desk, small_screen: Page):
    page = small_screen
    desk.sign_in(page)
    seen = {}
    for name in ("team calendar", "conflict queue flagged", "emergency", "emergency booked"):
        PAGES[name](desk, page)
        seen[name] = page.evaluate("document.documentElement.scrollWidth")
    assert all(width <= 320 for width in seen.values()), seen
