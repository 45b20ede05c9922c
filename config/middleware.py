"""Request hygiene: input that no page can use is refused here, once, before any view or query sees it.

- Methods: pages take GET, HEAD and POST, and OPTIONS, which is answered here with the methods the view
  allows; anything else is 405 with an `Allow` header. Paths under `settings.API_PATH_PREFIXES` (a REST
  API) own their methods, so PUT, PATCH and DELETE pass through to them.
- Control characters (C0 except tab, CR and LF) in the path, a query or form parameter's name or value, an
  uploaded file's name, or a header: PostgreSQL refuses NUL in text, and no person types the others. 400.
- Dates outside YEARS, where Python's calendar ends (9999) or begins (1) close enough that "the year
  after" or a time-zone shift overflows: in a query's date lookups (`?starts_at__year=`, `?date__gte=`:
  the admin's filters and date hierarchies), or as the whole of a form value typed into a date field
  (`31/12/9999`, `0001-01-01 00:00`). 400. The portal's own values are its own to answer: a bare `?week=`
  (this week's slots and a message) and a slot's instant (`bookings.forms.parse_start`).
- A form too large to read (DATA_UPLOAD_MAX_MEMORY_SIZE, DATA_UPLOAD_MAX_NUMBER_FIELDS) or malformed:
  413 or 400 here, rather than an exception wherever the form is first read.

It knows no tenant and no feature. It runs after the tenant and language are chosen only so that its pages
look like the rest of the site; it renders them without the request, whose session and user it never
reaches.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.http.multipartparser import MultiPartParserError
from django.template.loader import render_to_string
from django.urls import Resolver404, resolve
from django.utils.translation import gettext as _

PAGE_METHODS = ("GET", "HEAD", "POST", "OPTIONS")
# Tab, CR and LF are ordinary in a textarea; every other C0 control character is not text.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# Every real record lies well inside these years, and they stay far enough from Python's year 1 and 9999
# that the admin's "to the end of that year" arithmetic and any time-zone shift cannot overflow.
YEARS = range(1000, 9000)
# The date-part lookups Django reads from a query string, and the values each can take.
DATE_PARTS = {
    "year": YEARS,
    "iso_year": YEARS,
    "quarter": range(1, 5),
    "month": range(1, 13),
    "week": range(1, 54),
    "day": range(1, 32),
    "week_day": range(1, 8),
    "iso_week_day": range(1, 8),
    "hour": range(24),
    "minute": range(60),
    "second": range(60),
}
DIGITS = re.compile(r"[0-9]+")
# A date inside a lookup's value (`2027-03-01`, `0001-01-01 00:00+05:00`, `a,b` ranges): its year.
DATE_IN_VALUE = re.compile(r"(?<![0-9])([0-9]+)-[0-9]{1,2}-[0-9]{1,2}")
# A form value that is a calendar date and nothing else, as people type one into a date field (ISO or
# day/month/year, perhaps with a time of day): its year. An instant with an offset (`...T10:00:00+01:00`)
# is a machine's value for its own form to read, as the portal's slot buttons send.
DATE_VALUE = re.compile(
    r"\s*(?:([0-9]{3,})-[0-9]{1,2}-[0-9]{1,2}|[0-9]{1,2}/[0-9]{1,2}/([0-9]{3,}))"
    r"(?: +[0-9]{1,2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?)?\s*"
)


class RequestHygieneMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return refusal(request) or self.get_response(request)


def refusal(request: HttpRequest) -> HttpResponse | None:
    if not request.path.startswith(tuple(settings.API_PATH_PREFIXES)) and request.method != "GET":
        allowed = methods_allowed_at(request)
        if allowed is not None and request.method not in PAGE_METHODS:
            return method_not_allowed(request, allowed)
        if allowed is not None and request.method == "OPTIONS":
            return options(allowed)
    try:
        if has_control_characters(request):
            return bad_request(
                request,
                _(
                    "The web address or the form contained characters that cannot be used, such as "
                    "invisible control characters. Check what you typed or pasted, then try again."
                ),
            )
        if has_date_out_of_range(request):
            return bad_request(
                request,
                _("Dates must be between the years %(first)s and %(last)s. Check the dates, then try again.")
                % {"first": YEARS.start, "last": YEARS.stop - 1},
            )
    except RequestDataTooBig:
        return bad_request(
            request,
            _("The form sent more than this service accepts at once. Send less, then try again."),
            status=413,
        )
    except (SuspiciousOperation, MultiPartParserError):
        return bad_request(request, _("The form could not be read. Try again."))
    return None


# --- what is refused ---------------------------------------------------------------------------------


def _form(request: HttpRequest) -> Iterable[tuple[str, list[str]]]:
    # Only a POST's body is a form Django reads; anything else's body is the view's own business.
    return request.POST.lists() if request.method == "POST" else ()


def has_control_characters(request: HttpRequest) -> bool:
    """In the path, a header, a query or form parameter's name or value, or an uploaded file's name."""

    def texts() -> Iterable[str]:
        yield request.path
        for key, value in request.META.items():
            if (key.startswith("HTTP_") or key == "CONTENT_TYPE") and isinstance(value, str):
                yield value
        for key, values in (*request.GET.lists(), *_form(request)):
            yield key
            yield from values
        if request.method == "POST":
            for key, files in request.FILES.lists():
                yield key
                yield from (upload.name or "" for upload in files)

    return any(CONTROL_CHARACTERS.search(text) for text in texts())


def has_date_out_of_range(request: HttpRequest) -> bool:
    """A query's date lookup (`field__year=`, `field__gte=` ...) or a form value that is a date, whose year
    is outside YEARS or whose date part (a month, a day ...) is not a number it can be."""
    for key, values in request.GET.lists():
        lookups = key.split("__")[1:]
        part = next((lookup for lookup in lookups if lookup in DATE_PARTS), None)
        for value in values if lookups else ():
            if part is not None:  # `field__year=`, and the lists of `field__year__in=`
                if not all(_number_in(item.strip(), DATE_PARTS[part]) for item in value.split(",")):
                    return True
            elif not all(_number_in(year, YEARS) for year in DATE_IN_VALUE.findall(value)):
                return True
    for _key, values in _form(request):
        for value in values:
            if (date := DATE_VALUE.fullmatch(value)) and not _number_in(date[1] or date[2], YEARS):
                return True
    return False


def _number_in(text: str, allowed: range) -> bool:
    # The length goes first: Python refuses to read integers of thousands of digits.
    return DIGITS.fullmatch(text) is not None and len(text) <= 6 and int(text) in allowed


# --- methods -----------------------------------------------------------------------------------------


def methods_allowed_at(request: HttpRequest) -> tuple[str, ...] | None:
    """The page methods the view at this path accepts; None when no view is there (the 404 answers)."""
    try:
        match = resolve(request.path_info, urlconf=getattr(request, "urlconf", None))
    except Resolver404:
        return None
    return methods_allowed_by(match.func)


@lru_cache(maxsize=1024)
def methods_allowed_by(view: Callable[..., Any]) -> tuple[str, ...]:
    view_class = getattr(view, "view_class", None)
    if view_class is not None:
        declared = {m.upper() for m in view_class.http_method_names if hasattr(view_class, m)}
        if "GET" in declared:
            declared.add("HEAD")  # as View.setup() does
    else:
        declared = _declared_by_decorator(view) or set(PAGE_METHODS)
    declared.add("OPTIONS")  # answered here
    return tuple(m for m in PAGE_METHODS if m in declared)


def _declared_by_decorator(view: Callable[..., Any]) -> set[str] | None:
    """The list given to `require_http_methods` (and so `require_POST` ...) anywhere in the view's chain of
    decorators, read from that decorator's closure: Django keeps it nowhere else."""
    func: Any = view
    while func is not None:
        code = getattr(func, "__code__", None)
        if code is not None and "request_method_list" in code.co_freevars:
            cell = func.__closure__[code.co_freevars.index("request_method_list")]
            return {m.upper() for m in cell.cell_contents}
        func = getattr(func, "__wrapped__", None)
    return None


# --- answers -----------------------------------------------------------------------------------------


def _page(request: HttpRequest, template: str, context: dict[str, Any]) -> str:
    # Without the request: its context processors would read the session and the signed-in user, which
    # what is refused here must not reach (and which the middleware after this one has not yet set up).
    return render_to_string(template, {"tenant": getattr(request, "tenant", None), **context})


def bad_request(request: HttpRequest, problem: str, status: int = 400) -> HttpResponse:
    return HttpResponse(_page(request, "400.html", {"problem": problem}), status=status)


def method_not_allowed(request: HttpRequest, allowed: tuple[str, ...]) -> HttpResponse:
    return HttpResponseNotAllowed(
        allowed, content=_page(request, "405.html", {"method": request.method, "allowed": allowed})
    )


def options(allowed: tuple[str, ...]) -> HttpResponse:
    response = HttpResponse()
    response["Allow"] = ", ".join(allowed)
    response["Content-Length"] = "0"
    return response
