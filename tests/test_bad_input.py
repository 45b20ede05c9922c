"""Bad input never gives a 500 and never changes anything: the catalogue in tests/bad_input_catalogue.py,
sent to every public, staff and admin URL by clients that get past each view's access checks.

One world per worker (a module-scoped transaction, rolled back at the end) holds two tenants, each with a
bookable service, a confirmed booking and its manage link, a held booking in the customer's session, staff
in every role and a row behind every admin page. Each test sends its share of the catalogue and fails
listing every probe that answered 5xx, answered other than the catalogue says, or changed a row of a
project app. `bad_input_count()` is how many probes there are.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from itertools import count
from typing import Any
from unittest import mock
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.apps import apps
from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.mail.backends.base import BaseEmailBackend
from django.db import DatabaseError, connection, models, transaction
from django.http import HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import resolve
from django.utils import timezone
from django_scopes import scope
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from accounts.admin import platform_admin_site, tenant_admin_site
from accounts.models import Membership, Role, Skill, Team, Tenant, User
from bookings.forms import parse_start
from bookings.models import (
    AllocationEvent,
    AllocationPlan,
    Booking,
    BookingSeries,
    ConflictCause,
    ConflictItem,
    InspectionVisit,
    PlannedVisit,
)
from bookings.tokens import survey_token
from config.middleware import has_control_characters, has_date_out_of_range
from notifications.fakes import RecordingTwilioClient
from scheduling.models import (
    Absence,
    ExternalBusy,
    Holiday,
    Question,
    QuestionKind,
    ResourceRequirement,
    ServiceBlock,
    StaffingRequirement,
)
from tests import builders as b
from tests.bad_input_catalogue import (
    METHODS,
    PLACEHOLDER,
    PLATFORM_URLCONF,
    PORTAL_FORMS,
    TENANT_URLCONF,
    Probe,
    Target,
    admin_form_fields,
    bad_input_count,
    plan,
    targets,
    walk,
)
from tests.factories import MembershipFactory, TeamFactory, TenantFactory, UserFactory

PROJECT_APPS = ["accounts", "scheduling", "notifications", "bookings", "integrations", "reporting"]
ZONE = "America/New_York"  # west of UTC: a late 31 December 9999 there is year 10000 in UTC
MONDAY = date(2027, 3, 1)
NOW = datetime(2027, 2, 22, 14, 0, tzinfo=ZoneInfo("UTC"))  # a week before, 9am in New York


def local(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=ZoneInfo(ZONE))


# --- the world ---------------------------------------------------------------------------------------------


@dataclass
class TenantWorld:
    tenant: Tenant
    slug: str
    members: dict[str, Membership] = field(default_factory=dict)
    customer: SimpleCookie = field(default_factory=SimpleCookie)  # the customer's browser, by its cookies
    held: str = ""
    confirmed: str = ""
    token: str = ""
    survey_token: str = ""  # the confirmed booking's satisfaction survey link
    email: str = ""
    phone: str = ""
    officer_id: int = 0
    booking_id: int = 0  # the confirmed booking's
    case_reference: str = ""  # the confirmed booking's case
    customer_id: int = 0  # the confirmed booking's customer
    conflict_id: int = 0  # an open conflict-queue item on the confirmed booking
    series_id: int = 0  # a recurring series of the confirmed booking's customer
    visit_id: int = 0  # an open visit of the inspection programme
    plan_id: int = 0  # a draft allocation plan that places it
    question_fields: dict[str, str] = field(default_factory=dict)  # question kind -> form field name
    admin_rows: dict[str, int] = field(default_factory=dict)  # model label -> the row its admin pages show

    @property
    def host(self) -> str:
        return f"{self.tenant.slug}.localhost"


@dataclass
class World:
    client: Client
    own: TenantWorld
    other: TenantWorld
    operator: User
    cookies: dict[str, SimpleCookie] = field(default_factory=dict)  # identity -> its browser's cookies
    baselines: dict[tuple[str, str], dict[str, list[str]]] = field(default_factory=dict)

    def host(self, target: Target) -> str:
        return "localhost" if target.host == "platform" else self.own.host

    @contextmanager
    def browser(self, identity: str) -> Iterator[Client]:
        """The one test client, wearing this identity's cookies; whatever a probe sets is forgotten."""
        self.client.cookies = copy.deepcopy(self.cookies[identity])
        try:
            yield self.client
        finally:
            self.client.cookies = SimpleCookie()


