"""The portal in Cymraeg: the language switch, the tenant's choice, and a complete Welsh catalogue."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation.template import templatize
from django_scopes import scope

from bookings.models import BookingStatus, Customer
from scheduling.models import LocationMode, QuestionKind, Weekday
from tests.bookings import test_portal as portal
from tests.bookings.test_portal import DETAILS, WEEK, book, hold
from tests.builders import MONDAY, at

BASE = Path(settings.BASE_DIR)
CATALOGUE = BASE / "locale" / "cy" / "LC_MESSAGES"

# What a portal customer can see: every string marked in these must have a Welsh translation.
PORTAL_TEMPLATES = [
    *sorted((BASE / "templates" / "bookings" / "portal").glob("*.html")),
    *sorted((BASE / "templates" / "includes").glob("*.html")),
    *[
        BASE / "templates" / name
        for name in ("base.html", "base_public.html", "404.html", "403.html", "400.html", "405.html")
    ],
    BASE / "templates" / "tenancy" / "unknown_host.html",
]
PORTAL_PYTHON = [
    BASE / path
    for path in (
        "bookings/forms/__init__.py",
        "bookings/views/portal.py",
        "bookings/errors.py",
        "scheduling/errors.py",
        "scheduling/availability/supply.py",
        "bookings/tokens.py",
        "bookings/contacts.py",
        "config/middleware.py",
        "notifications/channels.py",
        "bookings/forms/survey.py",
        "bookings/views/survey.py",
    )
] + [
    # What a customer can meet on the portal; staff-only services (outcomes, reassignment, conflicts,
    # emergency and phone bookings) speak to staff, in English.
    BASE / "bookings" / "services" / f"{name}.py"
    for name in (
        "codes",
        "customers",
        "history",
        "idempotency",
        "lifecycle",
        "messages",
        "placement",
        "surveys",
    )
]
PORTAL_CHOICES = [LocationMode, BookingStatus, QuestionKind, Weekday]

# The portal tests' own fixtures: time frozen at builders.NOW, and a bookable "food" service with a question.
frozen = portal.frozen
service = portal.service
pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture(autouse=True)
def english_afterwards():
    """LocaleMiddleware leaves the request's language active in the thread; later tests expect English."""
    yield
    translation.deactivate()


@pytest.fixture
def welsh_tenant(tenant):
    tenant.welsh_enabled = True
    tenant.save(update_fields=["welsh_enabled"])
    return tenant


def in_welsh(client):
    response = client.post("/i18n/setlang/", {"language": "cy", "next": "/"})
    assert response.status_code == 302 and response.url == "/"
    return client


# --- the language switch and the tenant's choice ----------------------------------------------------------


def test_welsh_tenant_offers_a_cymraeg_switch(welsh_tenant, client_for) -> None:
    html = client_for(welsh_tenant).get("/").content.decode()
    assert '<html lang="en-gb">' in html and "Book an appointment" in html
    assert 'name="language" value="cy"' in html and ">Cymraeg</button>" in html


def test_choosing_cymraeg_makes_the_portal_welsh_and_back(service, welsh_tenant, client_for) -> None:
    client = in_welsh(client_for(welsh_tenant))
    home = client.get("/").content.decode()
    assert '<html lang="cy">' in home
    assert "Trefnu apwyntiad" in home and "Neidio i'r prif gynnwys" in home
    assert "60 munud" in home and "Yng nghyfeiriad y cwsmer" in home
    assert "Book an appointment" not in home
    assert 'name="language" value="en-gb"' in home and ">English</button>" in home

    slots = client.get(f"/services/food/{WEEK}").content.decode()
    assert "Dewis amser" in slots and "Wythnos nesaf" in slots
    assert 'aria-label="Dydd Llun 1 Mawrth 2027, 10:00yb"' in slots

    client.post("/i18n/setlang/", {"language": "en-gb", "next": "/"})
    assert "Book an appointment" in client.get("/").content.decode()


def test_tenant_without_welsh_stays_english_whatever_the_browser_asks(other_tenant, client_for) -> None:
    assert not other_tenant.welsh_enabled
    client = client_for(other_tenant)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "cy"
    html = client.get("/", headers={"Accept-Language": "cy"}).content.decode()
    assert '<html lang="en-gb">' in html and "Book an appointment" in html
    assert "Trefnu apwyntiad" not in html and "Cymraeg" not in html and 'name="language"' not in html
    client.post("/i18n/setlang/", {"language": "cy", "next": "/"})
    assert "Trefnu apwyntiad" not in client.get("/").content.decode()


def test_booking_in_welsh_records_welsh_as_the_customers_language(service, welsh_tenant, client_for) -> None:
    client = in_welsh(client_for(welsh_tenant))
    booking = book(client, service)
    with scope(tenant=welsh_tenant):
        assert Customer.objects.get().preferred_language == "cy"
    page = client.get(f"/book/{booking.reference}/confirmed/").content.decode()
    assert "Archeb wedi'i chadarnhau" in page and "Dydd Llun 1 Mawrth 2027" in page
    assert "Ychwanegu at eich calendr" in page


