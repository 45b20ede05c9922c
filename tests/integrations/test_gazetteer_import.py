"""Importing a gazetteer from CSV: in the tenant admin and by command, all rows or none, one tenant's only."""

from __future__ import annotations

from io import BytesIO, StringIO
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.test import Client, override_settings
from django_scopes import scope

from accounts.models import Role, Tenant
from integrations.geocoding import normalise_key
from integrations.models import GazetteerEntry
from integrations.services import GazetteerImportError, gazetteer_import

IMPORT_URL = "/admin/integrations/gazetteerentry/import/"
LIST_URL = "/admin/integrations/gazetteerentry/"

GOOD = """postcode,label,latitude,longitude
NS1 1AA,"Council Offices, Thornby",54.3372,-1.4318
NS1 2AB,,54.3301,-1.4251
Mill Lane; Millbeck,Mill Lane,54.401,-1.482
"""


@pytest.fixture
def admin_client(tenant: Tenant, client_for, member_of) -> Client:  # type: ignore[no-untyped-def]
    return client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))


def gazetteer(tenant: Tenant) -> dict[str, tuple[str, float, float]]:
    with scope(tenant=tenant):
        return {e.key: (e.label, e.latitude, e.longitude) for e in GazetteerEntry.objects.all()}


def upload(client: Client, text: str | bytes, *, replace: bool = False):  # type: ignore[no-untyped-def]
    data = text.encode() if isinstance(text, str) else text
    form = {"file": SimpleUploadedFile("places.csv", data, content_type="text/csv")}
    return client.post(IMPORT_URL, form | ({"replace": "on"} if replace else {}), follow=True)


def test_an_administrator_imports_a_csv_and_replaces_it_later(
    tenant: Tenant, other_tenant: Tenant, admin_client: Client
) -> None:
    gazetteer_import(tenant=other_tenant, csv_text="key,latitude,longitude\nSV1 1AA,51.99,-3.1\n", actor=None)
    assert "Import CSV" in admin_client.get(LIST_URL).content.decode()

    response = upload(admin_client, GOOD)

    assert response.redirect_chain == [(LIST_URL, 302)]
    page = response.content.decode()
    assert "Imported 3 places: 3 added, 0 changed, 0 unchanged, 0 removed." in page
    assert "Council Offices, Thornby" in page and "SV1 1AA" not in page
    assert gazetteer(tenant) == {
        "ns11aa": ("Council Offices, Thornby", 54.3372, -1.4318),
        "ns12ab": ("NS1 2AB", 54.3301, -1.4251),
        "milllanemillbeck": ("Mill Lane", 54.401, -1.482),
    }
    assert "Council Offices" in admin_client.get(LIST_URL, {"q": "ns1 1aa"}).content.decode()

    again = upload(
        admin_client, "key,latitude,longitude\nns1 2ab,54.5,-1.5\nNS6 1AA,54.36,-1.54\n", replace=True
    )

    assert "Imported 2 places: 1 added, 1 changed, 0 unchanged, 2 removed." in again.content.decode()
    assert gazetteer(tenant) == {"ns12ab": ("ns1 2ab", 54.5, -1.5), "ns61aa": ("NS6 1AA", 54.36, -1.54)}
    assert gazetteer(other_tenant) == {"sv11aa": ("SV1 1AA", 51.99, -3.1)}