DETAILS = {
    "full_name": "Ann Example",
    "address_line_1": "1 High Street",
    "town": "Northtown",
    "postcode": "NT1 1AA",
    "contact_by": "both",
    "consent": "on",
}
ANSWERS = {"short_text": "A cafe", "long_text": "Two rooms", "yes_no": "yes", "choice": "One"}


def answers(w: TenantWorld) -> dict[str, str]:
    return {name: ANSWERS[kind] for kind, name in w.question_fields.items()}


def book(client: Client, w: TenantWorld, start: datetime) -> str:
    """Holds and confirms a slot the way a customer does; returns the reference."""
    held = client.post(f"/services/{w.slug}/hold/", {"start": start.isoformat()}, HTTP_HOST=w.host)
    assert held.status_code == 302, f"hold {start}: {held.status_code} {held.content.decode()[:300]}"
    page = client.get(held.url, HTTP_HOST=w.host).content.decode()
    submission = re.search(r'name="submission" value="([^"]+)"', page)
    data = {**DETAILS, **answers(w), "email": w.email, "phone": w.phone}
    if submission:
        data["submission"] = submission.group(1)
    done = client.post(held.url, data, HTTP_HOST=w.host)
    assert done.status_code == 303, f"confirm: {done.status_code} {done.content.decode()[:3000]}"
    return held.url.split("/")[2]


