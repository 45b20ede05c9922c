"""Every staff page the other browser tests do not already cover, in each state it can be in: axe-core
clean, no sideways scrolling at 320 px, and usable with the keyboard alone (skip link first, then the
staff navigation, then every control in <main>, each with a visible focus indicator)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import time, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Page, expect

from accounts.models import Membership, Officer, Role
from bookings.models import Booking, InspectionVisit
from bookings.services import booking_cancel, booking_create
from bookings.services.allocation_plans import plan_create, visit_create
from integrations.models import CalendarConnection, ConnectionStatus, SyncDirection, SyncError
from scheduling.models import WorkingPattern
from tests import builders as b
from tests.factories import MembershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's
CASE = "INS-42"


@dataclass
class Staff:
    portal: Any
    officer: Officer
    today: Booking
    later: Booking
    members: dict[str, Membership]

    @property
    def url(self) -> str:
        return self.portal.url

    def email(self, role: str) -> str:
        return self.officer.user.email if role == "officer" else self.members[role].user.email

    def sign_in(self, page: Page, role: str) -> None:
        page.goto(f"{self.url}/accounts/login/")
        page.get_by_label("Email address").fill(self.email(role))
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("heading", level=1, name="Sign in")).to_have_count(0)


@pytest.fixture
def staff(portal) -> Staff:
    """An officer with an appointment today (started within the last half hour, on a case) and one next
    week, a colleague, and a member for each desk role."""
    tenant = portal.tenant
    officer = b.officer(tenant, spans=[(time(8), time(18))], days=range(7))
    b.officer(tenant, spans=[(time(8), time(18))], days=range(7))
    now = timezone.now().astimezone(tenant.zone)
    start = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
    if not time(8) <= start.time() < time(17, 30):
        start = start.replace(hour=12, minute=0)  # outside working hours: still today, placed without notice
    with scope(tenant=tenant):
        today = booking_create(
            appointment_type=portal.service,
            starts_at=start,
            customer=b.customer(tenant, 1),
            officer_ids=[officer.pk],
            now=start - timedelta(hours=1),
            apply_notice=False,
            location="1 High Street, Northtown NT1 1AA",
            answers={"What kind of business is it?": "Cafe"},
            case_reference=CASE,
        )
        later = booking_create(
            appointment_type=portal.service,
            starts_at=portal.at(1, 10),
            customer=b.customer(tenant, 2),
            officer_ids=[officer.pk],
            case_reference=CASE,
        )
    members = {
        "customer service": MembershipFactory(tenant=tenant, role=Role.CUSTOMER_SERVICE),
        "manager": MembershipFactory(tenant=tenant, role=Role.MANAGER),
        "administrator": MembershipFactory(tenant=tenant, role=Role.ADMINISTRATOR),
    }
    return Staff(portal, officer, today, later, members)


# --- the pages, each as (role signed in, how to get there) ------------------------------------------------


def login(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/accounts/login/")


def login_with_error(staff: Staff, page: Page) -> None:
    login(staff, page)
    page.get_by_label("Email address").fill(staff.email("manager"))
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator(".error-summary")).to_be_visible()


def home(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/")


def officer_list(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/officers/")


def officer_detail(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/officers/{staff.officer.pk}/")


def officer_diary(view: str) -> Callable[[Staff, Page], None]:
    def visit(staff: Staff, page: Page) -> None:
        page.goto(f"{staff.url}/staff/officers/{staff.officer.pk}/diary/?view={view}")
        expect(page.get_by_text("Food hygiene inspection").first).to_be_visible()

    return visit


def officer_diary_route(staff: Staff, page: Page) -> None:
    """Today's appointment on the map, from a depot: the route list and its map."""
    with scope(tenant=staff.portal.tenant):
        WorkingPattern.objects.filter(officer=staff.officer).update(
            start_label="Depot", start_latitude=54.60, start_longitude=-5.93
        )
        Booking.objects.filter(pk=staff.today.pk).update(latitude=54.62, longitude=-5.90)
    page.goto(f"{staff.url}/staff/officers/{staff.officer.pk}/diary/?view=day")
    expect(page.locator(".route-map .route-map__marker")).to_have_count(2)


