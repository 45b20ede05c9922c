"""The catalogue of bad inputs that tests/test_bad_input.py sends, planned from the code alone.

Every URL comes from the resolvers (`config.urls` on a tenant host, `config.urls_platform` on a platform
host), every admin form from the admin sites' registries, and every portal form from PORTAL_FORMS, so a new
view, model admin or form field is covered without editing this file. The plan names what to send with
placeholders (`own` or `foreign` ids; a question's field by its kind); the test module fills them
from real rows. Nothing here touches the database, so `bad_input_count()` (also importable from
tests.test_bad_input) needs only Django's settings:

    DJANGO_SETTINGS_MODULE=config.settings.test .venv/bin/python -c "import django; django.setup(); \
        from tests.bad_input_catalogue import bad_input_count; print(bad_input_count())"
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.test import RequestFactory
from django.urls import URLPattern, URLResolver, get_resolver
from django_scopes import scopes_disabled

from accounts.admin import platform_admin_site, tenant_admin_site
from accounts.forms import TenantLoginForm
from accounts.models import Role, Tenant, User
from bookings.forms import CancelForm, CodeForm, DetailsForm, FindBookingForm, SlotForm, question_field
from bookings.forms.survey import SurveyForm
from config.middleware import methods_allowed_by
from scheduling.models import Question, QuestionKind

TENANT_URLCONF = "config.urls"
PLATFORM_URLCONF = "config.urls_platform"

# --- the inputs --------------------------------------------------------------------------------------------

# C0 control characters from across the range: NUL (PostgreSQL refuses it in text), bell, backspace, escape
# ... (tab, CR and LF are ordinary text).
CONTROL_CHARACTERS = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x1b", "\x1f"]
# Text that is valid Unicode but hostile to naive handling: direction overrides, emoji sequences, stacked
# combining marks, invisible characters, non-ASCII digits (which `\d` and int() accept), a BOM, a
# non-character, and a character outside the Basic Multilingual Plane.
ODDITIES = [
    "\u202eevil\u202c",
    "👩\u200d👩\u200d👧\u200d👦🏳️\u200d🌈🇬🇧",
    "Z\u0351\u0352\u0357\u0306\u0315\u035c\u0360a\u0317\u0331l\u0353g\u0359o\u0489",
    "\u200b\u200c\u200d\u2060\ufeff",
    "\uff12\uff10\uff12\uff17-\uff10\uff13-\uff10\uff11",
    "\u0661\u0662\u0663\u0664\u0665\u0666",
    "\ufffe\uffff",
    "\U0001d54f\U0001f600",
]
HUGE = 100_000  # characters: 100 kB of ASCII
GARBAGE = [
    "x",
    "0",
    "-1",
    "99999999999999999999999",
    "' OR 1=1 --",
    "../../etc/passwd",
    "\u202e" + "a" * 40,
    "a" * 5000,
]
METHODS = {"PUT": 405, "PATCH": 405, "DELETE": 405, "TRACE": 405, "BREW": 405, "OPTIONS": 200}
# Weeks the slot picker must refuse with this week's slots and a message: beyond the horizon, beyond the
# calendar, before it, malformed.
WEEKS = [
    "9999-12-31",
    "9999-12-27",
    "2099-01-05",
    "0001-01-01",
    "0000-01-01",
    "10000-01-01",
    "2027-02-31",
    "2027-13-01",
    "-2027-03-01",
    "2020-01-06",
    "9" * 40,
    "1e9",
    "2027-03-01T00:00:00+25:00",
]
# Slot starts a hold or a move must refuse: overflow when converted, absurd years, noise, bad offsets.
STARTS = [
    "9999-12-31T23:00:00-05:00",
    "9999-12-31T23:59:59+00:00",
    "0001-01-01T00:00:00+05:00",
    "0001-01-01T00:00:00+00:00",
    "10000-01-01T00:00:00+00:00",
    "2027-03-01T10:00:00.000001+00:00",
    "2027-03-01T10:00:30+00:00",
    "2027-03-01T10:00:00+25:00",
    "2027-03-01T10:00:00-23:59",
    "2027-03-01T10:00:00",
    "2027-02-30T10:00:00+00:00",
    "2999-12-31T23:30:00+00:00",
    "2020-01-06T10:00:00+00:00",
    "\uff12\uff10\uff12\uff17-\uff10\uff13-\uff10\uff11T10:00:00+00:00",
    "",
]
# Date lookups in an admin changelist's query, for a date or date-time field F. All out of range or
# malformed; the edge answers 400 before the admin's date arithmetic can overflow.
DATE_LOOKUPS: list[dict[str, str]] = [
    {"F__year": "9999"},
    {"F__year": "10000"},
    {"F__year": "0"},
    {"F__year": "-1"},
    {"F__year": "99999999999999999999"},
    {"F__year": "abc"},
    {"F__year": "2027", "F__month": "13"},
    {"F__year": "9999", "F__month": "12", "F__day": "31"},
    {"F__year": "2027", "F__month": "1", "F__day": "99999999999999999999"},
    {"F__year__in": "2027,10000"},
    {"F__iso_year": "10000"},
    {"F__gte": "9999-12-31"},
    {"F__gte": "0000-01-01"},
    {"F__lt": "10000-01-01"},
    {"F__gte": "0001-01-01 00:00:00+05:00"},
    {"F__lte": "9999-12-31 23:00:00-05:00"},
    {"F__range": "0001-01-01,9999-12-31"},
]
# Dates typed into a form's date and date-time fields.
FAR_DATES = ["9999-12-31", "0001-01-01", "10000-01-01"]
QUERY_PARAMETERS = ["q", "next", "week", "o", "p", "e", "_changelist_filters", "_to_field", "_popup"]

# --- the portal's forms -------------------------------------------------------------------------------

# The form each public page posts. The test module checks that every public page showing a POST form is
# here, so a new form cannot go unprobed.
PORTAL_FORMS: dict[str, type[forms.Form]] = {
    "bookings:hold": SlotForm,
    "bookings:manage-reschedule": SlotForm,
    "bookings:details": DetailsForm,
    "bookings:manage-cancel": CancelForm,
    "bookings:find": FindBookingForm,
    "bookings:verify-code": CodeForm,
    "bookings:survey": SurveyForm,
    "accounts:login": TenantLoginForm,
}


def question_fields() -> dict[str, forms.Field]:
    """The details form's question fields, one per kind of question; named `q:<kind>` until filled."""
    return {
        f"q:{kind}": question_field(Question(label="Question", kind=kind, choices="One\nTwo", required=True))
        for kind in QuestionKind
    }


