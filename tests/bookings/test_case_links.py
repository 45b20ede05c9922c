"""Signed case links: a portal link that carries the case the customer's booking will belong to."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django.core import signing
from django_scopes import scope

from accounts.models import Role
from bookings.models import Booking, BookingStatus, CaseKind, Customer
from bookings.services import booking_create
from bookings.tokens import CASE_SALT, BadLink, case_from_link, case_link_token
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import MembershipFactory

DETAILS = {
    "full_name": "Ann Example",
    "address_line_1": "1 High Street",
    "town": "Northtown",
    "postcode": "NT1 1AA",
    "contact_by": "email",
    "email": "ann@example.org",
    "consent": "on",
}


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def service(tenant):
    with scope(tenant=tenant):
        b.officer(tenant)
        return b.appointment_type(tenant, name="Food hygiene inspection", slug="food")


def token_for(tenant, reference="CMP-7", kind=CaseKind.COMPLAINT) -> str:
    return case_link_token(tenant_id=tenant.pk, reference=reference, kind=kind)


def book_from(client, page_url: str) -> Booking:
    """Opens the page, picks Monday 10:00 from its slot picker (with whatever hidden fields it carries),
    then gives details and confirms."""
    page = client.get(page_url)
    assert page.status_code == 200
    html = page.content.decode()
    hidden = dict(re.findall(r'<input type="hidden" name="(case)" value="([^"]*)">', html))
    held = client.post("/services/food/hold/", {"start": at(MONDAY, 10).isoformat(), **hidden})
    assert held.status_code == 302, held.content.decode()[:500]
    details = client.get(held.url).content.decode()
    submission = re.search(r'name="submission" value="([0-9a-f]+)"', details).group(1)
    done = client.post(held.url, {**DETAILS, "submission": submission})
    assert done.status_code == 303, done.content.decode()[:3000]
    reference = held.url.split("/")[2]
    return Booking.objects.get(reference=reference)


def test_tokens_round_trip_and_refuse_forged_foreign_and_expired(tenant, other_tenant) -> None:
    token = token_for(tenant)
    assert case_from_link(token, tenant_id=tenant.pk) == ("CMP-7", "complaint")
    with pytest.raises(BadLink):
        case_from_link(token, tenant_id=other_tenant.pk)
    with pytest.raises(BadLink):
        case_from_link(token[:-2] + "xx", tenant_id=tenant.pk)
    with pytest.raises(BadLink):  # signed, but with the wrong salt (a manage link, say)
        case_from_link(signing.dumps({"t": tenant.pk, "r": "X", "k": "complaint"}), tenant_id=tenant.pk)
    with pytest.raises(BadLink):  # signed, but not a kind of case
        bad_kind = signing.dumps({"t": tenant.pk, "r": "X", "k": "nonsense"}, salt=CASE_SALT)
        case_from_link(bad_kind, tenant_id=tenant.pk)
    with time_machine.travel(NOW + timedelta(days=61), tick=False), pytest.raises(BadLink) as expired:
        case_from_link(token, tenant_id=tenant.pk)
    assert expired.value.expired


@pytest.mark.usefixtures("frozen")
def test_valid_link_ends_in_a_confirmed_booking_carrying_the_case(service, tenant, client_for) -> None:
    client = client_for(tenant)
    token = token_for(tenant)
    home = client.get(f"/?case={token}").content.decode()
    service_link = re.search(r'href="(/services/food/\?case=[^"]+)"', home).group(1)
    with scope(tenant=tenant):
        booking = book_from(client, service_link.replace("&amp;", "&"))
        assert booking.status == BookingStatus.CONFIRMED
        assert (booking.case_reference, booking.case_kind) == ("CMP-7", "complaint")
        customer = Customer.objects.get(pk=booking.customer_id)
        assert not hasattr(customer, "case_reference")  # the case belongs to the booking only


@pytest.mark.usefixtures("frozen")
def test_week_navigation_keeps_the_case(service, tenant, client_for) -> None:
    client = client_for(tenant)
    token = token_for(tenant)
    page = client.get(f"/services/food/?case={token}&week={MONDAY.isoformat()}").content.decode()
    next_week = re.search(r'href="(/services/food/\?week=[^"]+)" hx-get', page.split('rel="prev"')[-1]).group(
        1
    )
    query = parse_qs(urlsplit(next_week.replace("&amp;", "&")).query)
    assert query["case"] == [token]


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize("which", ["forged", "expired", "other tenant", "garbage"])
def test_bad_tokens_book_without_a_case(which, service, tenant, other_tenant, client_for) -> None:
    client = client_for(tenant)
    if which == "forged":
        token = token_for(tenant)[:-3] + "abc"
    elif which == "expired":
        with time_machine.travel(NOW - timedelta(days=61), tick=False):
            token = token_for(tenant)
    elif which == "other tenant":
        token = token_for(other_tenant)
    else:
        token = "%00<script>" * 50
    page = client.get("/services/food/", {"case": token})
    assert page.status_code == 200 and 'name="case"' not in page.content.decode()
    # Even a token posted straight to the hold is checked, and ignored when bad.
    held = client.post("/services/food/hold/", {"start": at(MONDAY, 10).isoformat(), "case": token})
    assert held.status_code == 302
    details = client.get(held.url).content.decode()
    submission = re.search(r'name="submission" value="([0-9a-f]+)"', details).group(1)
    done = client.post(held.url, {**DETAILS, "submission": submission})
    assert done.status_code == 303
    with scope(tenant=tenant):
        booking = Booking.objects.get(reference=held.url.split("/")[2])
        assert booking.status == BookingStatus.CONFIRMED
        assert (booking.case_reference, booking.case_kind) == ("", "")


@pytest.mark.usefixtures("frozen")
def test_token_does_not_work_on_another_tenants_host(service, tenant, other_tenant, client_for) -> None:
    with scope(tenant=other_tenant):
        b.officer(other_tenant)
        b.appointment_type(other_tenant, name="Food hygiene inspection", slug="food")
    client = client_for(other_tenant)
    token = token_for(tenant)
    assert 'name="case"' not in client.get(f"/services/food/?case={token}").content.decode()
    with scope(tenant=other_tenant):
        booking = book_from(client, f"/services/food/?case={token}")
        assert booking.appointment_type.tenant_id == other_tenant.pk
        assert booking.case_reference == ""


@pytest.mark.usefixtures("frozen")
def test_case_page_shows_the_links_for_the_customer(service, tenant, client_for) -> None:
    with scope(tenant=tenant):
        staff_only = b.appointment_type(tenant, name="Enforcement visit", slug="visit", online_bookable=False)
        booking_create(
            appointment_type=service,
            starts_at=at(MONDAY, 10),
            customer=b.customer(tenant),
            now=NOW,
            case_reference="CMP-7",
        )
        Booking.objects.filter(case_reference="CMP-7").update(case_kind=CaseKind.COMPLAINT)
    client = client_for(tenant, MembershipFactory(tenant=tenant, role=Role.CUSTOMER_SERVICE))
    page = client.get("/staff/cases/CMP-7/").content.decode()
    assert "Link for the customer to book for this case" in page
    links = [link.replace("&amp;", "&") for link in re.findall(r'class="case-link">([^<]+)<', page)]
    assert links[0].startswith("http://northshire.localhost/?case=")
    assert any(link.startswith("http://northshire.localhost/services/food/?case=") for link in links)
    assert not any(f"/services/{staff_only.slug}/" in link for link in links)
    token = parse_qs(urlsplit(links[0]).query)["case"][0]
    assert case_from_link(token, tenant_id=tenant.pk) == ("CMP-7", "complaint")
