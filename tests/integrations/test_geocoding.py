"""Geocoding: the tenant's gazetteer (the default), a Nominatim-style service (a local fake), and the admin
forms that look places up when only a name is typed."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from decimal import Decimal

import pytest
from django.test import override_settings
from django_scopes import scope

from accounts.models import Officer, Role, Tenant
from integrations.geocoding import GazetteerGeocoder, HttpGeocoder, normalise_key
from integrations.models import GazetteerEntry
from scheduling.locations import Place, geocoder
from scheduling.models import WorkingPattern
from scheduling.routing.problem import Point
from tests.factories import OfficerFactory
from tests.integrations.fake_http import FakeService, free_port, running_service

OFFICE = Point(54.3372, -1.4318)


@pytest.fixture
def fake_service() -> Iterator[FakeService]:
    with running_service() as service:
        yield service


def place(tenant: Tenant, key: str, latitude: float, longitude: float, label: str = "") -> GazetteerEntry:
    with scope(tenant=tenant):
        return GazetteerEntry.objects.create(
            tenant=tenant, key=normalise_key(key), label=label or key, latitude=latitude, longitude=longitude
        )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("NS1 2AB", "ns12ab"),
        (" ns1  2ab. ", "NS12AB"),
        ("12 Castle Hill, Thornby", "12 castle hill thornby"),
        ("Ffordd-y-Bryn, Llanwen", "FFORDD Y BRYN LLANWEN"),
        ("Ysgol Gymraeg Tŷ Mawr", "ysgol gymraeg ty mawr"),
    ],
)
def test_keys_ignore_case_spaces_punctuation_and_accents(a: str, b: str) -> None:
    assert normalise_key(a) == normalise_key(b) != ""


def test_different_places_have_different_keys() -> None:
    assert normalise_key("NS1 2AB") != normalise_key("NS1 2AD")
    assert normalise_key(" ,. ") == ""


# --- the gazetteer ----------------------------------------------------------------------------------------


def test_the_gazetteer_finds_a_postcode_however_it_is_typed_and_an_address_by_its_postcode(
    tenant: Tenant, other_tenant: Tenant
) -> None:
    place(tenant, "NS1 2AB", 54.33, -1.43)
    place(tenant, "Council Offices", OFFICE.latitude, OFFICE.longitude, label="Council Offices, Thornby")
    place(other_tenant, "NS9 9ZZ", 51.99, -3.10)
    gazetteer = GazetteerGeocoder()

    assert gazetteer.geocode(tenant_id=tenant.pk, query="ns12ab") == Place("NS1 2AB", Point(54.33, -1.43))
    assert gazetteer.geocode(tenant_id=tenant.pk, query="council offices") == Place(
        "Council Offices, Thornby", OFFICE
    )
    # A whole address the gazetteer does not list, ending in a postcode it does: the postcode's point.
    address = "The Olive Tree, 12 Castle Hill, Thornby, NS1 2AB"
    assert gazetteer.geocode(tenant_id=tenant.pk, query=address) == Place(address, Point(54.33, -1.43))
    # Unknown places, empty queries and another tenant's gazetteer find nothing.
    assert gazetteer.geocode(tenant_id=tenant.pk, query="12 Castle Hill, Thornby, NS1 2AD") is None
    assert gazetteer.geocode(tenant_id=tenant.pk, query="  ") is None
    assert gazetteer.geocode(tenant_id=tenant.pk, query="NS9 9ZZ") is None
    assert gazetteer.geocode(tenant_id=other_tenant.pk, query="NS9 9ZZ") is not None


def test_an_address_listed_itself_wins_over_its_postcode(in_tenant: Tenant) -> None:
    place(in_tenant, "NS1 2AB", 54.33, -1.43)
    place(in_tenant, "Unit 4, Mill Lane Estate, NS1 2AB", 54.34, -1.44)

    found = geocoder().geocode(tenant_id=in_tenant.pk, query="unit 4 mill lane estate ns1 2ab")

    assert found is not None and found.point == Point(54.34, -1.44)


# --- a Nominatim-style service ----------------------------------------------------------------------------


def test_the_http_geocoder_asks_the_service_for_one_answer(fake_service: FakeService) -> None:
    fake_service.answer = lambda path, query: (
        200,
        [{"lat": "54.3380", "lon": "-1.4300", "display_name": "Market Place, Thornby, Northshire"}],
    )
    with override_settings(GEOCODER_URL=f"{fake_service.url}/search"):
        found = HttpGeocoder(countrycodes="gb").geocode(tenant_id=1, query=" Market Place, Thornby ")

    assert found == Place("Market Place, Thornby, Northshire", Point(54.338, -1.43))
    assert fake_service.requests == [
        (
            "/search",
            {"q": "Market Place, Thornby", "format": "jsonv2", "limit": "1", "countrycodes": "gb"},
        )
    ]


@pytest.mark.parametrize(
    "answer",
    [
        (200, []),  # the service does not know the place
        (500, b"<html>Internal Server Error</html>"),
        (429, {"error": "Too many requests"}),
        (200, b"{not json"),
        (200, [{"lat": "north", "lon": "-1.43"}]),
        (200, [{"lat": "154.3", "lon": "-1.43"}]),
        (200, {"error": "Unable to geocode"}),
    ],
)
def test_the_http_geocoder_answers_none_when_the_service_fails(
    fake_service: FakeService, answer: tuple, caplog: pytest.LogCaptureFixture
) -> None:
    fake_service.answer = lambda path, query: answer
    with caplog.at_level(logging.WARNING, logger="integrations.geocoding"):
        found = HttpGeocoder(url=fake_service.url).geocode(tenant_id=1, query="NS1 2AB")

    assert found is None
    assert len(fake_service.requests) == 1
    assert ("geocoder at" in caplog.text) == (answer != (200, []))


def test_the_http_geocoder_answers_none_when_nothing_listens() -> None:
    assert HttpGeocoder(url=f"http://127.0.0.1:{free_port()}/search").geocode(tenant_id=1, query="x") is None


# --- the admin looks places up ----------------------------------------------------------------------------


@pytest.fixture
def admin_client(tenant: Tenant, client_for, member_of):  # type: ignore[no-untyped-def]
    return client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))


def pattern_post(officer: Officer, **places: object) -> dict[str, object]:
    return {
        "officer": officer.pk,
        "resource": "",
        "valid_from": "2026-01-01",
        "valid_until": "",
        "intervals-TOTAL_FORMS": "0",
        "intervals-INITIAL_FORMS": "0",
        **{f"{end}_{part}": "" for end in ("start", "end") for part in ("label", "latitude", "longitude")},
        **places,
    }


def test_a_pattern_start_named_by_postcode_is_looked_up_and_an_unknown_one_is_a_form_error(
    tenant: Tenant, admin_client
) -> None:
    place(tenant, "NS1 1AA", OFFICE.latitude, OFFICE.longitude)
    officer = OfficerFactory(tenant=tenant)
    url = "/admin/scheduling/workingpattern/add/"

    unknown = admin_client.post(url, pattern_post(officer, start_label="NS1 9ZZ"))
    assert unknown.status_code == 200
    assert "“NS1 9ZZ” is not a place we know." in unknown.content.decode()
    one_half = admin_client.post(url, pattern_post(officer, end_latitude="54.3"))
    assert "Enter both the latitude and the longitude, or neither." in one_half.content.decode()
    with scope(tenant=tenant):
        assert not WorkingPattern.objects.exists()

    typed = {"end_label": "Depot", "end_latitude": "54.1", "end_longitude": "-1.2"}
    response = admin_client.post(url, pattern_post(officer, start_label="ns1 1aa", **typed))
    assert response.status_code == 302
    with scope(tenant=tenant):
        pattern = WorkingPattern.objects.get()
    assert (pattern.start_label, pattern.start_latitude, pattern.start_longitude) == (
        "ns1 1aa",
        OFFICE.latitude,
        OFFICE.longitude,
    )
    assert (pattern.end_label, pattern.end_latitude, pattern.end_longitude) == ("Depot", 54.1, -1.2)


def test_an_officer_home_base_is_looked_up_again_when_renamed(tenant: Tenant, admin_client) -> None:
    place(tenant, "NS3 1AA", 54.401, -1.482)
    place(tenant, "NS4 1AA", 54.301, -1.331)
    officer = OfficerFactory(tenant=tenant)
    url = f"/admin/accounts/officer/{officer.pk}/change/"
    form = {
        "user": officer.user_id,
        "team": "",
        "is_active": "on",
        "home_latitude": "",
        "home_longitude": "",
        "officerskill_set-TOTAL_FORMS": "0",
        "officerskill_set-INITIAL_FORMS": "0",
    }

    assert admin_client.post(url, form | {"home_base": "NS3 1AA"}).status_code == 302
    officer.refresh_from_db()
    assert (officer.home_latitude, officer.home_longitude) == (Decimal("54.401000"), Decimal("-1.482000"))

    moved = {"home_base": "NS4 1AA", "home_latitude": "54.401000", "home_longitude": "-1.482000"}
    assert admin_client.post(url, form | moved).status_code == 302
    officer.refresh_from_db()
    assert (officer.home_base, officer.home_latitude) == ("NS4 1AA", Decimal("54.301000"))

    unknown = admin_client.post(url, form | {"home_base": "Nowhere Farm"})
    assert "“Nowhere Farm” is not a place we know." in unknown.content.decode()
    officer.refresh_from_db()
    assert officer.home_base == "NS4 1AA"
