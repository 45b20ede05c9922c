"""Block booking pages: roles, shape errors (422), the cap, other tenants' customers, preview -> confirm ->
result and CSV, a booking taken between preview and confirm, and a second submission."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
import time_machine
from django.test import override_settings
from django_scopes import scope

from accounts.models import Role
from bookings.models import Booking, BookingEvent
from bookings.services import booking_create
from tests import builders as b
from tests.builders import MONDAY, NOW, at

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def desk(tenant, member_of, client_for):
    officers = [b.officer(tenant), b.officer(tenant)]
    kind = b.appointment_type(tenant, buffer_before_minutes=15, buffer_after_minutes=15)
    customers = [b.customer(tenant, n) for n in range(1, 5)]
    with scope(tenant=tenant):
        for n, customer in enumerate(customers):
            customer.postcode = f"NE1 {n}AA" if n < 3 else "NE10 1AA"
            customer.save()
    client = client_for(tenant, member_of(tenant, Role.CUSTOMER_SERVICE))
    return officers, kind, customers, client


def programme(kind, **fields):
    return {
        "appointment_type": kind.pk,
        "kind": "programme",
        "first_day": MONDAY.isoformat(),
        "last_day": MONDAY.isoformat(),
        "customer_filter": "",
        "customer_list": "",
        "mode": "all_or_nothing",
        **fields,
    }


def plan_key(page) -> str:
    return re.search(r'name="plan" value="([0-9a-f]{32})"', page.content.decode()).group(1)


@pytest.mark.parametrize("role", [Role.OFFICER])
@pytest.mark.parametrize(
    "url", ["/staff/blocks/", "/staff/blocks/result/?plan=x", "/staff/blocks/result.csv"]
)
def test_officers_may_not_book_blocks(tenant, member_of, client_for, role, url) -> None:
    client = client_for(tenant, member_of(tenant, role))
    assert client.get(url).status_code == 403
    assert client.post("/staff/blocks/confirm/", {"plan": "0" * 32}).status_code == 403


@pytest.mark.parametrize("role", [Role.CUSTOMER_SERVICE, Role.ADMINISTRATOR])
def test_customer_service_and_administrators_open_the_page(tenant, member_of, client_for, role) -> None:
    assert client_for(tenant, member_of(tenant, role)).get("/staff/blocks/").status_code == 200


def test_a_programme_by_postcode_district_previews_confirms_and_downloads(tenant, desk) -> None:
    _officers, kind, _customers, client = desk

    preview = client.post("/staff/blocks/", programme(kind, customer_filter="ne1", tell_customers="on"))

    assert preview.status_code == 200
    text = preview.content.decode()
    assert "3 can be booked; 0 cannot." in text  # NE10 is another district
    with scope(tenant=tenant):
        assert Booking.objects.count() == 0
    key = plan_key(preview)

    done = client.post("/staff/blocks/confirm/", {"plan": key})
    assert done.status_code == 303
    again = client.post("/staff/blocks/confirm/", {"plan": key})  # a double submission
    assert again.status_code == 303
    with scope(tenant=tenant):
        bookings = list(Booking.objects.order_by("starts_at", "pk"))
        assert len(bookings) == 3
        assert BookingEvent.objects.filter(action="block_booked").count() == 3
    result = client.get(done["Location"])
    assert result.status_code == 200
    assert bookings[0].reference in result.content.decode()

    download = client.get(done["Location"].replace("/result/", "/result.csv"))
    assert download["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(download.content.decode())))
    assert sorted(r["reference"] for r in rows) == sorted(b.reference for b in bookings)
    assert {r["outcome"] for r in rows} == {"booked"}


def test_a_booking_taken_between_preview_and_confirm_is_reported(tenant, desk) -> None:
    officers, kind, customers, client = desk
    listed = "\n".join(str(c.pk) for c in customers[:2])
    preview = client.post("/staff/blocks/", programme(kind, customer_list=listed))
    key = plan_key(preview)
    with scope(tenant=tenant):  # both officers taken at 09:00, the first time of the plan
        for n, officer in enumerate(officers):
            booking_create(
                appointment_type=kind,
                starts_at=at(MONDAY, 9),
                customer=b.customer(tenant, 50 + n),
                now=NOW,
                officer_ids=[officer.pk],
            )

    done = client.post("/staff/blocks/confirm/", {"plan": key})

    result = client.get(done["Location"])
    text = result.content.decode()
    assert "Nothing was booked" in text
    assert "That time was taken after the check." in text
    with scope(tenant=tenant):
        assert Booking.objects.count() == 2  # only the two made meanwhile
    rows = list(
        csv.DictReader(
            io.StringIO(client.get(done["Location"].replace("/result/", "/result.csv")).content.decode())
        )
    )
    assert {r["outcome"] for r in rows} == {"conflict"}
    assert all(r["alternatives"] for r in rows)


def test_another_tenants_customer_numbers_are_refused(tenant, other_tenant, desk) -> None:
    _officers, kind, customers, client = desk
    stranger = b.customer(other_tenant, 9)

    page = client.post("/staff/blocks/", programme(kind, customer_list=f"{customers[0].pk}, {stranger.pk}"))

    assert page.status_code == 422
    assert f"No such customers: {stranger.pk}" in page.content.decode()
    with scope(tenant=tenant):
        assert Booking.objects.count() == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"first_day": (NOW.date() - timedelta(days=1)).isoformat()}, "cannot start in the past"),
        ({"last_day": (MONDAY + timedelta(days=400)).isoformat()}, "at most 365 days ahead"),
        ({"customer_list": "12, drop table"}, "not customer numbers or booking references"),
        ({"customer_filter": "x" * 101}, "at most 100 characters"),
        ({"customer_filter": ""}, "Give a postcode or town"),
    ],
)
def test_bad_shapes_get_422(desk, fields, message) -> None:
    _officers, kind, _customers, client = desk
    data = programme(
        kind, customer_filter="NE1", **{k: v for k, v in fields.items() if k != "customer_filter"}
    )
    if "customer_filter" in fields:
        data["customer_filter"] = fields["customer_filter"]
    page = client.post("/staff/blocks/", data)
    assert page.status_code == 422
    assert message in page.content.decode()


@override_settings(BLOCK_MAX_ITEMS=3)
def test_over_the_cap_is_a_clear_error(tenant, desk) -> None:
    _officers, kind, customers, client = desk
    listed = " ".join(str(c.pk) for c in customers)

    page = client.post("/staff/blocks/", programme(kind, customer_list=listed))

    assert page.status_code == 422
    assert "At most 3 items can be booked at once; this asks for 4." in page.content.decode()
    slots = client.post(
        "/staff/blocks/",
        {
            "appointment_type": kind.pk,
            "kind": "slots",
            "customer": customers[0].pk,
            "starts": "\n".join(f"2027-03-0{d} 09:00" for d in range(1, 5)),
            "mode": "best_effort",
        },
    )
    assert slots.status_code == 422
    assert "At most 3 items" in slots.content.decode()


def test_several_times_for_one_customer_best_effort(tenant, desk) -> None:
    _officers, kind, customers, client = desk
    preview = client.post(
        "/staff/blocks/",
        {
            "appointment_type": kind.pk,
            "kind": "slots",
            "customer": customers[0].pk,
            "starts": "2027-03-01 09:00\n2027-03-01 03:00\n2027-03-02 10:00",
            "mode": "best_effort",
        },
    )
    assert preview.status_code == 200
    assert "2 can be booked; 1 cannot." in preview.content.decode()

    client.post("/staff/blocks/confirm/", {"plan": plan_key(preview)})

    with scope(tenant=tenant):
        assert sorted(Booking.objects.values_list("starts_at", flat=True)) == [
            at(MONDAY, 9),
            at(MONDAY + timedelta(days=1), 10),
        ]


def test_confirming_an_unknown_plan_is_a_409(desk) -> None:
    _officers, _kind, _customers, client = desk
    assert client.post("/staff/blocks/confirm/", {"plan": "a" * 32}).status_code == 409


@pytest.mark.parametrize(
    "junk",
    [
        {"appointment_type": "x"},
        {"kind": "other"},
        {"first_day": "2027-02-30"},
        {"customer_list": "1\x002"},
        {"customer_list": "9" * 30},
        {"kind": "slots", "customer": "99999999999999999999", "starts": "2027-03-01 09:00"},
        {"kind": "slots", "customer": "1", "starts": "tomorrow"},
        {"mode": "sometimes"},
    ],
)
def test_junk_gets_422_not_500(desk, junk) -> None:
    _officers, kind, _customers, client = desk
    data = {**programme(kind, customer_filter="NE1"), **junk}
    # A NUL character is refused before any view (400), like everywhere else.
    assert client.post("/staff/blocks/", data).status_code in (400, 422)
    assert client.post("/staff/blocks/confirm/", {"plan": junk.popitem()[1]}).status_code in (400, 409)
    assert client.get("/staff/blocks/result.csv?plan=zz").status_code == 404
