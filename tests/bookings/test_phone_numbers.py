"""Mobile numbers: stored in E.164 however they are typed, and only numbers that can receive a text accepted
where a text may be sent (every phone field is a mobile number)."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django_scopes import scope

from bookings.contacts import normalise_phone, validate_mobile
from bookings.forms.customer_service import CustomerEditForm
from bookings.forms.desk import EmergencyForm
from bookings.models import Booking, Customer
from tests.bookings import test_portal as portal
from tests.bookings.test_portal import DETAILS, hold
from tests.builders import MONDAY, at

frozen = portal.frozen
service = portal.service
client = portal.client

LANDLINE = "020 7946 0000"  # a valid London number: no texts
MOBILE = "07911 123456"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("07911 123456", "+447911123456"),
        ("+44 7911 123456", "+447911123456"),
        ("0044 7911 123456", "+447911123456"),
        ("+44 (0) 7700-900-123", "+447700900123"),
        ("(07700) 900 982", "+447700900982"),
        ("+353 85 123 4567", "+353851234567"),
        ("+999 123", "+999123"),  # no such country: its digits, which match no stored number
        ("not a number", ""),
    ],
)
def test_numbers_are_stored_in_e164(typed: str, stored: str) -> None:
    assert normalise_phone(typed) == stored


def test_national_numbers_are_read_in_the_configured_region(settings) -> None:
    settings.PHONE_REGION = "IE"
    assert normalise_phone("085 123 4567") == "+353851234567"


@pytest.mark.parametrize("number", [MOBILE, "+44 7911 123456", "+353 85 123 4567", "+1 201 555 0123"])
def test_mobile_numbers_are_accepted(number: str, settings) -> None:
    settings.PHONE_ACCEPT_DRAMA_NUMBERS = False
    # +1: North American numbers may be either, and are accepted.
    assert validate_mobile(number) is None
    assert re.fullmatch(r"\+[1-9][0-9]{7,14}", normalise_phone(number))


@pytest.mark.parametrize(
    ("number", "code"),
    [
        (LANDLINE, "not_mobile"),
        ("0800 123 4567", "not_mobile"),  # freephone
        ("+441234", "invalid"),
        ("07911 12345", "invalid"),
        ("07911 123456 ext. 2", "invalid"),
        ("call me", "invalid"),
        ("07700 900 982", "invalid"),  # Ofcom's drama range: no phone has one
    ],
)
def test_numbers_that_cannot_take_a_text_are_refused(number: str, code: str, settings) -> None:
    settings.PHONE_ACCEPT_DRAMA_NUMBERS = False
    with pytest.raises(ValidationError) as refused:
        validate_mobile(number)
    assert refused.value.code == code


def test_drama_numbers_are_accepted_where_the_settings_say_so(settings) -> None:
    settings.PHONE_ACCEPT_DRAMA_NUMBERS = True
    validate_mobile("07700 900 982")
    with pytest.raises(ValidationError):
        validate_mobile("07700 901 982")  # outside the range


def test_the_portal_refuses_a_landline_for_texts_and_books_with_a_mobile(
    frozen, service, client, tenant
) -> None:
    url = hold(client, at(MONDAY, 10)).url
    page = client.get(url).content.decode()
    submission = re.search(r'name="submission" value="([0-9a-f]+)"', page).group(1)
    question = re.findall(r'name="(q_\d+)"', page)[0]
    details = {**DETAILS, question: "Cafe", "submission": submission, "contact_by": "sms"}

    refused = client.post(url, {**details, "phone": LANDLINE})
    assert refused.status_code == 422
    assert "this number cannot receive text messages" in refused.content.decode()

    booked = client.post(url, {**details, "phone": MOBILE})
    assert booked.status_code == 303
    with scope(tenant=tenant):
        assert Booking.objects.get(reference=url.split("/")[2]).contact_phone == "+447911123456"


def test_staff_forms_refuse_landlines(tenant) -> None:
    edit = CustomerEditForm(data={"full_name": "Ann", "phone": LANDLINE, "preferred_language": "en-gb"})
    assert "this number cannot receive text messages" in str(edit.errors["phone"])
    with scope(tenant=tenant):
        emergency = EmergencyForm(data={"full_name": "Ann", "phone": LANDLINE})
        assert "this number cannot receive text messages" in str(emergency.errors["phone"])
    stored = CustomerEditForm(data={"full_name": "Ann", "phone": MOBILE, "preferred_language": "en-gb"})
    stored.is_valid()
    assert stored.cleaned_data["phone"] == "+447911123456"


def test_the_admin_stores_a_customers_mobile_in_e164_and_refuses_a_landline(
    tenant, client_for, member_of
) -> None:
    admin = client_for(tenant, member_of(tenant))
    form = {"full_name": "Ann Example", "preferred_language": "en-gb", "_save": "Save"}
    refused = admin.post("/admin/bookings/customer/add/", {**form, "phone": LANDLINE})
    assert (
        refused.status_code == 200 and "this number cannot receive text messages" in refused.content.decode()
    )
    saved = admin.post("/admin/bookings/customer/add/", {**form, "phone": "07911 123 456"})
    assert saved.status_code == 302
    with scope(tenant=tenant):
        assert Customer.objects.get().phone == "+447911123456"