def build_tenant(client: Client, tenant: Tenant, slug: str, n: int) -> TenantWorld:
    tenant.time_zone = ZONE
    tenant.save(update_fields=["time_zone"])
    w = TenantWorld(tenant=tenant, slug=slug, email=f"ann{n}@example.org", phone=f"+4477009001{n:02d}")
    with scope(tenant=tenant):
        w.members = {role: MembershipFactory(tenant=tenant, role=role) for role in Role}
        skill = Skill.objects.create(tenant=tenant, name=f"Skill {n}")
        officer = b.officer(tenant, skills=[skill])
        officer.team = TeamFactory(tenant=tenant)
        officer.save(update_fields=["team"])
        w.officer_id = officer.pk
        service = b.appointment_type(tenant, name="Food hygiene inspection", slug=slug)
        for position, kind in enumerate(QuestionKind):
            question = Question.objects.create(
                tenant=tenant,
                appointment_type=service,
                label=f"Question {kind}",
                kind=kind,
                choices="One\nTwo" if kind == QuestionKind.CHOICE else "",
                position=position,
            )
            w.question_fields[kind] = f"q_{question.pk}"
        # A second type, staff-only so it changes no portal slots, with a row in each inline of its page.
        staffed = b.appointment_type(
            tenant, name="Licensing visit", slug=f"{slug}-visit", online_bookable=False
        )
        StaffingRequirement.objects.create(tenant=tenant, appointment_type=staffed, count=1, skill=skill)
        ResourceRequirement.objects.create(tenant=tenant, appointment_type=staffed, count=1, kind="room")
        Question.objects.create(tenant=tenant, appointment_type=staffed, label="Why?")
        room = b.resource(tenant)
        summer = local(date(2027, 6, 7), 9)
        Absence.objects.create(
            tenant=tenant, officer=officer, starts_at=summer, ends_at=summer + timedelta(hours=2)
        )
        Absence.objects.create(
            tenant=tenant, resource=room, starts_at=summer, ends_at=summer + timedelta(days=1)
        )
        Holiday.objects.create(tenant=tenant, date=date(2027, 12, 25), name="Christmas Day")
        block = ServiceBlock.objects.create(
            tenant=tenant,
            name="Saturday visits",
            start=time(9),
            end=time(10),
            recurrence="RRULE:FREQ=WEEKLY;BYDAY=SA",
        )
        block.appointment_types.add(staffed, through_defaults={"tenant": tenant})
        block.officers.add(officer, through_defaults={"tenant": tenant})
        ExternalBusy.objects.create(
            tenant=tenant, officer=officer, starts_at=summer, ends_at=summer + timedelta(hours=1), uid="u1"
        )
        w.admin_rows = {"scheduling.AppointmentType": staffed.pk, "scheduling.Resource": room.pk}

    client.cookies = SimpleCookie()
    w.confirmed = book(client, w, local(MONDAY, 10))
    page = client.get(f"/book/{w.confirmed}/confirmed/", HTTP_HOST=w.host).content.decode()
    w.token = re.search(r'href="/manage/([^/"]+)/"', page).group(1)
    held = client.post(f"/services/{slug}/hold/", {"start": local(MONDAY, 14).isoformat()}, HTTP_HOST=w.host)
    assert held.status_code == 302, held.content.decode()[:500]
    w.held = held.url.split("/")[2]
    found = client.post("/manage/", {"reference": w.confirmed, "contact": w.email}, HTTP_HOST=w.host)
    assert found.status_code == 303, found.content.decode()[:500]
    w.customer = copy.deepcopy(client.cookies)
    with scope(tenant=tenant):
        w.case_reference = f"CASE-{tenant.slug}"
        confirmed = Booking.objects.filter(reference=w.confirmed)
        confirmed.update(case_reference=w.case_reference, case_kind="inspection")
        booking = confirmed.get()
        w.booking_id, w.customer_id = booking.pk, booking.customer_id
        w.survey_token = survey_token(tenant_id=tenant.pk, public_id=booking.public_id)
        w.conflict_id = ConflictItem.objects.create(
            tenant=tenant, booking=booking, cause=ConflictCause.ABSENCE, detail="An absence over it"
        ).pk
        w.series_id = BookingSeries.objects.create(
            tenant=tenant,
            appointment_type=booking.appointment_type,
            customer=booking.customer,
            recurrence="RRULE:FREQ=WEEKLY",
            first_date=MONDAY,
            start_time=time(10),
        ).pk
        visit = InspectionVisit.objects.create(
            tenant=tenant,
            premises="The Old Bakery",
            address="1 High Street",
            latitude=54.33,
            longitude=-1.43,
            appointment_type=booking.appointment_type,
            duration_minutes=60,
            due_by=MONDAY + timedelta(days=4),
            contact_email="bakery@example.org",
        )
        plan = AllocationPlan.objects.create(
            tenant=tenant, first_day=MONDAY, last_day=MONDAY + timedelta(days=4)
        )
        PlannedVisit.objects.create(
            tenant=tenant,
            plan=plan,
            visit=visit,
            officer=officer,
            starts_at=local(MONDAY, 11),
            ends_at=local(MONDAY, 12),
            visit_updated_at=visit.updated_at,
        )
        AllocationEvent.objects.create(tenant=tenant, plan=plan, visit=visit, action="plan_created")
        w.visit_id, w.plan_id = visit.pk, plan.pk

    with scope(tenant=tenant):
        for model in tenant_admin_site._registry:
            label = model._meta.label
            if label not in w.admin_rows:
                rows = model._default_manager.filter(**({"pk": tenant.pk} if model is Tenant else {}))
                w.admin_rows[label] = (rows.order_by("pk").first() or plain_row(model, tenant)).pk
    return w


def plain_row(model: type[models.Model], tenant: Tenant) -> models.Model:
    """A row of a model the world made none of (an audit trail, say), from its required fields alone."""
    values: dict[str, Any] = {}
    for f in model._meta.concrete_fields:
        if f.primary_key or f.has_default() or f.null or (f.blank and not f.is_relation):
            continue
        if f.is_relation:
            related = f.related_model
            values[f.name] = tenant if related is Tenant else related._default_manager.order_by("pk").first()
        elif isinstance(f, models.DateTimeField):
            values[f.name] = timezone.now()
        elif isinstance(f, models.DateField):
            values[f.name] = timezone.now().date()
        elif isinstance(f, models.IntegerField | models.FloatField | models.DecimalField):
            values[f.name] = 1
        elif isinstance(f, models.BooleanField):
            values[f.name] = False
        else:
            values[f.name] = "x"
    return model._default_manager.create(**values)


def signed_in(client: Client, user: User) -> SimpleCookie:
    client.cookies = SimpleCookie()
    client.force_login(user)
    return copy.deepcopy(client.cookies)