# --- plan ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """One URL, as one identity sees it."""

    surface: str  # portal, staff, tenant-admin, platform-admin
    urlconf: str
    name: str  # the namespaced URL name, or the route of an unnamed pattern
    route: str  # with its <converter:parameter> or (?P<parameter>...) placeholders
    params: tuple[str, ...]
    identity: str  # customer, a Role value, or operator
    model: str = ""  # for a model admin's URLs: the model's label ...
    admin_view: str = ""  # ... and which of its views: changelist, add, change, delete, history ...
    methods: tuple[str, ...] = ("GET", "HEAD", "POST", "OPTIONS")  # what the view takes

    @property
    def reader(self) -> str:
        """The method that reaches the view: GET, or POST for a view that takes only POST."""
        return "GET" if "GET" in self.methods else "POST"

    @property
    def host(self) -> str:
        return "platform" if self.urlconf == PLATFORM_URLCONF else "tenant"


@dataclass(frozen=True)
class FormField:
    name: str
    kind: str  # text, boolean, file, date, datetime, choice, other
    max_length: int | None
    required: bool


@dataclass(frozen=True)
class Probe:
    """One bad input: a request, what it must answer (when that is known), and whether it may change data."""

    target: Target
    what: str  # a readable description, shown when the probe fails
    method: str = "GET"
    path: tuple[tuple[str, str], ...] = ()  # parameter -> own | foreign | a literal value
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    post: tuple[tuple[str, str], ...] = ()  # form field -> value, over the page's own valid submission
    drop: tuple[str, ...] = ()  # the first of these form fields that the submission has is left out
    baseline: bool = False  # start from the page's own submission (True) or send `post` alone
    expect: frozenset[int] = field(default_factory=frozenset)  # empty: any answer below 500
    may_change: bool = False  # a valid edge case: may succeed, but a refusal must change nothing
    provider_fails: bool = False
    hx: bool = False

    def __str__(self) -> str:
        return f"{self.target.identity} {self.method} {self.target.name} ({self.target.route}): {self.what}"


