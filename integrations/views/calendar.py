"""Officers' calendar sync pages: the subscription feed and the connected CalDAV calendar.

`/staff/calendar/` is the signed-in member's own (any role with an officer profile; others are told they
have no diary), `/staff/officers/<id>/calendar/` an administrator's view of any officer's (404 for another
tenant's officer). Every change is a POST with CSRF and works without JavaScript; form errors re-render the
page with status 422 and an error summary. A new feed URL is shown once, in the response to the POST that
made it (never stored, never sent again, not cached).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import URLPattern, path, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from accounts.models import Officer, Role
from accounts.permissions import STAFF_ROLES, has_role, role_required
from bookings.access import access_officer
from bookings.selectors.diary import officer_for_user

from ..forms import ButtonForm, ConnectionForm, FeedOptionsForm
from ..models import ConnectionStatus
from ..selectors import calendar_settings
from ..services import (
    NotSyncing,
    connection_connect,
    connection_disconnect,
    connection_sync_now,
    feed_create,
    feed_revoke,
    feed_update_options,
)
from . import feed

TEMPLATE = "integrations/calendar.html"
OfficerView = Callable[..., HttpResponse]


def for_officer(view: OfficerView) -> Callable[..., HttpResponse]:
    """Finds whose calendar a URL is about: the member's own, or (administrators only) the officer named."""

    @wraps(view)
    def wrapped(request: HttpRequest, officer_id: int | None = None) -> HttpResponse:
        if officer_id is None:
            officer = officer_for_user(request.user)
            if officer is None:
                return render(request, "integrations/no_diary.html")
        else:
            if not has_role(request, Role.ADMINISTRATOR):
                raise PermissionDenied
            officer = access_officer(officer_id)
        return view(request, officer, officer_id is not None)

    return role_required(*STAFF_ROLES)(wrapped)


def link(name: str, officer: Officer, for_admin: bool) -> str:
    if for_admin:
        return reverse(f"integrations:officer-calendar{name}", args=[officer.pk])
    return reverse(f"integrations:calendar{name}")


def page(
    request: HttpRequest,
    officer: Officer,
    for_admin: bool,
    *,
    connection_form: ConnectionForm | None = None,
    new_feed_url: str = "",
    status: int = 200,
) -> HttpResponse:
    state = calendar_settings(officer, with_errors=has_role(request, Role.ADMINISTRATOR))
    feed_options = FeedOptionsForm(
        initial={
            "include_customer_names": state.feed.include_customer_names if state.feed else False,
            "include_absences": state.feed.include_absences if state.feed else False,
        }
    )
    context: dict[str, Any] = {
        "officer": officer,
        "own": officer.user_id == request.user.pk,
        "for_admin": for_admin,
        "state": state,
        "feed_form": feed_options,
        "connection_form": connection_form or ConnectionForm(),
        "new_feed_url": new_feed_url,
        "webcal_url": new_feed_url.replace("https://", "webcal://", 1).replace("http://", "webcal://", 1),
        "statuses": ConnectionStatus,
        "actions": {
            name.strip("-").replace("-", "_") or "page": link(name, officer, for_admin)
            for name in ("", "-feed", "-feed-revoke", "-feed-options", "-connect", "-disconnect", "-sync")
        },
    }
    response = render(request, TEMPLATE, context, status=status)
    if new_feed_url:
        add_never_cache_headers(response)  # the only time the URL is shown: no copy in any cache
    return response


def button(action: str) -> Callable[[OfficerView], OfficerView]:
    """The view runs only for the POST of its own button (the hidden `action` field): an empty or forged
    POST gets the page again with 422 and changes nothing."""

    def decorator(view: OfficerView) -> OfficerView:
        @wraps(view)
        def wrapped(request: HttpRequest, officer: Officer, for_admin: bool) -> HttpResponse:
            form = ButtonForm(request.POST)
            if form.is_valid() and form.cleaned_data["action"] == action:
                return view(request, officer, for_admin)
            messages.error(request, _("Nothing was changed: use the buttons on this page."))
            return page(request, officer, for_admin, status=422)

        return wrapped

    return decorator


def back(request: HttpRequest, officer: Officer, for_admin: bool, message: str) -> HttpResponse:
    messages.success(request, message)
    return HttpResponseRedirect(link("", officer, for_admin), status=303)


@require_GET
@for_officer
def calendar_page(request: HttpRequest, officer: Officer, for_admin: bool) -> HttpResponse:
    return page(request, officer, for_admin)