@pytest.fixture(scope="module")
def world(django_db_setup: None, django_db_blocker: Any) -> Iterator[World]:
    """Built once per worker inside a transaction that is rolled back after the module's last test; each
    test runs in a savepoint of it, as pytest-django's `db` gives every test."""
    # Rate limits have tests of their own: here every request must reach the view it probes.
    rates = {name: "100000/s" for name in dir(settings) if re.fullmatch(r"PORTAL_\w+_RATE", name)}
    with (
        django_db_blocker.unblock(),
        time_machine.travel(NOW, tick=False),
        override_settings(**rates),
        transaction.atomic(),
    ):
        client = Client(raise_request_exception=False)
        other = build_tenant(
            client, TenantFactory(name="Southvale Agency", slug="southvale"), "other-food", 2
        )
        own = build_tenant(client, TenantFactory(name="Northshire Council", slug="northshire"), "food", 1)
        operator = UserFactory(is_superuser=True, is_staff=True)
        w = World(client=client, own=own, other=other, operator=operator)
        # The customer's browser also "started" another tenant's booking and one that does not exist, so
        # the reference probes get past the session check to the tenant-scoped lookup.
        client.cookies = own.customer
        session = client.session
        session["portal_holds"] = [*session.get("portal_holds", []), other.confirmed, "BK-2222-22"]
        session.save()
        w.cookies = {
            "customer": own.customer,
            "operator": signed_in(client, operator),
            **{role: signed_in(client, member.user) for role, member in own.members.items()},
        }
        yield w
        transaction.set_rollback(True)


@pytest.fixture
def frozen(world: World) -> Iterator[World]:
    with time_machine.travel(NOW, tick=False):
        yield world


# --- sending a probe ---------------------------------------------------------------------------------------

ADDRESSES = count(1)


def parameter(w: World, target: Target, name: str, which: str) -> str:
    """A real value for a URL parameter, the world's own or another tenant's; or a literal (garbage)."""
    if which not in ("own", "foreign"):
        return which
    side = w.other if which == "foreign" else w.own
    if name == "slug":
        return side.slug
    if name == "reference":
        return side.held if target.name == "bookings:details" and which == "own" else side.confirmed
    if name == "token":
        return side.survey_token if target.name == "bookings:survey" else side.token
    if name == "booking_id":
        return str(side.booking_id)
    if name == "ref":
        return side.case_reference
    if name == "customer_id":
        return str(side.customer_id)
    if name == "item_id":
        return str(side.conflict_id)
    if name == "series_id":
        return str(side.series_id)
    if name == "visit_id":
        return str(side.visit_id)
    if name == "plan_id":
        return str(side.plan_id)
    if name == "officer_id" or (name == "object_id" and not target.model):
        return str(side.officer_id)
    if name == "content_type_id":
        return str(ContentType.objects.get_for_model(User if target.host == "platform" else Team).pk)
    if name == "object_id" and target.host == "platform":
        return str(w.operator.pk if target.model == "accounts.User" else side.tenant.pk)
    if name == "object_id":
        return str(side.admin_rows[target.model])
    if name == "id":
        return str(w.operator.pk)
    if name == "app_label":
        return "accounts" if target.host == "platform" else "scheduling"
    if name == "url":
        return "no-such-page/"
    if name == "table":  # a dashboard table: the same names in every tenant
        return "channels"
    if name == "name":  # an upload
        return f"tenant-logos/{side.tenant.slug}.png"
    raise AssertionError(f"{target.route}: give URL parameter {name!r} a value in test_bad_input.parameter()")


def path_of(w: World, probe: Probe, **given: str) -> str:
    target = probe.target
    values = {name: given.get(name) or parameter(w, target, name, "own") for name in target.params}
    suffix = ""
    for name, which in probe.path:
        if name:
            values[name] = parameter(w, target, name, which)
        else:
            suffix = quote(which, safe="")

    def fill(match: re.Match[str]) -> str:
        return quote(values[match.group(1) or match.group(2)], safe="")

    return "/" + PLACEHOLDER.sub(fill, target.route).replace("^", "").replace("$", "") + suffix