def walk(urlconf: str) -> list[tuple[str, str, URLPattern]]:
    """(namespaced name, route, pattern) of every URL pattern, through includes and admin sites."""
    found: list[tuple[str, str, URLPattern]] = []

    def visit(patterns: list[Any], prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
                visit(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                name = (f"{namespace}:{p.name}" if namespace else p.name) if p.name else route
                found.append((name, route, p))

    visit(get_resolver(urlconf).url_patterns, "", "")
    return found


PLACEHOLDER = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def _params(route: str) -> tuple[str, ...]:
    return tuple(a or b for a, b in PLACEHOLDER.findall(route))


def targets() -> list[Target]:
    found = []
    for urlconf in (TENANT_URLCONF, PLATFORM_URLCONF):
        for name, route, pattern in walk(urlconf):
            model_admin = getattr(pattern.callback, "model_admin", None)
            common: dict[str, Any] = {
                "urlconf": urlconf,
                "name": name,
                "route": route,
                "params": _params(route),
                "methods": methods_allowed_by(pattern.callback),
            }
            if model_admin is not None:
                opts = model_admin.model._meta
                common["model"] = opts.label
                # The unnamed one redirects an object's bare URL to its change page.
                view = pattern.name or "object"
                common["admin_view"] = view.removeprefix(f"{opts.app_label}_{opts.model_name}_")
            if urlconf == PLATFORM_URLCONF:
                found.append(Target(surface="platform-admin", identity="operator", **common))
            elif route.startswith("admin/"):
                found.append(Target(surface="tenant-admin", identity=Role.ADMINISTRATOR, **common))
            elif route.startswith("staff/"):
                found += [Target(surface="staff", identity=role, **common) for role in Role]
            else:
                found.append(Target(surface="portal", identity="customer", **common))
    return found


# --- form fields, from the form classes -----------------------------------------------------------------


def _kind(form_field: forms.Field) -> str:
    if isinstance(form_field, forms.BooleanField):
        return "boolean"
    if isinstance(form_field, forms.FileField):
        return "file"
    if isinstance(form_field, forms.SplitDateTimeField):
        return "split-datetime"
    if isinstance(form_field, forms.DateTimeField):
        return "datetime"
    if isinstance(form_field, forms.DateField):
        return "date"
    if isinstance(form_field, forms.ChoiceField | forms.ModelChoiceField | forms.TypedChoiceField):
        return "choice"
    if isinstance(form_field, forms.CharField) and not isinstance(
        form_field, forms.EmailField | forms.SlugField | forms.URLField
    ):
        return "text" if not form_field.validators or _length_validators_only(form_field) else "other"
    return "other"


def _length_validators_only(form_field: forms.Field) -> bool:
    from django.core.validators import (
        MaxLengthValidator,
        MinLengthValidator,
        ProhibitNullCharactersValidator,
    )

    allowed = (MaxLengthValidator, MinLengthValidator, ProhibitNullCharactersValidator)
    return all(isinstance(v, allowed) for v in form_field.validators)


def form_fields(fields: dict[str, forms.Field], prefix: str = "") -> list[FormField]:
    return [
        FormField(
            name=prefix + name,
            kind=_kind(f),
            max_length=getattr(f, "max_length", None),
            required=f.required and not f.disabled,
        )
        for name, f in fields.items()
        if not isinstance(f.widget, forms.HiddenInput) or name == "submission"
    ]


def portal_form_fields(name: str) -> list[FormField]:
    form_class = PORTAL_FORMS[name]
    fields = dict(form_class.base_fields)
    if form_class is DetailsForm:
        fields.update(question_fields())
    return form_fields(fields)


def _stub_request(site: admin.AdminSite) -> Any:
    """A request the admin's permission checks accept without a database: an unsaved superuser in an
    unsaved tenant, so get_form() and the inlines can be read from the classes."""
    request = RequestFactory().get("/admin/")
    request.user = User(email="plan@example.org", is_superuser=True, is_active=True, is_staff=True)
    request.tenant = Tenant(pk=1, name="Plan") if site is tenant_admin_site else None
    request._membership = None
    return request


@cache
def admin_form_fields(label: str, site_name: str) -> tuple[FormField, ...]:
    """The add form's fields, and the first row of each inline (`<prefix>-0-<field>`)."""
    site = tenant_admin_site if site_name == tenant_admin_site.name else platform_admin_site
    model_admin = next(ma for m, ma in site._registry.items() if m._meta.label == label)
    request = _stub_request(site)
    with scopes_disabled():
        found = form_fields(dict(model_admin.get_form(request, None).base_fields))
        for inline in model_admin.get_inline_instances(request, None):
            formset = inline.get_formset(request, None)
            prefix = f"{formset.get_default_prefix()}-0-"
            found += form_fields(dict(formset.form.base_fields), prefix)
    return tuple(f for f in found if not f.name.endswith(("-id", "-DELETE")) and f.kind != "file")


def admin_date_fields(target: Target) -> list[str]:
    """The model's date and date-time fields, its admin's date hierarchy first."""
    site = tenant_admin_site if target.surface == "tenant-admin" else platform_admin_site
    model, model_admin = next((m, ma) for m, ma in site._registry.items() if m._meta.label == target.model)
    names = [f.name for f in model._meta.concrete_fields if isinstance(f, models.DateField)]  # date-times too
    first = model_admin.date_hierarchy
    return sorted(names, key=lambda name: name != first)


# --- probes ------------------------------------------------------------------------------------------


def url_probes(target: Target, index: int) -> list[Probe]:
    """What every URL gets: wrong methods, control characters, Unicode oddities, 100 kB, garbage ids.

    The edge treats every URL alike, so beyond NUL in a query value each URL gets two of the other
    (character, place) pairs and one Unicode oddity, taken in turn: across the catalogue every character
    reaches every place many times over.
    """
    name = QUERY_PARAMETERS[index % len(QUERY_PARAMETERS)]
    probes = [
        Probe(target, f"method {method}", method=method, expect=frozenset({status}))
        for method, status in METHODS.items()
    ]
    probes.append(Probe(target, f"NUL in ?{name}=", query=((name, "a\x00b"),), expect=frozenset({400})))
    for turn in (2 * index, 2 * index + 1):
        char = CONTROL_CHARACTERS[turn % len(CONTROL_CHARACTERS)]
        other = QUERY_PARAMETERS[turn % len(QUERY_PARAMETERS)]
        place, where = [
            (f"?{other}=", {"query": ((other, f"a{char}b"),)}),
            ("a query parameter's name", {"query": ((f"a{char}b", "1"),)}),
            ("the path", {"path": (("", char),)}),
            ("the Host header", {"headers": (("Host", f"HOST{char}"),)}),
            ("the Cookie header", {"headers": (("Cookie", f"sessionid=a{char}b"),)}),
            ("the User-Agent header", {"headers": (("User-Agent", f"a{char}b"),)}),
        ][turn % 6]
        probes.append(Probe(target, f"{char!r} in {place}", expect=frozenset({400}), **where))
    # The rest must reach the view: by GET, or by POST where the view takes only that.
    reader = target.reader
    oddity = ODDITIES[index % len(ODDITIES)]
    probes += [
        Probe(target, f"Unicode {oddity!r} in ?{name}=", method=reader, query=((name, oddity),))
        if index % 2
        else Probe(
            target,
            f"Unicode {oddity!r} as the session cookie",
            method=reader,
            headers=(("Cookie", f"sessionid={oddity}"),),
        ),
        Probe(target, f"100 kB in ?{name}=", method=reader, query=((name, "x" * HUGE),)),
    ]
    if index % 4 == 0:
        probes.append(
            Probe(target, "100 kB in the Host header", method=reader, headers=(("Host", "h" * HUGE),))
        )
    for param in target.params:
        if expect := foreign_answer(target, param):
            probes.append(
                Probe(
                    target,
                    f"another tenant's {param}",
                    method=reader,
                    path=((param, "foreign"),),
                    expect=expect,
                )
            )
        # Three kinds of garbage each, one for the admin's pages about an object other than its form.
        kinds = 1 if target.admin_view in ("history", "delete", "object") else 3
        probes += [
            Probe(target, f"garbage {param} {value[:30]!r}", method=reader, path=((param, value),))
            for value in (GARBAGE[(index + k) % len(GARBAGE)] for k in range(kinds))
        ]
    return probes


def foreign_answer(target: Target, param: str) -> frozenset[int]:
    """What another tenant's id in this parameter must get: exactly what a missing one gets."""
    if target.surface == "tenant-admin" and param == "object_id" and target.model:
        # The admin's "no such object" redirect; a read-only model's delete page refuses before looking.
        return frozenset({302, 403} if target.admin_view == "delete" else {302})
    if target.surface == "staff" and param in ("officer_id", "booking_id", "ref", "series_id"):
        return frozenset({403, 404})  # roles that may not look are refused before the lookup
    if target.name == "integrations:feed":
        return frozenset({404})  # a calendar app, not a person, reads it: a plain 404, no explanation
    if target.surface == "portal" and param == "token":
        return frozenset({400})  # the "this link does not work" page
    if target.surface == "portal" and param in ("slug", "reference", "name"):
        return frozenset({404})
    return frozenset()


def week_probes(target: Target) -> list[Probe]:
    return [
        *(
            Probe(target, f"?week={week[:40]}", query=(("week", week),), expect=frozenset({400}))
            for week in WEEKS
        ),
        Probe(
            target,
            "?week=9999-12-31 from htmx",
            query=(("week", "9999-12-31"),),
            hx=True,
            expect=frozenset({400}),
        ),
    ]


def start_probes(target: Target) -> list[Probe]:
    return [
        Probe(
            target,
            f"start={start!r}",
            method="POST",
            post=(("start", start),),
            baseline=True,
            expect=frozenset({400}),
        )
        for start in STARTS
    ]


def date_lookup_probes(target: Target) -> list[Probe]:
    """Every date lookup on the changelist's date hierarchy (or first date field), four on each other one."""
    probes = []
    for n, name in enumerate(admin_date_fields(target)):
        lookups = (
            DATE_LOOKUPS if n == 0 else [DATE_LOOKUPS[(n * 4 + k) % len(DATE_LOOKUPS)] for k in range(4)]
        )
        for lookup in lookups:
            query = tuple((key.replace("F", name, 1), value) for key, value in lookup.items())
            what = "&".join(f"{k}={v}" for k, v in query)
            probes.append(Probe(target, f"?{what}", query=query, expect=frozenset({400})))
    return probes


def field_probes(target: Target, fields: Sequence[FormField], *, per_field: bool) -> list[Probe]:
    """NUL in every field (and the other control characters in turn), and every field over its length and
    at 100 kB, all at once; with `per_field`, also one field at a time: over its length (at 100 kB if it
    has none), far dates, and a Unicode oddity. An oddity in free text is valid text, so that probe leaves
    out another required field: the form cannot succeed, whatever the oddity does on the way."""
    post: dict[str, Any] = {"method": "POST", "baseline": True}
    refused = frozenset({400})
    probes = [Probe(target, "NUL in a field's name", post=(("a\x00b", "1"),), expect=refused, **post)]
    for i, f in enumerate(fields):
        first = _inputs(f)[0]
        probes.append(Probe(target, f"NUL in {f.name}", post=((first, "a\x00b"),), expect=refused, **post))
        if i % 3 == 1:
            char = CONTROL_CHARACTERS[1 + i // 3 % (len(CONTROL_CHARACTERS) - 1)]
            probes.append(
                Probe(target, f"{char!r} in {f.name}", post=((first, f"a{char}b"),), expect=refused, **post)
            )
        if not per_field:
            continue
        if f.kind not in ("boolean", "file"):
            size, what = (f.max_length + 1, "max_length+1") if f.max_length else (HUGE, "100 kB")
            probes.append(Probe(target, f"{f.name} at {what}", post=_all(f, "x" * size), **post))
        if f.kind in ("date", "datetime"):
            probes += [Probe(target, f"{f.name}={d}", post=((f.name, d),), **post) for d in FAR_DATES]
        if f.kind == "split-datetime":
            probes += [
                Probe(
                    target, f"{f.name}={d} 23:59", post=((f"{f.name}_0", d), (f"{f.name}_1", "23:59")), **post
                )
                for d in FAR_DATES
            ]
        others = tuple(o.name for o in fields if o.required and o.name != f.name)
        if (f.kind == "text" and others) or (f.kind == "other" and (others or f.required)):
            oddity = ODDITIES[i % len(ODDITIES)]
            probes.append(
                Probe(target, f"Unicode {oddity!r} in {f.name}", post=((first, oddity),), drop=others, **post)
            )
    sized = [f for f in fields if f.kind not in ("boolean", "file")]
    probes.append(
        Probe(
            target,
            "every field at max_length+1",
            post=tuple(p for f in sized for p in _all(f, "x" * ((f.max_length or 300) + 1))),
            **post,
        )
    )
    # 100 kB in every field, a score of fields at a time: more at once is over Django's 2.5 MB for a form.
    for start in range(0, len(sized), 20):
        chunk = sized[start : start + 20]
        probes.append(
            Probe(
                target,
                f"fields {start + 1} to {start + len(chunk)} at 100 kB",
                post=tuple(p for f in chunk for p in _all(f, "x" * HUGE)),
                **post,
            )
        )
    return probes


def _inputs(f: FormField) -> list[str]:
    """The names a browser sends the field under (a split date-time is two inputs)."""
    return [f"{f.name}_0", f"{f.name}_1"] if f.kind == "split-datetime" else [f.name]


def _all(f: FormField, value: str) -> tuple[tuple[str, str], ...]:
    return tuple((name, value) for name in _inputs(f))


def portal_special_probes(target: Target) -> list[Probe]:
    """Inputs that are valid on their face but have broken the portal: they may book, but never 500."""
    if target.name == "bookings:details":
        return [
            Probe(
                target,
                "a new email with a mobile another customer already has",
                method="POST",
                baseline=True,
                post=(
                    ("email", "someone.new@example.org"),
                    ("phone", "PHONE_OF_ANOTHER_CUSTOMER"),
                    ("contact_by", "both"),
                ),
                may_change=True,
            ),
            Probe(
                target,
                "address lines that fit the form but whose joined text overflows Booking.location",
                method="POST",
                baseline=True,
                post=(("address_line_1", "1" * 200), ("address_line_2", "2" * 200), ("town", "T" * 100)),
                may_change=True,
            ),
        ]
    if target.name == "bookings:find":
        return [
            Probe(
                target,
                f"the {channel} provider fails while the code is sent",
                method="POST",
                post=(("reference", "REFERENCE"), ("contact", contact)),
                provider_fails=True,
            )
            for channel, contact in (("mail", "CUSTOMER_EMAIL"), ("SMS", "CUSTOMER_PHONE"))
        ]
    return []


@cache
def plan() -> tuple[Probe, ...]:
    probes: list[Probe] = []
    for index, target in enumerate(targets()):
        probes += url_probes(target, index)
        if target.name in ("bookings:service", "bookings:manage-reschedule"):
            probes += week_probes(target)
        if target.name in ("bookings:hold", "bookings:manage-reschedule"):
            probes += start_probes(target)
        if target.name in PORTAL_FORMS:
            probes += field_probes(target, portal_form_fields(target.name), per_field=True)
            probes += portal_special_probes(target)
        if target.admin_view == "changelist":
            probes += date_lookup_probes(target)
        if target.admin_view in ("add", "change"):
            fields = admin_form_fields(target.model, target.name.split(":")[0])
            probes += field_probes(target, fields, per_field=target.admin_view == "change")
    return tuple(probes)


def bad_input_count() -> int:
    """How many bad inputs the catalogue sends (test_bad_input checks it sends exactly these)."""
    return len(plan())
