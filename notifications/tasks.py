"""Thin Celery wrappers around the dispatcher: the fast path for one message and the sweep for the rest."""

from __future__ import annotations

from celery import shared_task

from .dispatch import message_deliver, outbox_drain


@shared_task(name="notifications.message_send")
def message_send(message_id: int) -> str:
    """Sends one message as soon as its cause commits. If this task is lost (Redis restarted, worker
    killed), the sweep sends the message; if it runs twice, the second finds it sent."""
    return message_deliver(message_id)


@shared_task(name="notifications.outbox_drain")
def outbox_drain_task(seconds: float = 50.0, limit: int = 10_000) -> int:
    """The beat sweep: everything due (reminders), retried after a failure, or left by a crash."""
    return outbox_drain(seconds=seconds, limit=limit)
