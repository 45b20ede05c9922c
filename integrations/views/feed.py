"""The officer's subscription feed, `/calendar/<token>.ics`: no sign-in, the token is the key.

A malformed, unknown or revoked token (or another tenant's, on this host) is the ordinary 404 page, with
no hint of which. Fetches are rate-limited per client address (FEED_RATE, 429 saying when to retry).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import path
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_safe

from bookings.views.portal import rate_limited

from ..feeds import officer_calendar
from ..selectors import feed_absences, feed_bookings, feed_for_token
from ..services import feed_fetched

# Calendar apps may keep a copy this long; the feed is private to whoever holds the URL.
MAX_AGE_SECONDS = 300


@require_safe
@rate_limited("FEED_RATE", method="GET")
def officer_feed(request: HttpRequest, token: str) -> HttpResponse:
    feed = feed_for_token(token)
    if feed is None:
        raise Http404
    now = timezone.now()
    since = now - timedelta(days=settings.FEED_PAST_DAYS)
    zone = request.tenant.zone
    officer = feed.officer
    body = officer_calendar(
        name=f"{officer.user.full_name} – {request.tenant.name}",
        bookings=feed_bookings(officer, since=since),
        absences=feed_absences(officer, since=since) if feed.include_absences else (),
        since=since.astimezone(zone).date(),
        zone=zone,
        with_customer_names=feed.include_customer_names,
        stamp=now,
    )
    feed_fetched(feed=feed, now=now)
    response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="calendar.ics"'
    response["X-Robots-Tag"] = "noindex"
    patch_cache_control(response, private=True, max_age=MAX_AGE_SECONDS)
    return response


urls = [path("calendar/<str:token>.ics", officer_feed, name="feed")]
