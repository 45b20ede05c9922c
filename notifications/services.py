"""Writes for notifications: queuing what is to be sent, inside the caller's transaction."""

from __future__ import annotations

from datetime import datetime

from django.utils import timezone

from .models import Message


def message_queue(
    *,
    tenant_id: int,
    kind: str,
    channel: str,
    to: str,
    dedupe_key: str,
    topic: str = "",
    recipient: str = "",
    now: datetime | None = None,
) -> Message:
    """Queues one message in the caller's transaction, so it exists exactly when its cause does.

    Queuing the same `dedupe_key` again returns the message already queued: a retried change never
    sends twice.
    """
    message, _created = Message.objects.get_or_create(
        tenant_id=tenant_id,
        dedupe_key=dedupe_key,
        defaults={
            "kind": kind,
            "channel": channel,
            "to": to,
            "topic": topic,
            "recipient": recipient,
            "created_at": now or timezone.now(),
        },
    )
    return message