class FormReader(HTMLParser):
    """What a browser would submit from a page's POST forms: inputs, checked boxes, selections, text."""

    def __init__(self) -> None:
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.in_post = False
        self.select: str | None = None
        self.textarea: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.in_post = a.get("method", "").lower() == "post"
        if not self.in_post or (not a.get("name") and tag != "option"):
            return
        kind = a.get("type", "text")
        if tag == "input" and kind not in ("submit", "button", "file", "image", "reset"):
            if kind not in ("checkbox", "radio") or "checked" in a:
                self.data.setdefault(a["name"], []).append(a.get("value", "on"))
        elif tag == "select":
            self.select = a["name"]
        elif tag == "option" and self.select and "selected" in a:
            self.data.setdefault(self.select, []).append(a.get("value", ""))
        elif tag == "textarea":
            self.textarea = a["name"]
            self.data.setdefault(self.textarea, []).append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.in_post = False
        elif tag == "select":
            self.select = None
        elif tag == "textarea":
            self.textarea = None

    def handle_data(self, data: str) -> None:
        if self.textarea:
            self.data[self.textarea][-1] += data


def scraped(w: World, target: Target, path: str) -> dict[str, list[str]]:
    """What the page's own form would submit, read once per page."""
    key = (target.identity, path)
    if key not in w.baselines:
        with w.browser(target.identity) as client:
            page = client.get(path, HTTP_HOST=w.host(target))
        reader = FormReader()
        reader.feed(page.content.decode(errors="replace"))
        w.baselines[key] = reader.data
    return {k: list(v) for k, v in w.baselines[key].items()}


def baseline(w: World, target: Target, path: str) -> dict[str, list[str]]:
    """The valid submission a probe changes one thing in."""
    own = w.own
    valid: dict[str, str] = {
        "bookings:hold": {"start": local(MONDAY, 11).isoformat()},
        "bookings:manage-reschedule": {"start": local(MONDAY, 15).isoformat()},
        "bookings:details": {
            **DETAILS,
            **answers(own),
            "contact_by": "email",
            "email": "new.person@example.org",
        },
        "bookings:manage-cancel": {"reason": "No longer needed"},
        "bookings:find": {"reference": own.confirmed, "contact": "nobody@example.org"},
        "bookings:verify-code": {"code": "000000"},
        "accounts:login": {
            "username": own.members[Role.ADMINISTRATOR].user.email,
            "password": "not-it-at-all",
        },
    }.get(target.name, {})
    return {**scraped(w, target, path), **{k: [v] for k, v in valid.items()}}


PLACEHOLDERS = {
    "PHONE_OF_ANOTHER_CUSTOMER": lambda w: w.own.phone,
    "REFERENCE": lambda w: w.own.confirmed,
    "CUSTOMER_EMAIL": lambda w: w.own.email,
    "CUSTOMER_PHONE": lambda w: w.own.phone,
}


def body_of(w: World, probe: Probe, path: str) -> dict[str, list[str]]:
    def field_name(name: str) -> str:
        return w.own.question_fields[name[2:]] if name.startswith("q:") else name

    data = baseline(w, probe.target, path) if probe.baseline else {}
    if probe.drop:
        candidates = [field_name(name) for name in probe.drop]
        # None on the page: a read-only page, which takes no submission at all.
        if spoiler := next((name for name in candidates if name in data), None):
            del data[spoiler]
    for name, value in probe.post:
        data[field_name(name)] = [PLACEHOLDERS[value](w) if value in PLACEHOLDERS else value]
    return data


def fresh_hold(w: World) -> str:
    """A new hold in the customer's browser, for a probe that may book."""
    day = MONDAY + timedelta(days=1 + next(ADDRESSES) % 3)
    with w.browser("customer") as client:
        for hour in range(9, 16):
            held = client.post(
                f"/services/{w.own.slug}/hold/", {"start": local(day, hour).isoformat()}, HTTP_HOST=w.own.host
            )
            if held.status_code == 302:
                return held.url.split("/")[2]
    raise AssertionError("no free slot left for a fresh hold")


