"""What the details form accepts fits where it is stored, end to end, with every field at its maximum."""

from __future__ import annotations

import re

import pytest
from django_scopes import scope

from bookings.contacts import LOCATION_MAX_LENGTH
from bookings.forms import DetailsForm
from bookings.models import Booking, Customer
from tests.bookings import test_portal as portal
from tests.bookings.test_portal import hold
from tests.builders import MONDAY, at

frozen = portal.frozen
service = portal.service
client = portal.client
pytestmark = pytest.mark.usefixtures("frozen")

LONGEST_EMAIL = f"{'a' * 64}@{'b' * 63}.{'c' * 63}.{'d' * 57}.org"  # 254 characters, a valid address


def maximal_details(question: str) -> dict[str, str]:
    return {
        "full_name": "N" * 200,
        "address_line_1": "1" * 200,
        "address_line_2": "2" * 200,
        "town": "T" * 100,
        "postcode": "SW1A 1AA",
        "accessibility_needs": "A" * 2000,
        "contact_by": "both",
        "email": LONGEST_EMAIL,
        "phone": "+44 (0) 7700-900-123",
        "consent": "on",
        question: "Cafe",
    }


def test_every_field_at_its_maximum_books_and_is_stored_whole(service, client, tenant) -> None:
    assert len(LONGEST_EMAIL) == 254
    url = hold(client, at(MONDAY, 10)).url
    question = re.findall(r'name="(q_\d+)"', client.get(url).content.decode())[0]
    data = maximal_details(question)
    response = client.post(url, data)
    assert response.status_code == 303, response.content.decode()[:2000]
    with scope(tenant=tenant):
        booking = Booking.objects.get(reference=url.split("/")[2])
        customer = Customer.objects.get()
    assert booking.location == ", ".join(
        data[k] for k in ("address_line_1", "address_line_2", "town", "postcode")
    )
    assert (booking.contact_name, booking.contact_email, booking.accessibility_needs) == (
        data["full_name"],
        LONGEST_EMAIL,
        data["accessibility_needs"],
    )
    assert (customer.address_line_2, customer.town) == (data["address_line_2"], data["town"])


def test_the_stored_lengths_are_the_forms_lengths(service) -> None:
    with scope(tenant=service.tenant):
        form = DetailsForm(appointment_type=service)
    longest_location = sum(
        form.fields[name].max_length for name in ("address_line_1", "address_line_2", "town", "postcode")
    ) + 3 * len(", ")
    assert Booking._meta.get_field("location").max_length == LOCATION_MAX_LENGTH >= longest_location
    stored = {
        "full_name": [Booking._meta.get_field("contact_name"), Customer._meta.get_field("full_name")],
        "email": [Booking._meta.get_field("contact_email"), Customer._meta.get_field("email")],
        "phone": [Booking._meta.get_field("contact_phone"), Customer._meta.get_field("phone")],
        "accessibility_needs": [
            Booking._meta.get_field("accessibility_needs"),
            Customer._meta.get_field("accessibility_needs"),
        ],
        **{
            name: [Customer._meta.get_field(name)]
            for name in ("address_line_1", "address_line_2", "town", "postcode")
        },
    }
    for name, fields in stored.items():
        for field in fields:
            assert field.max_length >= form.fields[name].max_length, (name, field)
    office = service._meta.get_field("office_address").max_length
    assert office <= LOCATION_MAX_LENGTH