def day_sheet(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/diary/print/")
    expect(page.get_by_text("1 High Street, Northtown NT1 1AA").first).to_be_visible()


def case_search(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/cases/")


def case_search_not_found(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/cases/?ref=NO-SUCH-CASE")


def case_search_with_errors(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/cases/?ref=")
    expect(page.locator(".error-summary")).to_be_visible()


def case(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/cases/?ref={CASE}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(CASE)


def reschedule(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/bookings/{staff.later.pk}/reschedule/")


def reschedule_time_taken(staff: Staff, page: Page) -> None:
    """The time chosen is taken by someone else (by both officers) before the click lands."""
    portal = staff.portal
    page.goto(f"{staff.url}/staff/bookings/{staff.later.pk}/reschedule/?week={portal.next_monday}")
    moment = portal.at(2, 11)
    button = portal.slot_button(page, moment)
    expect(button).to_be_visible()
    portal.booked(moment, name="Dan Other", email="dan@example.org")
    portal.booked(moment, name="Eve Other", email="eve@example.org")
    portal.booked(moment, name="Fay Other", email="fay@example.org")
    button.click()
    expect(page.locator(".error-summary")).to_be_visible()


def reschedule_refused(staff: Staff, page: Page) -> None:
    with scope(tenant=staff.portal.tenant):
        booking_cancel(booking=staff.later, reason="Not needed")
    page.goto(f"{staff.url}/staff/bookings/{staff.later.pk}/reschedule/")


def cancel(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/bookings/{staff.later.pk}/cancel/")


def cancel_with_errors(staff: Staff, page: Page) -> None:
    cancel(staff, page)
    page.locator("main").get_by_role("button", name="Cancel the appointment").click()
    expect(page.locator(".error-summary")).to_be_visible()


def cancel_refused(staff: Staff, page: Page) -> None:
    with scope(tenant=staff.portal.tenant):
        booking_cancel(booking=staff.later, reason="Not needed")
    cancel(staff, page)
    expect(page.locator(".error-summary")).to_be_visible()


def book_start(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/book/")


def calendar_sync(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/calendar/")


def calendar_sync_new_link(staff: Staff, page: Page) -> None:
    calendar_sync(staff, page)
    page.get_by_role("button", name="Make a subscription link").click()
    expect(page.get_by_text("Your new subscription link")).to_be_visible()


def calendar_sync_with_errors(staff: Staff, page: Page) -> None:
    calendar_sync(staff, page)
    page.get_by_role("button", name="Connect the calendar").click()
    expect(page.locator(".error-summary")).to_be_visible()


def calendar_sync_failing_for_admin(staff: Staff, page: Page) -> None:
    tenant = staff.portal.tenant
    with scope(tenant=tenant):
        connection = CalendarConnection.objects.create(
            tenant=tenant,
            officer=staff.officer,
            url="https://calendar.example.com/dav/officer/",
            username="officer",
            password_encrypted="x",
            status=ConnectionStatus.FAILING,
            last_error="The calendar server could not be reached.",
        )
        SyncError.objects.create(
            tenant=tenant,
            connection=connection,
            direction=SyncDirection.PUSH,
            message="The calendar server could not be reached.",
        )
    page.goto(f"{staff.url}/staff/officers/{staff.officer.pk}/calendar/")
    expect(page.get_by_text("Sync errors")).to_be_visible()


def series_new(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/series/new/?booking={staff.later.pk}")


def series_new_with_errors(staff: Staff, page: Page) -> None:
    series_new(staff, page)
    page.get_by_label("First date").fill("")
    page.get_by_role("button", name="Book the series").click()
    expect(page.locator(".error-summary")).to_be_visible()


def series_page(staff: Staff, page: Page) -> None:
    series_new(staff, page)
    page.get_by_role("spinbutton", name="Number of appointments").fill("3")
    page.get_by_role("button", name="Book the series").click()
    expect(page.get_by_role("heading", level=2, name="Dates")).to_be_visible()


def block_booking(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/blocks/")


def block_booking_with_errors(staff: Staff, page: Page) -> None:
    block_booking(staff, page)
    page.get_by_role("button", name="Check the block").click()
    expect(page.locator(".error-summary")).to_be_visible()


def programme(staff: Staff) -> list[InspectionVisit]:
    """Three open visits of the inspection programme, due within a fortnight, near the officers."""
    tenant = staff.portal.tenant
    with scope(tenant=tenant):
        return [
            visit_create(
                tenant=tenant,
                actor=None,
                premises=f"Cafe {n}",
                address=f"{n} High Street, Northtown NT1 1AA",
                latitude=54.33 + n / 1000,
                longitude=-1.43,
                appointment_type=staff.portal.service,
                duration_minutes=60,
                due_by=staff.portal.next_monday + timedelta(days=4),
                contact_email=f"cafe{n}@example.org",
            )
            for n in range(1, 4)
        ]


def inspection_programme(staff: Staff, page: Page) -> None:
    programme(staff)
    page.goto(f"{staff.url}/staff/visits/")
    expect(page.get_by_role("link", name="Cafe 1")).to_be_visible()


def visit_new_with_errors(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/visits/new/")
    page.get_by_role("button", name="Save the visit").click()
    expect(page.locator(".error-summary")).to_be_visible()


def allocation(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/allocation/")


def allocation_plan(staff: Staff, page: Page) -> None:
    programme(staff)
    tenant = staff.portal.tenant
    monday = staff.portal.next_monday
    with scope(tenant=tenant):
        plan = plan_create(
            tenant=tenant, first_day=monday, last_day=monday + timedelta(days=4), actor=None, seconds=0.2
        )
    page.goto(f"{staff.url}/staff/allocation/{plan.pk}/")
    expect(page.get_by_role("button", name="Accept and book these visits")).to_be_visible()


def reports(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/reports/")
    expect(page.get_by_role("heading", level=2, name="Service delivery")).to_be_visible()


def reports_filtered_by_htmx(staff: Staff, page: Page) -> None:
    reports(staff, page)
    page.get_by_role("link", name="Last 12 months").click()
    expect(page.get_by_text("Figures for", exact=False)).to_contain_text("to")
    page.locator("details summary").first.click()


def reports_with_errors(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/reports/?start=2027-02-30&end=yesterday")
    expect(page.locator(".error-summary")).to_be_visible()


def monthly_report(staff: Staff, page: Page) -> None:
    page.goto(f"{staff.url}/staff/reports/monthly/")


PAGES: dict[str, tuple[str | None, Callable[[Staff, Page], None]]] = {
    "sign in": (None, login),
    "sign in with error": (None, login_with_error),
    "start page officer": ("officer", home),
    "start page customer service": ("customer service", home),
    "start page manager": ("manager", home),
    "start page administrator": ("administrator", home),
    "officer list": ("manager", officer_list),
    "officer page": ("customer service", officer_detail),
    "officer diary day": ("manager", officer_diary("day")),
    "officer diary week": ("manager", officer_diary("week")),
    "officer diary agenda": ("manager", officer_diary("agenda")),
    "officer diary day with its route map": ("manager", officer_diary_route),
    "day sheet": ("officer", day_sheet),
    "case search": ("officer", case_search),
    "case search not found": ("manager", case_search_not_found),
    "case search with errors": ("manager", case_search_with_errors),
    "case": ("manager", case),
    "reschedule": ("customer service", reschedule),
    "reschedule time taken": ("customer service", reschedule_time_taken),
    "reschedule refused": ("customer service", reschedule_refused),
    "cancel": ("customer service", cancel),
    "cancel with errors": ("customer service", cancel_with_errors),
    "cancel refused": ("customer service", cancel_refused),
    "calendar sync": ("officer", calendar_sync),
    "calendar sync new link": ("officer", calendar_sync_new_link),
    "calendar sync with errors": ("officer", calendar_sync_with_errors),
    "calendar sync failing, for an administrator": ("administrator", calendar_sync_failing_for_admin),
    "series new": ("customer service", series_new),
    "series new with errors": ("customer service", series_new_with_errors),
    "series page": ("customer service", series_page),
    "block booking": ("customer service", block_booking),
    "block booking with errors": ("customer service", block_booking_with_errors),
    "book for a caller": ("customer service", book_start),
    "inspection programme": ("manager", inspection_programme),
    "visit new with errors": ("manager", visit_new_with_errors),
    "allocation": ("administrator", allocation),
    "allocation plan": ("manager", allocation_plan),
    "reports": ("manager", reports),
    "reports, a year by htmx, data table open": ("manager", reports_filtered_by_htmx),
    "reports with errors": ("manager", reports_with_errors),
    "monthly report": ("administrator", monthly_report),
}

# --- the keyboard walk ------------------------------------------------------------------------------------

MARK = """() => {
    const selector = 'a[href], button, input:not([type=hidden]), select, textarea, summary, [tabindex]';
    const all = [...document.querySelectorAll(selector)].filter(
        (e) => e.tabIndex >= 0 && !e.disabled && e.checkVisibility({visibilityProperty: true}));
    all.forEach((e, i) => { e.dataset.kb = String(i); });
    // A radio group is one Tab stop: the arrow keys move within it.
    const seenGroups = new Set();
    return all.filter((e) => e.closest('main')).filter((e) => {
        if (e.type !== 'radio') return true;
        const group = e.form ? e.form.id + ':' + e.name : e.name;
        if (seenGroups.has(group)) return false;
        seenGroups.add(group);
        return true;
    }).map((e) => ({kb: e.dataset.kb, radio: e.type === 'radio' ? e.name : null,
                    html: e.outerHTML.slice(0, 120)}));
}"""

FOCUSED = """() => {
    const e = document.activeElement;
    if (!e || e === document.body) return null;
    const style = getComputedStyle(e);
    const outline = style.outlineStyle !== 'none' ? parseFloat(style.outlineWidth) : 0;
    return {kb: e.dataset.kb ?? null, skip: e.matches('.skip-link'), nav: !!e.closest('.staff-nav'),
            header: !!e.closest('header'), main: !!e.closest('main'),
            radio: e.type === 'radio' ? e.name : null,
            visible: outline >= 2 || style.boxShadow !== 'none', html: e.outerHTML.slice(0, 120)};
}"""


def keyboard_walk(page: Page, *, with_nav: bool) -> list[str]:
    """Tabs from the top of the page through it; returns what went wrong."""
    page.evaluate("() => { document.activeElement?.blur(); window.scrollTo(0, 0); }")
    page.evaluate(
        "() => { const a = document.createElement('span'); a.tabIndex = -1; "
        "document.body.prepend(a); a.focus(); a.remove(); }"
    )
    wanted = page.evaluate(MARK)
    problems: list[str] = []
    order: list[dict[str, Any]] = []
    for _ in range(len(wanted) + 80):
        page.keyboard.press("Tab")
        now = page.evaluate(FOCUSED)
        if now is None or (order and now["kb"] == order[0]["kb"]):
            break  # out of the page, or round again
        order.append(now)
        if now["main"] and not now["visible"]:
            problems.append(f"no visible focus on {now['html']}")
    if not order or not order[0]["skip"]:
        problems.append(f"first Tab stop is not the skip link: {order[:1]}")
    if with_nav:
        first_main = next((i for i, f in enumerate(order) if f["main"]), len(order))
        first_nav = next((i for i, f in enumerate(order) if f["nav"]), None)
        if first_nav is None or first_nav > first_main:
            problems.append("the staff navigation is not reached before the main content")
        elif not all(f["header"] or f["skip"] for f in order[:first_nav]):
            problems.append(f"something outside the header comes before the navigation: {order[:first_nav]}")
    reached = {f["kb"] for f in order}
    reached_radios = {f["radio"] for f in order if f["radio"]}
    for element in wanted:
        if element["kb"] not in reached and not (element["radio"] and element["radio"] in reached_radios):
            problems.append(f"Tab never reaches {element['html']}")
    return problems


@pytest.mark.parametrize("name", list(PAGES))
def test_staff_page_is_accessible(staff: Staff, page: Page, name: str, axe, describe_violations) -> None:
    role, visit = PAGES[name]
    if role:
        staff.sign_in(page, role)
    visit(staff, page)

    violations = axe(page)
    assert not violations, f"{page.url}\n{describe_violations(violations)}"

    problems = keyboard_walk(page, with_nav=role is not None)
    assert not problems, f"{page.url}\n" + "\n".join(problems)

    page.set_viewport_size({"width": 320, "height": 640})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 320, f"{page.url} is {width}px wide at 320px"