def send(w: World, probe: Probe, **given: str) -> HttpResponse:
    target = probe.target
    path = path_of(w, probe, **given)
    host = w.host(target)
    n = next(ADDRESSES)  # each probe from its own address, so that no limit per client is reached
    extra = {"HTTP_HOST": host, "REMOTE_ADDR": f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"}
    for name, value in probe.headers:
        # As a WSGI server hands a header over: the client's bytes (UTF-8) read as Latin-1.
        extra["HTTP_" + name.upper().replace("-", "_")] = (
            value.replace("HOST", host).encode().decode("latin-1")
        )
    if probe.hx:
        extra["HTTP_HX_REQUEST"] = "true"
    query = "?" + urlencode(probe.query) if probe.query else ""
    if probe.method == "POST":
        cache.clear()  # rate counters, code attempts and lock-outs: each probe is judged on its own
        body = body_of(w, probe, path)
    with w.browser(target.identity) as client:
        if probe.method == "POST":
            return client.post(path + query, body, **extra)
        return client.generic(probe.method, path + query, **extra)


# --- no change -------------------------------------------------------------------------------------------


def project_tables() -> dict[str, str]:
    return {
        model._meta.db_table: model._meta.label
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models(include_auto_created=True)
    }


def writes() -> int:
    """Rows inserted, updated or deleted in project tables so far in this transaction (savepoints and
    rolled-back ones included): cheap, and when it has not moved, nothing can have changed."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(n_tup_ins + n_tup_upd + n_tup_del), 0) FROM pg_stat_xact_user_tables "
            "WHERE relname = ANY(%s)",
            [list(project_tables())],
        )
        return int(cursor.fetchone()[0])


def snapshot() -> dict[str, tuple[int, str]]:
    """Every row of every project table, as a count and a digest: any insert, update or delete shows."""
    parts = [
        f"SELECT '{label}', count(*), md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) "
        f"FROM {connection.ops.quote_name(table)} t"
        for table, label in project_tables().items()
    ]
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return {label: (rows, digest) for label, rows, digest in cursor.fetchall()}


@contextmanager
def failing_providers() -> Iterator[None]:
    """Mail and SMS fail where the code is sent (notifications.channels) and at each provider's edge (the
    mail backend, Twilio's HTTP client), whichever way the sending code reaches them."""
    with (
        mock.patch("notifications.channels.send_email", side_effect=OSError("mail provider down")),
        mock.patch("notifications.channels.send_sms", side_effect=OSError("SMS provider down")),
        override_settings(
            EMAIL_BACKEND="tests.test_bad_input.FailingMailBackend",
            TWILIO_HTTP_CLIENT="tests.test_bad_input.FailingTwilioClient",
        ),
    ):
        yield


class FailingMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Any) -> int:
        raise OSError("mail provider down")


class FailingTwilioClient(RecordingTwilioClient):
    def request(self, *args: Any, **kwargs: Any) -> Any:
        raise OSError("SMS provider down")


def problems_with(probe: Probe, response: HttpResponse, changed: list[str]) -> list[str]:
    status, found = response.status_code, []
    if status >= 500 and not (probe.provider_fails and status == 503):  # "try again later" is the answer
        found.append(f"answered {status}")
    elif probe.expect and status not in probe.expect:
        found.append(f"answered {status}, not {'/'.join(map(str, sorted(probe.expect)))}")
    if probe.method not in ("GET", "POST") and status in (200, 405) and not response.get("Allow"):
        found.append(f"answered {status} without an Allow header")
    if probe.what.startswith("?week=") and status == 400 and "this week" not in response.content.decode():
        found.append("did not show this week's times")
    if changed and not (probe.may_change and status < 400):
        found.append(f"changed {', '.join(changed)}")
    return found


def run(w: World, probes: list[Probe]) -> None:
    """Sends each probe in a savepoint that is rolled back after it, so that no probe (not even a valid edge
    case that books) can spoil the world for the next, and lists every problem at the end."""
    failures: list[str] = []
    world_rows = snapshot()
    for probe in probes:
        with transaction.atomic():
            given = (
                {"reference": fresh_hold(w)}
                if probe.may_change and "reference" in probe.target.params
                else {}
            )
            rows, before = (snapshot() if given else world_rows), writes()
            with failing_providers() if probe.provider_fails else nullcontext():
                response = send(w, probe, **given)
            if response.status_code >= 500:
                changed = []  # a server error is reported as such; the database may not answer after it
            else:
                try:
                    changed = [] if writes() == before else diff(rows, snapshot())
                except DatabaseError:
                    changed = ["(the database transaction was left broken)"]
            failures += [f"{probe}: {problem}" for problem in problems_with(probe, response, changed)]
            transaction.set_rollback(True)
    assert not failures, f"{len(failures)} of {len(probes)} bad inputs were mishandled:\n" + "\n".join(
        failures
    )


