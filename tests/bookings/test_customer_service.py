"""Customer service: search, the customer page, booking for a caller, moving and cancelling."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django_scopes import scope, scopes_disabled

from accounts.models import Role
from bookings.models import Booking, BookingEvent, BookingStatus, Channel, Customer, CustomerEvent
from bookings.selectors.customer_search import CustomerQuery, customers_by_text, customers_matching
from bookings.services import booking_create
from notifications.models import Message
from tests import builders as b
from tests.builders import MONDAY, NOW, at

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def desk(tenant, member_of, client_for):
    return client_for(tenant, member_of(tenant, Role.CUSTOMER_SERVICE))


@pytest.fixture
def kind(tenant):
    b.officer(tenant)
    return b.appointment_type(tenant, name="Licence interview", slug="licence", online_bookable=False)


def make_customer(tenant, **fields):
    with scope(tenant=tenant):
        return Customer.objects.create(tenant=tenant, **fields)


def book_for(tenant, kind, customer, start, **details):
    with scope(tenant=tenant):
        return booking_create(appointment_type=kind, starts_at=start, customer=customer, **details)


# --- search ----------------------------------------------------------------------------------------------


def test_search_by_each_kind_of_query(tenant, kind, desk):
    ann = make_customer(
        tenant, full_name="Ann Example", email="ann@example.org", phone="+447700900982", postcode="NT1 1AA"
    )
    make_customer(tenant, full_name="Bob Other", email="bob@example.org")
    booking = book_for(tenant, kind, ann, at(MONDAY, 10), case_reference="LIC/2027/0042")
    for query in (
        "ann exa",
        "Anne Example",
        "ANN@EXAMPLE",
        "07700 900982",
        booking.reference.lower(),
        "nt1 1a",
        "lic/2027/0042",
    ):
        page = desk.get("/staff/customers/", {"q": query})
        html = page.content.decode()
        assert page.status_code == 200, query
        assert "Ann Example" in html and "Bob Other" not in html, query


def test_search_needs_a_minimum_length(tenant, desk):
    page = desk.get("/staff/customers/", {"q": "ab"})
    assert page.status_code == 422
    assert "Enter at least 3 characters" in page.content.decode()


def test_search_never_shows_another_tenant(tenant, other_tenant, desk):
    make_customer(other_tenant, full_name="Ann Elsewhere", email="ann@elsewhere.org")
    page = desk.get("/staff/customers/", {"q": "Ann Elsewhere"})
    assert "0 customers found" in page.content.decode() and "ann@elsewhere.org" not in page.content.decode()
    assert (
        desk.get(f"/staff/customers/{Customer.objects.with_scope(tenant=other_tenant).get().pk}/").status_code
        == 404
    )


def test_search_is_paged_with_a_fixed_number_of_queries(tenant, desk, django_assert_max_num_queries):
    with scope(tenant=tenant):
        Customer.objects.bulk_create(
            Customer(tenant=tenant, full_name=f"Smith {n:03}", email=f"smith{n}@example.org")
            for n in range(45)
        )
    with django_assert_max_num_queries(12):
        first = desk.get("/staff/customers/", {"q": "smith"})
    assert "45 customers found" in first.content.decode()
    assert "Smith 019" in first.content.decode() and "Smith 020" not in first.content.decode()
    with django_assert_max_num_queries(12):
        third = desk.get("/staff/customers/", {"q": "smith", "page": 3})
    assert "Smith 044" in third.content.decode() and "Page 3 of 3" in third.content.decode()


def test_search_uses_the_trigram_index(tenant):
    """The text search's expressions are the indexed ones, so the trigram indexes can answer it.

    On 10,000 customers of one tenant a sequential scan (or the tenant index) is still the cheaper plan, so
    PostgreSQL is told to avoid a sequential scan and the text condition is explained without the tenant
    filter: what remains can only be answered by the trigram indexes, and is, if the expressions match. On
    100,000 customers PostgreSQL picks them by itself (figures in the issue 9 report).
    """
    with scope(tenant=tenant):
        Customer.objects.bulk_create(
            Customer(tenant=tenant, full_name=f"Resident {n:05} Person", email=f"r{n}@example.org")
            for n in range(10_000)
        )
        Customer.objects.create(tenant=tenant, full_name="Zebedee Quixote", email="zq@example.org")
        found = list(customers_matching(CustomerQuery.parse("Zebedee")))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE bookings_customer")
        cursor.execute("SET LOCAL enable_seqscan = off")
    with scopes_disabled():
        plan = customers_by_text("ZEBEDEE").explain()
    assert "Bitmap Index Scan on customer_name_trgm" in plan, plan
    assert "Bitmap Index Scan on customer_email_trgm" in plan, plan
    assert "Bitmap Index Scan on customer_postcode_trgm" in plan, plan
    assert [c.full_name for c in found] == ["Zebedee Quixote"]


def test_search_roles(tenant, member_of, client_for):
    officer = client_for(tenant, member_of(tenant, Role.OFFICER))
    assert officer.get("/staff/customers/", {"q": "ann"}).status_code == 403


# --- customer page ---------------------------------------------------------------------------------------


def test_customer_page_lists_bookings_messages_and_history(tenant, kind, desk):
    ann = make_customer(tenant, full_name="Ann Example", email="ann@example.org", contact_by_email=True)
    later = book_for(tenant, kind, ann, at(MONDAY + timedelta(days=1), 10))
    sooner = book_for(tenant, kind, ann, at(MONDAY, 10))
    html = desk.get(f"/staff/customers/{ann.pk}/").content.decode()
    assert html.index(sooner.reference) < html.index(later.reference)
    with scope(tenant=tenant):
        assert Message.objects.filter(recipient=f"customer:{ann.pk}").exists()
    assert "ann@example.org" in html and "Confirmation" in html


def test_customer_edit_needs_identity_checked_and_is_audited(tenant, desk):
    ann = make_customer(tenant, full_name="Ann Example", email="ann@example.org")
    form = {"full_name": "Ann Changed", "email": "ann@example.org", "preferred_language": "en-gb"}
    refused = desk.post(f"/staff/customers/{ann.pk}/", form)
    assert refused.status_code == 422 and "Check who you are speaking to" in refused.content.decode()
    done = desk.post(f"/staff/customers/{ann.pk}/", {**form, "identity_checked": "on"})
    assert done.status_code == 303
    with scope(tenant=tenant):
        ann.refresh_from_db()
        event = CustomerEvent.objects.get(customer=ann)
    assert ann.full_name == "Ann Changed"
    assert (
        event.action == "updated" and event.before["full_name"] == "Ann Example" and event.actor is not None
    )


# --- booking for a caller --------------------------------------------------------------------------------


def hold_via(desk, slug, start, query=""):
    response = desk.post(f"/staff/book/{slug}/{query}", {"start": start.isoformat()})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response.url


def submission(desk, url):
    page = desk.get(url).content.decode()
    return re.search(r'name="submission" value="([0-9a-f]+)"', page).group(1)


NEW = {
    "full_name": "Carl Caller",
    "contact_by": "email",
    "email": "carl@example.org",
    "consent": "on",
    "address_line_1": "2 Low Road",
    "town": "Northtown",
    "postcode": "NT2 2BB",
    "case_reference": "ENF-77",
    "case_kind": "enforcement",
}


def test_staff_only_type_booked_end_to_end_for_a_new_caller(tenant, kind, desk):
    assert desk.get("/staff/book/").status_code == 200
    picker = desk.get(f"/staff/book/licence/?week={MONDAY.isoformat()}")
    assert picker.status_code == 200 and "Monday 1 March 2027, 10:00am" in picker.content.decode()
    url = hold_via(desk, "licence", at(MONDAY, 10))
    key = submission(desk, url)
    done = desk.post(url, {**NEW, "submission": key})
    assert done.status_code == 303, done.content.decode()[:3000]
    again = desk.post(url, {**NEW, "submission": key})
    assert again.status_code in (302, 303)
    with scope(tenant=tenant):
        booking = Booking.objects.get(status=BookingStatus.CONFIRMED)
        assert Customer.objects.filter(email="carl@example.org").count() == 1
        assert CustomerEvent.objects.filter(action="created").count() == 1
    assert booking.channel == Channel.STAFF and booking.created_by is not None
    assert booking.case_reference == "ENF-77" and booking.case_kind == "enforcement"
    assert booking.location == "2 Low Road, Northtown, NT2 2BB"
    assert done.url == f"/staff/customers/{booking.customer_id}/?booked={booking.reference}"


def test_a_new_callers_taken_contact_details_are_shown_beside_the_field(tenant, kind, desk):
    make_customer(tenant, full_name="Carla Elsewhere", email="carl@example.org", phone="+447700900123")
    url = hold_via(desk, "licence", at(MONDAY, 10))
    key = submission(desk, url)
    taken_email = desk.post(url, {**NEW, "email": "Carl@Example.org", "submission": key})
    html = taken_email.content.decode()
    assert taken_email.status_code == 422
    assert '<a href="#id_email">Another customer already has this email address.</a>' in html
    assert re.search(r'id="id_email-error">.*Another customer already has this email', html)
    taken_phone = desk.post(
        url,
        {**NEW, "contact_by": "sms", "email": "", "phone": "07700 900123", "submission": key},
    )
    html = taken_phone.content.decode()
    assert taken_phone.status_code == 422
    assert '<a href="#id_phone">Another customer already has this mobile number.</a>' in html
    with scope(tenant=tenant):
        assert Customer.objects.count() == 1
        assert Booking.objects.get().status == BookingStatus.HELD


def test_double_submit_books_once(tenant, kind, desk):
    ann = make_customer(tenant, full_name="Ann Example", email="ann@example.org")
    url = hold_via(desk, "licence", at(MONDAY, 10), f"?customer={ann.pk}")
    key = submission(desk, url)
    form = {
        "full_name": "Ann Example",
        "contact_by": "email",
        "email": "ann@example.org",
        "consent": "on",
        "location": "1 High Street",
        "submission": key,
    }
    first, second = desk.post(url, form), desk.post(url, form)
    assert first.status_code == 303 and second.status_code == 302
    with scope(tenant=tenant):
        assert Booking.objects.filter(status=BookingStatus.CONFIRMED, customer=ann).count() == 1
        assert not CustomerEvent.objects.exists()


def test_follow_up_is_linked_same_customer_and_location(tenant, kind, desk):
    ann = make_customer(tenant, full_name="Ann Example", email="ann@example.org")
    first = book_for(tenant, kind, ann, at(MONDAY, 10), location="9 Mill Lane", case_reference="C-1")
    start = desk.get(f"/staff/book/?follow_up_of={first.pk}&after={(MONDAY + timedelta(days=9)).isoformat()}")
    assert start.status_code == 302 and "/staff/book/licence/" in start.url
    picker = desk.get(start.url).content.decode()
    assert "8 March 2027 to 14 March 2027" in picker  # the first week with a slot on or after the 10th
    url = hold_via(desk, "licence", at(MONDAY + timedelta(days=9), 10), f"?follow_up_of={first.pk}")
    page = desk.get(url).content.decode()
    assert 'value="9 Mill Lane"' in page and 'value="C-1"' in page
    form = {
        "full_name": "Ann Example",
        "contact_by": "email",
        "email": "ann@example.org",
        "consent": "on",
        "location": "9 Mill Lane",
        "case_reference": "C-1",
        "submission": submission(desk, url),
    }
    assert desk.post(url, form).status_code == 303
    with scope(tenant=tenant):
        follow = Booking.objects.get(follow_up_of=first)
        assert follow.customer_id == ann.pk and follow.location == "9 Mill Lane"
        assert BookingEvent.objects.filter(booking=follow, action="follow_up_linked").exists()


def test_lost_race_answers_409_with_alternatives(tenant, kind, desk):
    ann = make_customer(tenant, full_name="Ann Example", email="ann@example.org")
    book_for(tenant, kind, ann, at(MONDAY, 10))
    lost = desk.post("/staff/book/licence/", {"start": at(MONDAY, 10).isoformat()})
    assert lost.status_code == 409 and "These nearby times are free" in lost.content.decode()


def test_booking_flow_roles_and_other_tenants(tenant, other_tenant, kind, member_of, client_for):
    officer = client_for(tenant, member_of(tenant, Role.OFFICER))
    assert officer.get("/staff/book/").status_code == 403
    desk = client_for(tenant, member_of(tenant, Role.MANAGER))
    stranger = make_customer(other_tenant, full_name="Zed", email="zed@example.org")
    assert desk.get(f"/staff/book/licence/?customer={stranger.pk}").status_code == 404
    assert desk.get("/staff/book/hold/BK-AAAA-AA/").status_code == 404


# --- moving and cancelling -------------------------------------------------------------------------------


def test_reschedule_and_cancel(tenant, other_tenant, kind, desk, member_of, client_for):
    ann = make_customer(tenant, full_name="Ann Example", email="ann@example.org")
    booking = book_for(tenant, kind, ann, at(MONDAY, 10))
    assert desk.get(f"/staff/bookings/{booking.pk}/reschedule/?week={MONDAY.isoformat()}").status_code == 200
    moved = desk.post(f"/staff/bookings/{booking.pk}/reschedule/", {"start": at(MONDAY, 14).isoformat()})
    assert moved.status_code == 303
    refused = desk.post(f"/staff/bookings/{booking.pk}/cancel/", {"reason": ""})
    assert refused.status_code == 422
    cancelled = desk.post(f"/staff/bookings/{booking.pk}/cancel/", {"reason": "Caller no longer needs it"})
    assert cancelled.status_code == 303
    with scope(tenant=tenant):
        booking.refresh_from_db()
        actions = list(booking.events.values_list("action", "actor_id"))
    assert booking.status == BookingStatus.CANCELLED and booking.starts_at == at(MONDAY, 14)
    assert booking.cancellation_reason == "Caller no longer needs it"
    assert {action for action, actor in actions if actor} >= {"rescheduled", "cancelled"}
    again = desk.get(f"/staff/bookings/{booking.pk}/cancel/")
    assert again.status_code == 409 and "This booking can no longer be cancelled." in again.content.decode()
    officer = client_for(tenant, member_of(tenant, Role.OFFICER))
    assert officer.get(f"/staff/bookings/{booking.pk}/cancel/").status_code == 403
    other_desk = client_for(other_tenant, member_of(other_tenant, Role.CUSTOMER_SERVICE))
    assert other_desk.get(f"/staff/bookings/{booking.pk}/reschedule/").status_code == 404
    assert other_desk.post(f"/staff/bookings/{booking.pk}/cancel/", {"reason": "x"}).status_code == 404
