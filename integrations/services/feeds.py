"""Officers' subscription feeds: made, reset, revoked and adjusted.

There is no audit table for officers' own settings (the audit models are bookings' and customers'), so
each change is logged as a structured record (`integrations.audit` logger) with actor, action and target.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import Officer, User

from ..feeds import new_token, token_digest
from ..models import CalendarFeed

audit = logging.getLogger("integrations.audit")

# A subscribed calendar polls often; when it last did is worth one write every few minutes, not each time.
FETCH_RECORD_INTERVAL = timedelta(minutes=5)


def _audit(action: str, *, feed: CalendarFeed, actor: User | None, **after: object) -> None:
    audit.info(
        "calendar feed %s",
        action,
        extra={
            "action": f"calendar_feed.{action}",
            "tenant_id": feed.tenant_id,
            "officer_id": feed.officer_id,
            "feed_id": feed.pk,
            "actor_id": actor.pk if actor else None,
            "after": after,
        },
    )


@transaction.atomic
def feed_create(
    *,
    officer: Officer,
    actor: User | None,
    include_customer_names: bool = False,
    include_absences: bool = False,
    now: datetime | None = None,
) -> tuple[CalendarFeed, str]:
    """A new feed for the officer and its token (returned once: only its hash is kept). The officer's live
    feed, if any, is revoked in the same transaction, so its URL stops working as this one starts."""
    now = now or timezone.now()
    # The officer's row is the lock: two requests at once make one feed each in turn, never two live ones.
    Officer.objects.select_for_update().filter(pk=officer.pk).first()
    live = CalendarFeed.objects.live().filter(officer=officer).first()
    if live is not None:
        feed_revoke(feed=live, actor=actor, now=now)
    token = new_token()
    feed = CalendarFeed.objects.create(
        tenant_id=officer.tenant_id,
        officer=officer,
        token_hash=token_digest(token),
        include_customer_names=include_customer_names,
        include_absences=include_absences,
        created_by=actor,
        created_at=now,
    )
    _audit(
        "reset" if live else "created",
        feed=feed,
        actor=actor,
        include_customer_names=include_customer_names,
        include_absences=include_absences,
    )
    return feed, token


@transaction.atomic
def feed_revoke(*, feed: CalendarFeed, actor: User | None, now: datetime | None = None) -> CalendarFeed:
    """The feed's URL answers 404 from now on. Revoking a revoked feed changes nothing."""
    now = now or timezone.now()
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    if feed.revoked_at is None:
        feed.revoked_at = now
        feed.save(update_fields=["revoked_at"])
        _audit("revoked", feed=feed, actor=actor)
    return feed


@transaction.atomic
def feed_update_options(
    *,
    feed: CalendarFeed,
    include_customer_names: bool,
    include_absences: bool,
    actor: User | None,
    now: datetime | None = None,
) -> CalendarFeed:
    """What the feed shows; the URL stays the same, so subscribers see the change at their next refresh."""
    feed = CalendarFeed.objects.select_for_update().get(pk=feed.pk)
    before = {
        "include_customer_names": feed.include_customer_names,
        "include_absences": feed.include_absences,
    }
    after = {"include_customer_names": include_customer_names, "include_absences": include_absences}
    if before != after:
        feed.include_customer_names = include_customer_names
        feed.include_absences = include_absences
        feed.save(update_fields=["include_customer_names", "include_absences"])
        _audit("options_changed", feed=feed, actor=actor, **after)
    return feed


def feed_fetched(*, feed: CalendarFeed, now: datetime | None = None) -> None:
    """Notes that the feed was fetched, at most once per FETCH_RECORD_INTERVAL (a single UPDATE, no lock:
    two polls at once may both write, which is harmless)."""
    now = now or timezone.now()
    if feed.last_fetched_at is not None and now - feed.last_fetched_at < FETCH_RECORD_INTERVAL:
        return
    CalendarFeed.objects.filter(pk=feed.pk).update(last_fetched_at=now)
    feed.last_fetched_at = now