def diff(before: dict[str, tuple[int, str]], after: dict[str, tuple[int, str]]) -> list[str]:
    return sorted(label for label in after if after[label] != before.get(label))


# --- the tests ---------------------------------------------------------------------------------------------


def group_of(probe: Probe) -> str:
    """Which test sends the probe: one per surface, and one per model on the admin sites (so that xdist
    can share them out, and a failure names the page)."""
    target = probe.target
    return f"{target.surface}:{target.model or 'site'}" if "admin" in target.surface else target.surface


GROUPS = sorted({group_of(probe) for probe in plan()})


def test_the_catalogue_reaches_every_url_and_every_admin_form_field() -> None:
    probes = plan()
    methods: dict[tuple[str, str], set[str]] = {}
    nul_fields: dict[tuple[str, str], set[str]] = {}
    for probe in probes:
        key = (probe.target.urlconf, probe.target.route)
        methods.setdefault(key, set()).add(probe.method)
        if probe.what.startswith("NUL in ") and probe.post:
            nul_fields.setdefault((probe.target.name, probe.target.admin_view), set()).add(probe.what[7:])
    for urlconf in (TENANT_URLCONF, PLATFORM_URLCONF):
        for _name, route, _pattern in walk(urlconf):
            assert set(METHODS) <= methods.get((urlconf, route), set()), f"{route}: not every method is sent"
    for site in (tenant_admin_site, platform_admin_site):
        for model in site._registry:
            label = model._meta.label
            for view in ("add", "change"):
                name = f"{site.name}:{model._meta.app_label}_{model._meta.model_name}_{view}"
                fields = {f.name for f in admin_form_fields(label, site.name)}
                assert fields <= nul_fields.get((name, view), set()), f"{name}: fields without a NUL probe"
    assert bad_input_count() == len(probes) > 1000


@pytest.mark.parametrize("group", GROUPS)
def test_bad_input_gets_a_clear_answer_and_changes_nothing(frozen: World, db: None, group: str) -> None:
    probes = [probe for probe in plan() if group_of(probe) == group]
    assert probes, f"the catalogue has nothing for {group}"
    run(frozen, probes)


def test_every_public_form_is_in_the_catalogue(frozen: World, db: None) -> None:
    w = frozen
    for target in targets():
        if target.surface != "portal":
            continue
        path = path_of(w, Probe(target, "look"))
        with w.browser(target.identity) as client:
            page = client.get(path, HTTP_HOST=w.host(target))
        if page.status_code != 200 or "html" not in page.get("Content-Type", ""):
            continue
        for form in re.findall(r"<form\b[^>]*>", page.content.decode(), flags=re.IGNORECASE):
            if re.search(r'method="post"', form, flags=re.IGNORECASE):
                action = re.search(r'action="([^"]*)"', form)
                posted_to = resolve((action.group(1) if action else "").split("?")[0] or path).view_name
                assert posted_to in (*PORTAL_FORMS, "accounts:logout", "set_language"), (
                    f"{target.name} shows a form posting to {posted_to}: add it to PORTAL_FORMS"
                )


# --- the edge's own answers ------------------------------------------------------------------------------


def ask(w: World, method: str, path: str, host: str = "", **extra: str) -> HttpResponse:
    with w.browser("customer") as client:
        return client.generic(method, path, HTTP_HOST=host or w.own.host, **extra)


