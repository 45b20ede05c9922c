"""The outbox: every message is a row written in the same transaction as its cause.

Notifications sit below bookings: they know contacts, channels and message kinds, never a booking. The
caller names what a message is about (`topic`, e.g. a booking reference) and whom (`recipient`, e.g.
`customer:42`) as plain strings it can search by, and gives each message a `dedupe_key` so queuing the same
message twice keeps one.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import TenantOwned


class MessageKind(models.TextChoices):
    CONFIRMATION = "confirmation", _("Confirmation")
    RESCHEDULED = "rescheduled", _("Change of time")
    CANCELLED = "cancelled", _("Cancellation")
    REMINDER = "reminder", _("Reminder")
    DISPLACED = "displaced", _("Needs a new time")


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Waiting to be sent")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")


class Message(TenantOwned):
    """One message to one address on one channel; the dispatcher sends pending ones exactly once."""

    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    to = models.CharField(max_length=254)
    topic = models.CharField(max_length=100, blank=True)
    recipient = models.CharField(max_length=100, blank=True)
    dedupe_key = models.CharField(max_length=200)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            models.Index(fields=["tenant", "status"]),
            models.Index(fields=["tenant", "topic"], name="notificatio_tenant__topic_idx"),
            models.Index(fields=["tenant", "recipient"], name="notificatio_tenant__recip_idx"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"], name="message_dedupe_key_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()} to {self.to}"
