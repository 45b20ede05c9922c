"""What staff see of the messages sent to customers: each customer's history, and who could not be reached.

Messages name their customer as `recipient` ("customer:<id>") and their booking as `topic`
("booking:<reference>"), plain strings the notifications layer can search by without knowing bookings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q, QuerySet

from bookings.models import Customer
from notifications.models import UNREACHED, Message

UNREACHABLE_DAYS = 30


def customer_messages(customer: Customer, *, references: list[str], limit: int = 100) -> list[Message]:
    """The customer's communication history, newest first: everything addressed to them, and everything
    about their bookings (a merged customer's bookings keep the messages sent to the record merged away)."""
    topics = [f"booking:{reference}" for reference in references]
    return list(
        Message.objects.filter(Q(recipient=f"customer:{customer.pk}") | Q(topic__in=topics))
        .select_related("fallback_of")
        .prefetch_related("fallbacks")
        .order_by("-created_at", "-pk")[:limit]
    )


@dataclass(frozen=True)
class Unreached:
    """A message that bounced or failed, with the customer it was for (None if the record is gone)."""

    message: Message
    customer: Customer | None

    @property
    def reference(self) -> str:
        return self.message.topic.removeprefix("booking:")

    @property
    def fallback(self) -> Message | None:
        """The same message on the other channel, if one was queued."""
        fallbacks = list(self.message.fallbacks.all())
        return fallbacks[0] if fallbacks else None


def unreachable_messages(*, now: datetime) -> QuerySet[Message]:
    """Messages that bounced or failed in the last UNREACHABLE_DAYS, newest first."""
    return (
        Message.objects.filter(status__in=UNREACHED, status_at__gte=now - timedelta(days=UNREACHABLE_DAYS))
        .select_related("fallback_of")
        .prefetch_related("fallbacks")
        .order_by("-status_at", "-pk")
    )


def unreached_with_customers(messages: list[Message]) -> list[Unreached]:
    """Pairs each message with its customer, in one query for the lot."""
    ids = {_customer_id(m.recipient) for m in messages} - {None}
    customers = Customer.objects.in_bulk(ids)
    return [Unreached(m, customers.get(_customer_id(m.recipient))) for m in messages]


def _customer_id(recipient: str) -> int | None:
    prefix, _sep, value = recipient.partition(":")
    return int(value) if prefix == "customer" and value.isdigit() and len(value) < 12 else None