def test_form_errors_are_welsh(service, welsh_tenant, client_for) -> None:
    client = in_welsh(client_for(welsh_tenant))
    url = hold(client, at(MONDAY, 10)).url
    response = client.post(url, {**DETAILS, "contact_by": "sms", "postcode": "nope", "submission": "a" * 32})
    html = response.content.decode()
    assert response.status_code == 422
    assert "Mae problem wedi codi" in html and "Gwall:" in html
    assert "Rhowch eich rhif ffôn symudol er mwyn i ni allu anfon neges destun atoch." in html
    assert "Rhowch god post go iawn, fel SW1A 1AA." in html
    assert "There is a problem" not in html


# --- the catalogue ---------------------------------------------------------------------------------------

LITERAL = r"u?('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
TEMPLATE_CALL = re.compile(rf"\b(gettext|ngettext)\({LITERAL}(?:, {LITERAL})?")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
GETTEXT_NAMES = {"_", "gettext", "gettext_lazy", "ngettext", "ngettext_lazy"}


def portal_messages() -> set[tuple[str, str | None]]:
    """(msgid, msgid_plural) of every string the portal marks, read from the sources, not from the .po:
    a string someone forgot to run makemessages for is caught too."""
    found: set[tuple[str, str | None]] = set()
    for path in PORTAL_TEMPLATES:
        for _name, singular, plural in TEMPLATE_CALL.findall(templatize(path.read_text(), origin=str(path))):
            found.add((ast.literal_eval(singular), ast.literal_eval(plural) if plural else None))
    for path in PORTAL_PYTHON:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) in GETTEXT_NAMES:
                texts = [
                    a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str)
                ]
                if texts:
                    found.add((texts[0], texts[1] if "ngettext" in node.func.id else None))
    return found


def read_po(path: Path) -> dict[str, list[str]]:
    """msgid (singular) -> its msgstr values, for the plain entries makemessages writes."""
    entries: dict[str, list[str]] = {}
    for block in path.read_text(encoding="utf-8").split("\n\n"):
        fields: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#"):
                continue
            if line.startswith('"'):
                fields[key] += ast.literal_eval(line)
            else:
                key, value = line.split(" ", 1)
                fields[key] = ast.literal_eval(value)
        if fields.get("msgid"):
            entries[fields["msgid"]] = [v for k, v in fields.items() if k.startswith("msgstr")]
    return entries


@pytest.fixture(scope="module")
def compiled() -> gettext.GNUTranslations:
    with (CATALOGUE / "django.mo").open("rb") as mo:
        return gettext.GNUTranslations(mo)


def test_every_portal_string_has_a_welsh_translation(compiled) -> None:
    messages = portal_messages()
    assert ("Book an appointment", None) in messages and len(messages) > 100
    missing, broken = [], []
    for singular, plural in sorted(messages, key=str):
        if plural is None:
            welsh = [compiled.gettext(singular)]
            untranslated = welsh[0] == singular
        else:
            # Every plural form of the catalogue's Plural-Forms (n=1, 2, 3, 8 pick forms 0..3).
            welsh = [compiled.ngettext(singular, plural, n) for n in (1, 2, 3, 8)]
            untranslated = any(w in (singular, plural) for w in welsh)
        if untranslated or not all(welsh):
            missing.append(singular)
        elif any(set(PLACEHOLDER.findall(w)) != set(PLACEHOLDER.findall(singular)) for w in welsh):
            broken.append(singular)
    assert not missing, f"untranslated in cy: {missing}"
    assert not broken, f"placeholders changed in cy: {broken}"


def test_choice_labels_the_portal_shows_are_welsh() -> None:
    with translation.override("en-gb"):
        english = {str(label) for choices in PORTAL_CHOICES for label in choices.labels}
    with translation.override("cy"):
        welsh = {str(label) for choices in PORTAL_CHOICES for label in choices.labels}
    assert not english & welsh, f"untranslated in cy: {english & welsh}"


def test_compiled_catalogue_matches_the_po(compiled) -> None:
    """The .mo is committed so CI needs no gettext: it must be compiled from the current .po."""
    translated = {msgid: strs for msgid, strs in read_po(CATALOGUE / "django.po").items() if all(strs)}
    assert len(translated) > 100
    keys = {
        msgid: [msgid] if len(strs) == 1 else [(msgid, i) for i in range(len(strs))]
        for msgid, strs in translated.items()
    }
    stale = [
        msgid
        for msgid, strs in translated.items()
        if [compiled._catalog.get(key) for key in keys[msgid]] != strs
    ]
    assert not stale, f"run compilemessages -l cy: {stale}"
    assert compiled.info()["plural-forms"].startswith("nplurals=4;")
