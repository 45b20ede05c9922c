"""A customer books, changes, finds and cancels an appointment in a real Chromium, with and without JS."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from django_scopes import scope
from icalendar import Calendar
from playwright.sync_api import Download, Page, expect

from bookings.models import Booking, BookingStatus

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("browser")]


def calendar_event(download: Download) -> dict[str, object]:
    """The single VEVENT of a downloaded .ics file."""
    with open(download.path(), "rb") as handle:
        calendar = Calendar.from_ical(handle.read())
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    event = events[0]
    return {
        "uid": str(event["UID"]),
        "start": event.decoded("DTSTART"),
        "end": event.decoded("DTEND"),
        "sequence": int(event.get("SEQUENCE", 0)),
        "summary": str(event["SUMMARY"]),
        "status": str(event.get("STATUS", "")),
    }


def test_booking_with_javascript(portal, page: Page):
    when = portal.at(1, 10)  # next Tuesday, 10:00am

    page.goto(portal.url + "/")
    service_link = page.get_by_role("link", name="Food hygiene inspection")
    expect(service_link).to_be_visible()
    service_link.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time")

    # htmx swaps the week in place: the URL changes, the page does not reload.
    page.evaluate("window.stillTheSamePage = true")
    page.get_by_role("link", name="Next week").click()
    expect(page).to_have_url(re.compile(rf"\?week={portal.next_monday.isoformat()}$"))
    expect(page.locator("#week-heading")).to_contain_text(portal.next_monday.strftime("%-d %B %Y"))
    assert page.evaluate("window.stillTheSamePage") is True
    expect(page.locator("#slot-picker")).to_have_count(1)  # swapped, not nested
    expect(page.locator("h1")).to_have_count(1)

    portal.slot_button(page, when).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    expect(page.get_by_role("region", name="Your chosen time")).to_contain_text(portal.label(when))

    # An empty form: the error summary comes first, is announced, and links to each field.
    page.get_by_role("button", name="Confirm booking").click()
    summary = page.locator(".error-summary")
    expect(summary).to_be_visible()
    expect(summary).to_have_attribute("role", "alert")
    expect(summary.get_by_role("heading")).to_have_text("There is a problem")
    expect(page).to_have_title(re.compile("^Error: Your details"))
    first_in_form = page.locator("main form .error-message").first
    assert summary.bounding_box()["y"] < first_in_form.bounding_box()["y"]
    summary.get_by_role("link", name="Enter your email address so we can email you.").click()
    expect(page.get_by_label("Email address")).to_be_focused()
    summary.get_by_role("link").first.click()
    expect(page.get_by_label("Full name")).to_be_focused()

    portal.fill_details(page)
    portal.confirm(page)
    reference = page.locator(".panel strong").inner_text()
    assert re.fullmatch(r"BK-[2-9A-HJ-NP-Z]{4}-[2-9A-HJ-NP-Z]{2}", reference)
    expect(page.locator(".summary-list")).to_contain_text(f"{portal.label(when)} to 11:00am")

    booking = portal.booking(reference)
    assert booking.status == BookingStatus.CONFIRMED
    assert booking.starts_at == when
    assert booking.location == "1 High Street, Northtown, NT1 1AA"
    assert booking.answers == {"What kind of business is it?": "Takeaway"}

    link = page.get_by_role("link", name="Add to your calendar")
    with page.expect_download() as first:
        link.click()
    with page.expect_download() as second:
        link.click()
    assert first.value.suggested_filename == f"{reference}.ics"
    event, again = calendar_event(first.value), calendar_event(second.value)
    assert event["start"] == when
    assert event["end"] == portal.at(1, 11)
    assert event["summary"].startswith("Food hygiene inspection")
    assert event["status"] == "CONFIRMED"
    assert again["uid"] == event["uid"]


def test_booking_without_javascript(portal, new_context):
    page = new_context(java_script_enabled=False).new_page()
    page.set_default_timeout(10_000)
    when = portal.at(2, 14)  # next Wednesday, 2:00pm

    portal.open_slot_picker(page)
    page.get_by_role("link", name="Next week").click()  # a plain link: a full page load
    expect(page).to_have_url(re.compile(rf"/services/{portal.service.slug}/\?week={portal.next_monday}$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a time")
    expect(page.locator("#week-heading")).to_contain_text(portal.next_monday.strftime("%-d %B %Y"))
    page.get_by_role("link", name="Previous week").click()
    expect(page.locator("#week-heading")).not_to_contain_text(portal.next_monday.strftime("%-d %B %Y"))
    page.get_by_role("link", name="Next week").click()

    portal.slot_button(page, when).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    page.get_by_role("button", name="Confirm booking").click()
    expect(page.locator(".error-summary")).to_be_visible()
    portal.fill_details(page, email="bo@example.org")
    portal.confirm(page)

    reference = page.locator(".panel strong").inner_text()
    booking = portal.booking(reference)
    assert (booking.status, booking.starts_at) == (BookingStatus.CONFIRMED, when)
    with page.expect_download() as download:
        page.get_by_role("link", name="Add to your calendar").click()
    assert calendar_event(download.value)["start"] == when


def test_change_then_cancel(portal, page: Page):
    first, moved_to = portal.at(1, 10), portal.at(3, 15)  # next Tuesday 10am, then Thursday 3pm
    reference = portal.book(page, first)
    with page.expect_download() as before:
        page.get_by_role("link", name="Add to your calendar").click()

    page.get_by_role("link", name="Change or cancel this booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your booking")
    page.get_by_role("link", name="Change the time").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new time")
    page.get_by_role("link", name="Next week").click()
    expect(page.locator("#week-heading")).to_contain_text(portal.next_monday.strftime("%-d %B %Y"))
    portal.slot_button(page, moved_to).click()

    expect(page.get_by_role("status")).to_have_text("Your booking has been moved to the new time.")
    expect(page.locator(".summary-list")).to_contain_text(portal.label(moved_to))
    assert portal.booking(reference).starts_at == moved_to
    with page.expect_download() as after:
        page.get_by_role("link", name="Add to your calendar").click()
    old, new = calendar_event(before.value), calendar_event(after.value)
    assert new["uid"] == old["uid"]
    assert (new["start"], new["sequence"]) == (moved_to, old["sequence"] + 1)

    page.get_by_role("link", name="Cancel the booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Cancel your booking")
    page.get_by_label("Why are you cancelling?").fill("The inspection is no longer needed.")
    page.get_by_role("button", name="Cancel booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your booking")
    expect(page.locator(".summary-list")).to_contain_text("Cancelled")
    expect(page.get_by_text("This booking is cancelled.")).to_be_visible()
    expect(page.get_by_role("link", name="Change the time")).to_have_count(0)
    assert portal.booking(reference).status == BookingStatus.CANCELLED


def test_find_a_booking_with_a_code_sent_by_email(portal, page: Page):
    booking = portal.booked(portal.at(4, 9))
    mail.outbox.clear()

    page.goto(portal.url + "/")
    page.get_by_role("link", name="View, change or cancel your booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find your booking")
    page.get_by_label("Booking reference").fill(booking.reference.lower())
    page.get_by_label("Email address or mobile number").fill("ANN@example.org")
    page.get_by_role("button", name="Send me a code").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")

    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["ann@example.org"]
    code = re.search(r"\b(\d{6})\b", message.body).group(1)

    wrong = f"{(int(code) + 1) % 10**6:06d}"
    page.get_by_label("Code").fill(wrong)
    page.get_by_role("button", name="Continue").click()
    expect(page.locator(".error-summary")).to_contain_text("That code is not right")
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your booking")
    expect(page.locator(".summary-list")).to_contain_text(booking.reference)
    expect(page.get_by_role("link", name="Change the time")).to_be_visible()


def test_a_lapsed_hold_whose_time_was_taken_keeps_what_was_typed(portal, page: Page):
    when = portal.at(1, 10)
    reference = portal.hold(page, when)
    portal.fill_details(page, name="Cara Example", email="cara@example.org")
    page.get_by_label("Do you have any access needs").fill("Step-free access, please.")

    # Meanwhile the hold lapses and a member of staff books that time for someone else.
    with scope(tenant=portal.tenant):
        Booking.objects.filter(reference=reference).update(
            hold_expires_at=timezone.now() - timedelta(minutes=1)
        )
    portal.booked(when, name="Dan Other", email="dan@example.org")  # booking_create, inside the scope

    page.get_by_role("button", name="Confirm booking").click()
    problem = page.locator(".error-summary")
    expect(problem).to_have_attribute("role", "alert")
    expect(problem.get_by_role("heading")).to_have_text("Your time is no longer held")
    expect(problem).to_contain_text("someone else has booked it")
    alternatives = problem.locator("button.slot")
    expect(alternatives.first).to_be_visible()
    labels = alternatives.all_inner_texts()
    assert not any(label.startswith(portal.label(when)) for label in labels)

    chosen = labels[0]
    alternatives.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your details")
    expect(page.get_by_role("region", name="Your chosen time")).to_contain_text(chosen)
    assert re.search(r"/book/(BK-[^/]+)/details/", page.url).group(1) != reference
    expect(page.get_by_label("Full name")).to_have_value("Cara Example")
    expect(page.get_by_label("Address line 1")).to_have_value("1 High Street")
    expect(page.get_by_label("Postcode")).to_have_value("NT1 1AA")
    expect(page.get_by_label("Email address")).to_have_value("cara@example.org")
    expect(page.get_by_label("Do you have any access needs")).to_have_value("Step-free access, please.")
    expect(
        page.get_by_role("group", name="What kind of business is it?").get_by_label("Takeaway")
    ).to_be_checked()
    expect(page.get_by_label("I agree to be contacted")).to_be_checked()

    portal.confirm(page)
    new = portal.booking(page.locator(".panel strong").inner_text())
    assert new.status == BookingStatus.CONFIRMED
    assert new.customer.full_name == "Cara Example"


def test_a_forged_manage_link_gets_a_clear_page(portal, page: Page):
    booking = portal.booked(portal.at(1, 9))
    real = portal.manage_url(booking)
    forged = real[:-3] + ("A" if real[-3] != "A" else "B") + real[-2:]

    response = page.goto(forged)
    assert response.status == 400
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    expect(page).to_have_title(re.compile("^This link does not work"))
    page.get_by_role("link", name="Find your booking").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Find your booking")

    assert page.goto(real).status == 200
    expect(page.get_by_role("heading", level=1)).to_have_text("Your booking")


def test_every_error_summary_link_focuses_its_field(portal, page: Page):
    portal.hold(page, portal.at(1, 10))
    page.get_by_role("radio", name="Text message", exact=True).check()
    page.get_by_role("button", name="Confirm booking").click()
    links = page.locator(".error-summary a")
    expect(links.first).to_be_visible()
    problems = []
    for index in range(links.count()):
        link = links.nth(index)
        target = link.get_attribute("href")
        link.click()
        focused = page.evaluate("document.activeElement && document.activeElement.id")
        if not target.startswith("#") or len(target) < 2 or focused != target[1:]:
            problems.append(f"{link.inner_text()!r} links to {target!r}; focus is on {focused!r}")
    assert not problems, "\n".join(problems)