@require_POST
@for_officer
@button("feed")
def feed_make(request: HttpRequest, officer: Officer, for_admin: bool) -> HttpResponse:
    """Makes the feed, or resets it (new URL with the same options; the old URL stops working)."""
    live = calendar_settings(officer, with_errors=False).feed
    form = FeedOptionsForm(request.POST)
    form.is_valid()  # two checkboxes: always valid
    options = (
        {"include_customer_names": live.include_customer_names, "include_absences": live.include_absences}
        if live
        else {
            "include_customer_names": form.cleaned_data["include_customer_names"],
            "include_absences": form.cleaned_data["include_absences"],
        }
    )
    _, token = feed_create(officer=officer, actor=request.user, **options)
    url = request.build_absolute_uri(reverse("integrations:feed", args=[token]))
    return page(request, officer, for_admin, new_feed_url=url)


@require_POST
@for_officer
@button("feed-revoke")
def feed_stop(request: HttpRequest, officer: Officer, for_admin: bool) -> HttpResponse:
    live = calendar_settings(officer, with_errors=False).feed
    if live is None:
        return back(request, officer, for_admin, _("There is no subscription link to turn off."))
    feed_revoke(feed=live, actor=request.user)
    return back(
        request,
        officer,
        for_admin,
        _("The subscription link is turned off. Calendars using it stop updating."),
    )


@require_POST
@for_officer
def feed_options(request: HttpRequest, officer: Officer, for_admin: bool) -> HttpResponse:
    live = calendar_settings(officer, with_errors=False).feed
    form = FeedOptionsForm(request.POST)
    form.is_valid()
    if live is None:
        return back(request, officer, for_admin, _("Make a subscription link first."))
    feed_update_options(feed=live, actor=request.user, **form.cleaned_data)
    return back(
        request, officer, for_admin, _("Saved. Subscribed calendars show the change when they next refresh.")
    )


@require_POST
@for_officer
def connect(request: HttpRequest, officer: Officer, for_admin: bool) -> HttpResponse:
    form = ConnectionForm(request.POST)
    if form.is_valid():
        try:
            connection_connect(officer=officer, actor=request.user, **form.cleaned_data)
        except ValidationError as error:
            for field, problems in error.message_dict.items():
                form.add_error(field if field in form.fields else None, problems)
        else:
            return back(
                request, officer, for_admin, _("The calendar is connected. The first sync starts now.")
            )
    return page(request, officer, for_admin, connection_form=form, status=422)


@require_POST
@for_officer
@button("sync")
def sync_now(request: HttpRequest, officer: Officer, for_admin: bool) -> HttpResponse:
    connection = calendar_settings(officer, with_errors=False).connection
    if connection is None:
        return back(request, officer, for_admin, _("No calendar is connected."))
    try:
        started = connection_sync_now(connection=connection, actor=request.user)
    except NotSyncing:
        messages.error(request, _("This calendar is not syncing: connect it again with its details."))
        return HttpResponseRedirect(link("", officer, for_admin), status=303)
    if not started:
        return back(request, officer, for_admin, _("A sync was asked for a moment ago; it is on its way."))
    return back(
        request, officer, for_admin, _("Syncing now: bookings are sent and busy time is read in a moment.")
    )


@require_POST
@for_officer
@button("disconnect")
def disconnect(request: HttpRequest, officer: Officer, for_admin: bool) -> HttpResponse:
    connection = calendar_settings(officer, with_errors=False).connection
    if connection is None:
        return back(request, officer, for_admin, _("No calendar is connected."))
    connection_disconnect(connection=connection, actor=request.user)
    return back(request, officer, for_admin, _("The calendar is disconnected and its password forgotten."))


def _routes() -> list[URLPattern]:
    routes = []
    for suffix, view, name in (
        ("", calendar_page, ""),
        ("feed/", feed_make, "-feed"),
        ("feed/revoke/", feed_stop, "-feed-revoke"),
        ("feed/options/", feed_options, "-feed-options"),
        ("connection/", connect, "-connect"),
        ("connection/disconnect/", disconnect, "-disconnect"),
        ("connection/sync/", sync_now, "-sync"),
    ):
        routes += [
            path(f"staff/calendar/{suffix}", view, name=f"calendar{name}"),
            path(f"staff/officers/<int:officer_id>/calendar/{suffix}", view, name=f"officer-calendar{name}"),
        ]
    return routes


urls: list[URLPattern] = [*_routes(), *feed.urls]
