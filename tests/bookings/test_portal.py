"""The portal through Django's test client: pages, the HTMX partial, errors, holds, manage links."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from bookings.models import Booking, BookingStatus, Customer
from bookings.tokens import manage_token
from notifications.fakes import RecordingTwilioClient
from scheduling.models import Question, QuestionKind
from tests import builders as b
from tests.builders import MONDAY, NOW, at

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def service(tenant):
    with scope(tenant=tenant):
        b.officer(tenant)
        kind = b.appointment_type(tenant, name="Food hygiene inspection", slug="food")
        Question.objects.create(
            tenant=tenant,
            appointment_type=kind,
            label="What kind of business?",
            kind=QuestionKind.CHOICE,
            choices="Cafe\nTakeaway",
        )
    return kind


@pytest.fixture
def client(tenant, client_for):
    return client_for(tenant)


WEEK = f"?week={MONDAY.isoformat()}"
DETAILS = {
    "full_name": "Ann Example",
    "address_line_1": "1 High Street",
    "town": "Northtown",
    "postcode": "NT1 1AA",
    "contact_by": "email",
    "email": "ann@example.org",
    "consent": "on",
}


def hold(client, start, slug="food"):
    return client.post(f"/services/{slug}/hold/", {"start": start.isoformat()})


def book(client, service, start=None) -> Booking:
    start = start or at(MONDAY, 10)
    response = hold(client, start)
    assert response.status_code == 302, response.content.decode()[:500]
    details = client.get(response.url)
    submission = re.search(r'name="submission" value="([0-9a-f]+)"', details.content.decode()).group(1)
    question = next(k for k in re.findall(r'name="(q_\d+)"', details.content.decode()))
    done = client.post(response.url, {**DETAILS, question: "Cafe", "submission": submission})
    assert done.status_code == 303, done.content.decode()[:3000]
    reference = response.url.split("/")[2]
    with scope(tenant=service.tenant):
        return Booking.objects.get(reference=reference)


def test_home_lists_services_by_category(service, client) -> None:
    page = client.get("/").content.decode()
    assert "Inspection" in page and "Food hygiene inspection" in page and "60 minutes" in page


def test_slot_picker_full_page_and_htmx_partial(service, client) -> None:
    page = client.get(f"/services/food/{WEEK}")
    html = page.content.decode()
    assert page.status_code == 200 and "<html" in html
    assert 'aria-label="Monday 1 March 2027, 10:00am"' in html
    assert "Europe/London" in html
    partial = client.get(f"/services/food/{WEEK}", headers={"HX-Request": "true"})
    assert "<html" not in partial.content.decode() and 'id="slot-picker"' in partial.content.decode()
    assert "HX-Request" in partial["Vary"]


def test_slot_picker_query_count_is_fixed(service, client, tenant, client_for) -> None:
    with CaptureQueriesContext(connection) as few:
        client_for(tenant).get(f"/services/food/{WEEK}", headers={"HX-Request": "true"})
    with scope(tenant=tenant):
        for _ in range(5):
            b.officer(tenant)
        for hour in range(9, 16):
            b.customer(tenant, hour)
    for hour in (9, 11, 13):
        book(client, service, at(MONDAY + timedelta(days=1), hour))
    with CaptureQueriesContext(connection) as many:
        client_for(tenant).get(f"/services/food/{WEEK}", headers={"HX-Request": "true"})
    assert len(few.captured_queries) == len(many.captured_queries) <= 14


def test_bad_week_is_a_clear_error(service, client) -> None:
    response = client.get("/services/food/?week=2027-02-31")
    assert response.status_code == 400 and "That date is not valid" in response.content.decode()
    past = client.get("/services/food/?week=2020-01-06")
    assert past.status_code == 400 and "That week has passed" in past.content.decode()


def test_unknown_or_staff_only_service_is_404(service, client, tenant) -> None:
    with scope(tenant=tenant):
        b.appointment_type(tenant, slug="internal", online_bookable=False)
    assert client.get("/services/internal/").status_code == 404
    assert client.get("/services/nope/").status_code == 404


def test_book_end_to_end_records_customer_and_language(service, client, tenant) -> None:
    booking = book(client, service)
    assert booking.status == BookingStatus.CONFIRMED and booking.channel == "portal"
    assert booking.answers == {"What kind of business?": "Cafe"}
    assert booking.location == "1 High Street, Northtown, NT1 1AA"
    with scope(tenant=tenant):
        customer = Customer.objects.get()
    assert customer.email == "ann@example.org" and customer.consent_given_at is not None
    assert customer.preferred_language == "en-gb"
    page = client.get(f"/book/{booking.reference}/confirmed/").content.decode()
    assert booking.reference in page and "Add to your calendar" in page


def test_calendar_file_is_valid_with_stable_uid(service, client) -> None:
    from icalendar import Calendar

    booking = book(client, service)
    first = Calendar.from_ical(client.get(f"/book/{booking.reference}/calendar.ics").content)
    event = first.walk("VEVENT")[0]
    assert str(event["UID"]) == f"{booking.public_id}@bookings"  # the emailed invitations' UID too
    assert event.decoded("DTSTART") == at(MONDAY, 10)
    again = Calendar.from_ical(client.get(f"/book/{booking.reference}/calendar.ics").content)
    assert str(again.walk("VEVENT")[0]["UID"]) == str(event["UID"])


def test_invalid_details_show_error_summary_and_change_nothing(service, client, tenant) -> None:
    url = hold(client, at(MONDAY, 10)).url
    response = client.post(
        url,
        {
            "full_name": "",
            "contact_by": "sms",
            "email": "x" * 300,
            "postcode": "nope",
            "submission": "a" * 32,
        },
    )
    html = response.content.decode()
    assert response.status_code == 422
    assert 'class="error-summary"' in html and 'href="#id_full_name"' in html
    assert "Enter your mobile number so we can text you" in html
    assert 'aria-describedby="id_postcode-error"' in html or "id_postcode-error" in html
    with scope(tenant=tenant):
        assert not Customer.objects.exists()
        assert Booking.objects.get().status == BookingStatus.HELD


def test_double_submission_books_once(service, client, tenant) -> None:
    url = hold(client, at(MONDAY, 10)).url
    page = client.get(url).content.decode()
    submission = re.search(r'name="submission" value="([0-9a-f]+)"', page).group(1)
    question = re.findall(r'name="(q_\d+)"', page)[0]
    data = {**DETAILS, question: "Cafe", "submission": submission}
    assert client.post(url, data).status_code == 303
    assert client.post(url, data).status_code in (302, 303)
    with scope(tenant=tenant):
        assert Booking.objects.filter(status=BookingStatus.CONFIRMED).count() == 1


def test_lapsed_hold_taken_by_someone_else_keeps_what_was_typed(service, client, tenant, client_for) -> None:
    url = hold(client, at(MONDAY, 10)).url
    page = client.get(url).content.decode()
    submission = re.search(r'name="submission" value="([0-9a-f]+)"', page).group(1)
    question = re.findall(r'name="(q_\d+)"', page)[0]
    with time_machine.travel(NOW + timedelta(minutes=15), tick=False):
        book(client_for(tenant), service, at(MONDAY, 10))
        response = client.post(url, {**DETAILS, question: "Cafe", "submission": submission})
        assert response.status_code == 409
        html = response.content.decode()
        assert "someone else has booked it" in html and "Monday 1 March 2027, 9:00am" in html
        again = hold(client, at(MONDAY, 9))
        form = client.get(again.url).content.decode()
    assert 'value="Ann Example"' in form and 'value="NT1 1AA"' in form


def test_forged_and_wrong_tenant_holds_are_404(service, client, tenant, client_for) -> None:
    url = hold(client, at(MONDAY, 10)).url
    assert client_for(tenant).get(url).status_code == 404  # another browser
    assert client.post("/services/food/hold/", {"start": "not-a-date"}).status_code == 400
    assert client.post("/services/food/hold/", {"start": "2027-03-01T10:00:00"}).status_code == 400  # naive
    off_grid = client.post("/services/food/hold/", {"start": at(MONDAY, 10, 10).isoformat()})
    assert off_grid.status_code == 400 and "every 30 minutes" in off_grid.content.decode()


def test_manage_link_reschedule_and_cancel(service, client, tenant) -> None:
    booking = book(client, service)
    token = manage_token(tenant_id=tenant.pk, public_id=booking.public_id)
    assert booking.reference in client.get(f"/manage/{token}/").content.decode()
    moved = client.post(f"/manage/{token}/reschedule/", {"start": at(MONDAY, 14).isoformat()})
    assert moved.status_code == 303
    booking.refresh_from_db()
    assert booking.starts_at == at(MONDAY, 14)
    cancelled = client.post(f"/manage/{token}/cancel/", {"reason": "No longer needed"})
    assert cancelled.status_code == 303
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.cancellation_reason == "No longer needed"


def test_forged_expired_and_foreign_manage_links_get_a_clear_page(
    service, client, tenant, other_tenant
) -> None:
    booking = book(client, service)
    assert "does not work" in client.get("/manage/forged-token/").content.decode()
    foreign = manage_token(tenant_id=other_tenant.pk, public_id=booking.public_id)
    assert client.get(f"/manage/{foreign}/").status_code == 400
    token = manage_token(tenant_id=tenant.pk, public_id=booking.public_id)
    with time_machine.travel(NOW + timedelta(days=91), tick=False):
        response = client.get(f"/manage/{token}/")
    assert response.status_code == 400 and "expired" in response.content.decode()


def test_cut_off_stops_online_changes(service, client, tenant) -> None:
    booking = book(client, service)
    token = manage_token(tenant_id=tenant.pk, public_id=booking.public_id)
    with time_machine.travel(at(MONDAY, 0), tick=False):
        assert "too late to change" in client.get(f"/manage/{token}/").content.decode()
        assert client.post(f"/manage/{token}/cancel/", {"reason": ""}).status_code == 403
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED


def test_one_time_code_by_email_and_by_text(service, client, tenant) -> None:
    booking = book(client, service)
    mail.outbox.clear()
    assert (
        client.post("/manage/", {"reference": booking.reference, "contact": "ANN@example.org"}).status_code
        == 303
    )
    code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    assert (
        client.post("/manage/code/", {"code": "000000" if code != "000000" else "111111"}).status_code == 422
    )
    response = client.post("/manage/code/", {"code": code})
    assert response.status_code == 303 and response.url.startswith("/manage/")
    assert booking.reference in client.get(response.url).content.decode()

    with scope(tenant=tenant):  # as if the booking had been made with a mobile number too
        Booking.objects.filter(pk=booking.pk).update(contact_phone="+447700900123")
    RecordingTwilioClient.sent.clear()
    client.post("/manage/", {"reference": booking.reference, "contact": "07700 900123"})
    assert RecordingTwilioClient.sent and RecordingTwilioClient.sent[-1]["To"] == "+447700900123"


def test_unknown_reference_gets_the_same_answer_and_sends_nothing(service, client) -> None:
    mail.outbox.clear()
    response = client.post("/manage/", {"reference": "BK-2222-22", "contact": "who@example.org"})
    assert response.status_code == 303 and not mail.outbox
    bad = client.post("/manage/", {"reference": "nonsense", "contact": "x"})
    assert bad.status_code == 422 and "like BK-7Q4M-2X" in bad.content.decode()


def test_holding_is_rate_limited(service, client, settings) -> None:
    statuses = [hold(client, at(MONDAY, 9) + timedelta(minutes=30 * i)).status_code for i in range(22)]
    assert statuses.count(429) >= 1 and statuses[0] == 302


def test_moving_back_and_forth_moves_every_time(service, client, tenant) -> None:
    booking = book(client, service)
    token = manage_token(tenant_id=tenant.pk, public_id=booking.public_id)
    for hour in (14, 10, 14):
        assert (
            client.post(f"/manage/{token}/reschedule/", {"start": at(MONDAY, hour).isoformat()}).status_code
            == 303
        )
        booking.refresh_from_db()
        assert booking.starts_at == at(MONDAY, hour)