def test_a_file_with_bad_rows_changes_nothing_and_names_the_lines(
    tenant: Tenant, admin_client: Client
) -> None:
    upload(admin_client, GOOD)
    before = gazetteer(tenant)
    bad = (
        "key,label,latitude,longitude\n"
        "NS2 1AA,,54.3,-1.4\n"
        ",,54.3,-1.4\n"  # line 3: no key
        "NS2 2AA,,95,-1.4\n"  # line 4: latitude out of range
        "NS2 3AA,,54.3,east\n"  # line 5: not a number
        "ns2 1aa,,54.3,-1.4\n"  # line 6: line 2 again
        "NS2 4AA,,54.3\n"  # line 7: a column short
        "NS2 5AA,,nan,inf\n"  # line 8
    )

    response = upload(admin_client, bad, replace=True)

    assert response.status_code == 400
    page = response.content.decode()
    assert "Nothing was imported" in page
    for line in (3, 4, 5, 6, 7, 8):
        assert f"Line {line}:" in page
    assert "Line 2:" not in page
    assert "is the same place as line 2" in page
    assert gazetteer(tenant) == before


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xff\xfekey,latitude,longitude\n", "not UTF-8"),
        ("place,lat,lng\nNS1 1AA,54,-1\n", "Line 1 must name the columns"),
        ("key,latitude,longitude\n", "no rows below its header"),
        ("key,latitude,longitude\nNS1\x00 1AA,54,-1\n", "Line 2: the file holds a NUL character"),
        ("key,latitude,longitude\n" + "x" * 301 + ",54,-1\n", "at most 300 characters"),
        ("key,latitude,longitude\n" + "".join(f"NS1 {n}AA,54,-1\n" for n in range(1, 6)), "more than 4 rows"),
    ],
)
@override_settings(GAZETTEER_MAX_ROWS=4)
def test_files_that_cannot_be_imported_say_why(in_tenant: Tenant, text: str | bytes, message: str) -> None:
    source = {"csv_text": text} if isinstance(text, str) else {"file": BytesIO(text)}
    with pytest.raises(GazetteerImportError) as raised:
        gazetteer_import(tenant=in_tenant, actor=None, **source)
    assert message in str(raised.value)
    assert not GazetteerEntry.objects.exists()


@override_settings(GAZETTEER_MAX_BYTES=100)
def test_a_file_too_large_is_refused_before_it_is_read(tenant: Tenant, admin_client: Client) -> None:
    response = upload(admin_client, GOOD + "NS9 9ZZ,,54,-1\n" * 10)
    assert response.status_code == 400
    assert "The file is larger than" in response.content.decode()
    assert gazetteer(tenant) == {}


def test_more_than_twenty_errors_are_counted_not_listed(in_tenant: Tenant) -> None:
    rows = "".join(f"NS1 {n}AA,north,-1\n" for n in range(30))
    with pytest.raises(GazetteerImportError) as raised:
        gazetteer_import(tenant=in_tenant, csv_text="key,latitude,longitude\n" + rows, actor=None)
    assert len(raised.value.errors) == 20 and raised.value.count == 30
    assert raised.value.errors[0].startswith("Line 2:") and "and 10 more" in str(raised.value)


def test_the_command_imports_by_slug_or_host_and_refuses_a_bad_file(
    tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD)
    bad.write_text("key,latitude,longitude\nNS1 1AA,54,-1\nNS1 2AB,54,west\n")
    out = StringIO()

    call_command("import_gazetteer", str(good), "--tenant", "northshire.localhost", stdout=out)
    call_command("import_gazetteer", str(good), "--tenant", "southvale", "--replace", stdout=out)

    assert "3 rows; 3 added, 0 changed, 0 unchanged, 0 removed." in out.getvalue()
    assert set(gazetteer(tenant)) == set(gazetteer(other_tenant)) == {"ns11aa", "ns12ab", "milllanemillbeck"}
    with pytest.raises(CommandError, match="Line 3: longitude “west” is not a number"):
        call_command("import_gazetteer", str(bad), "--tenant", "northshire", "--replace")
    with pytest.raises(CommandError, match="No tenant"):
        call_command("import_gazetteer", str(good), "--tenant", "nowhere")
    assert len(gazetteer(tenant)) == 3


def test_an_entry_typed_in_the_admin_is_keyed_by_its_normalised_name(
    tenant: Tenant, admin_client: Client
) -> None:
    add = "/admin/integrations/gazetteerentry/add/"
    assert (
        admin_client.post(add, {"label": "NS1 2AB", "latitude": "54.3", "longitude": "-1.4"}).status_code
        == 302
    )
    twice = admin_client.post(add, {"label": "ns12ab", "latitude": "54.3", "longitude": "-1.4"})
    assert "The gazetteer already has this place, as “NS1 2AB”." in twice.content.decode()
    far = admin_client.post(add, {"label": "NS1 3AB", "latitude": "91", "longitude": "-1.4"})
    assert far.status_code == 200
    assert gazetteer(tenant) == {normalise_key("NS1 2AB"): ("NS1 2AB", 54.3, -1.4)}