def test_pages_refuse_other_methods_saying_which_they_take(frozen: World, db: None) -> None:
    w = frozen
    assert ask(w, "PUT", "/services/food/hold/")["Allow"] == "POST, OPTIONS"  # require_POST
    assert ask(w, "PATCH", "/manage/")["Allow"] == "GET, POST, OPTIONS"  # require_http_methods
    assert ask(w, "DELETE", "/accounts/logout/")["Allow"] == "POST, OPTIONS"  # LogoutView
    deleted = ask(w, "DELETE", "/services/food/")
    assert deleted.status_code == 405 and deleted["Allow"] == "GET, HEAD, POST, OPTIONS"
    assert (
        "This page cannot do that" in deleted.content.decode()
        and w.own.tenant.name in deleted.content.decode()
    )
    options = ask(w, "OPTIONS", "/services/food/hold/")
    assert options.status_code == 200 and options["Allow"] == "POST, OPTIONS" and options.content == b""
    assert ask(w, "PUT", "/no-such-page/").status_code == 404


def test_api_paths_take_their_own_methods_and_healthz_answers_anywhere(frozen: World, db: None) -> None:
    w = frozen
    with override_settings(API_PATH_PREFIXES=["/api/"]):
        assert ask(w, "PUT", "/api/bookings/1/").status_code == 404  # reaches the (absent) API, not 405
        assert ask(w, "PUT", "/services/food/").status_code == 405
    assert ask(w, "GET", "/healthz", host="anything.example").status_code == 200
    assert ask(w, "HEAD", "/healthz", host="anything.example").status_code == 200
    assert ask(w, "PUT", "/healthz")["Allow"] == "GET, HEAD, POST, OPTIONS"


def test_refusals_say_what_was_wrong_in_the_tenants_own_look(frozen: World, db: None) -> None:
    w = frozen
    nul = ask(w, "GET", "/services/food/?week=2027-03-01%00")
    assert nul.status_code == 400 and "invisible control characters" in nul.content.decode()
    assert w.own.tenant.name in nul.content.decode() and "Nothing has been changed" in nul.content.decode()
    with w.browser(Role.ADMINISTRATOR) as client:
        far = client.get("/admin/scheduling/holiday/?date__year=9999", HTTP_HOST=w.own.host)
        typed = client.post(
            f"/admin/scheduling/holiday/{w.own.admin_rows['scheduling.Holiday']}/change/",
            {"date": "31/12/9999", "name": "Far"},
            HTTP_HOST=w.own.host,
        )
        near = client.get("/admin/scheduling/holiday/?date__year=2027", HTTP_HOST=w.own.host)
    assert far.status_code == typed.status_code == 400
    assert "between the years 1000 and 8999" in far.content.decode()
    assert near.status_code == 200


# --- properties of the edge, without the database -------------------------------------------------------

fast = hypothesis_settings(
    max_examples=300, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@fast
@given(st.text())
def test_parse_start_never_raises(text: str) -> None:
    moment = parse_start(text)
    assert moment is None or (2000 <= moment.year <= 2999 and moment.second == 0 and moment.tzinfo)


@fast
@given(
    st.datetimes(
        timezones=st.sampled_from([ZoneInfo(z) for z in ("UTC", ZONE, "Asia/Kolkata", "Pacific/Kiritimati")]),
        allow_imaginary=False,
    ),
    st.sampled_from(["seconds", "minutes", "microseconds"]),
)
def test_parse_start_takes_whole_minutes_that_convert(moment: datetime, spec: str) -> None:
    parsed = parse_start(moment.isoformat(timespec=spec))
    if parsed is not None:
        assert parsed.second == parsed.microsecond == 0 and parsed == moment.replace(second=0, microsecond=0)


@fast
@given(st.text(), st.dates(max_value=date(9999, 10, 1)))
def test_requested_week_is_a_monday_from_this_week_to_the_horizon(value: str, today: date) -> None:
    from bookings.views.portal import _requested_week

    this_monday = today - timedelta(days=today.weekday())
    horizon = today + timedelta(days=60)
    monday, problem = _requested_week(value, this_monday, None, ZoneInfo("UTC"), horizon=horizon)
    assert this_monday <= monday <= horizon and monday.weekday() == 0
    assert monday == this_monday or not problem


@fast
@given(st.dictionaries(st.text(max_size=30), st.text(max_size=30), max_size=5))
def test_the_edge_reads_any_query_without_raising(query: dict[str, str]) -> None:
    request = RequestFactory().get("/admin/scheduling/absence/", query)
    has_date_out_of_range(request)
    control = any(re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", k + v) for k, v in query.items())
    assert has_control_characters(request) == control
