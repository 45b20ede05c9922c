"""An officer's day in a real Chromium: sign in, see today's diary, open an appointment, record it done."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
import time_machine
from django.utils import timezone
from django_scopes import scope
from playwright.sync_api import Page, expect

from bookings.models import Booking, BookingStatus, Customer
from bookings.services import booking_create
from tests import builders as b

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]

PASSWORD = "correct-horse-battery"  # tests.factories.UserFactory's


@pytest.fixture
def officers_day(portal):
    """An officer who works every hour of every day, with an appointment that started within the last half
    hour (so today, whenever the test runs) at a customer's address. After 22:00 an hour-long appointment
    in progress would run past the working day (to 23:30), so the server's clock (the live server runs in
    this process) is taken back to midday today for the test."""
    tenant = portal.tenant
    officer = b.officer(tenant, spans=[(time(0), time(23, 30))], days=range(7))
    zone = tenant.zone
    now = timezone.now().astimezone(zone)
    if now.hour >= 22:
        with time_machine.travel(now.replace(hour=12, minute=10), tick=True):
            yield _officers_day(portal, officer)
        return
    yield _officers_day(portal, officer)


def _officers_day(portal, officer):
    tenant = portal.tenant
    now = timezone.now().astimezone(tenant.zone)
    start = now.replace(minute=now.minute - now.minute % 30, second=0, microsecond=0)
    with scope(tenant=tenant):
        customer = Customer.objects.create(
            tenant=tenant, full_name="Ann Example", email="ann@example.org", consent_given_at=timezone.now()
        )
        booking = booking_create(
            appointment_type=portal.service,
            starts_at=start,
            customer=customer,
            officer_ids=[officer.pk],
            now=start - timedelta(hours=1),
            apply_notice=False,
            location="1 High Street, Northtown NT1 1AA",
            answers={"What kind of business is it?": "Cafe"},
        )
    return officer, booking


def sign_in(portal, page: Page, email: str) -> None:
    page.goto(portal.url + "/accounts/login/")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_officer_records_todays_appointment_completed(
    portal, officers_day, page: Page, axe, describe_violations
) -> None:
    officer, booking = officers_day
    sign_in(portal, page, officer.user.email)
    expect(page.get_by_role("heading", name="Next up")).to_be_visible()

    page.get_by_role("link", name="My diary", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My diary")
    expect(page.get_by_text("(today)")).to_be_visible()
    expect(page.get_by_text("1 High Street, Northtown NT1 1AA").first).to_be_visible()
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe_violations(violations)}"

    page.get_by_role("link", name="Food hygiene inspection").first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Food hygiene inspection")
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe_violations(violations)}"

    page.get_by_label("The appointment took place").check()
    page.get_by_label("Outcome notes").fill("Kitchen clean; records in order.")
    page.get_by_label("A follow-up appointment is needed").check()
    page.get_by_role("button", name="Record outcome").click()
    expect(page.get_by_text("The outcome is recorded.")).to_be_visible()
    # Officers do not book: the page says who will (customer services get the follow-up form).
    expect(page.get_by_text("A follow-up is needed. Customer services will book it.")).to_be_visible()
    violations = axe(page)
    assert not violations, f"{page.url}\n{describe_violations(violations)}"

    with scope(tenant=portal.tenant):
        booking = Booking.objects.get(pk=booking.pk)
    assert booking.status == BookingStatus.COMPLETED
    assert booking.outcome_notes == "Kitchen clean; records in order."
    assert booking.follow_up_needed
