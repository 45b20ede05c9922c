"""The outbox: every message to a customer is a row written in the same transaction as its cause."""

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
    """One message to one customer on one channel; the dispatcher sends pending ones exactly once."""

    booking = models.ForeignKey("bookings.Booking", on_delete=models.CASCADE, related_name="messages")
    customer = models.ForeignKey("bookings.Customer", on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    to = models.CharField(max_length=254)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["tenant", "status"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()} to {self.to}"
