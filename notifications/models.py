"""The outbox: every message is a row written in the same transaction as its cause.

Notifications sit below bookings: they know contacts, channels and message kinds, never a booking. The
caller names what a message is about (`topic`, e.g. a booking reference) and whom (`recipient`, e.g.
`customer:42`) as plain strings it can search by, gives each message a `dedupe_key` so queuing the same
message twice keeps one, and hands over the message's documented variables (`context`) and, for
appointments, its calendar invitation (`invite`) as plain data: the dispatcher renders them at send time
with the tenant's template for the kind, channel and language.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Tenant, TenantOwned


class MessageKind(models.TextChoices):
    CONFIRMATION = "confirmation", _("Confirmation")
    RESCHEDULED = "rescheduled", _("Change of time")
    CANCELLED = "cancelled", _("Cancellation")
    REMINDER = "reminder", _("Reminder")
    DISPLACED = "displaced", _("Needs a new time")
    FOLLOW_UP = "follow_up", _("Follow-up booked")
    SURVEY = "survey", _("Satisfaction survey")
    CODE = "code", _("One-time code")
    SYNC_STOPPED = "sync_stopped", _("Calendar sync stopped (to the officer)")


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("Text message")


class MessageStatus(models.TextChoices):
    PENDING = "pending", _("Queued")
    SENT = "sent", _("Sent")
    DELIVERED = "delivered", _("Delivered")
    BOUNCED = "bounced", _("Bounced")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Not sent: too late")


# Statuses after which a message will never be sent (again); PENDING is the only one the dispatcher takes.
UNREACHED = (MessageStatus.BOUNCED, MessageStatus.FAILED)


class Message(TenantOwned):
    """One message to one address on one channel; the dispatcher sends pending, due ones exactly once."""

    # The dedupe key's unique index leads with the tenant: the tenant needs no index of its own.
    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="message_set", editable=False, db_index=False
    )

    kind = models.CharField(max_length=20, choices=MessageKind.choices)
    channel = models.CharField(max_length=10, choices=MessageChannel.choices)
    to = models.CharField(max_length=254)
    language = models.CharField(max_length=10, choices=settings.LANGUAGES, default="en-gb")
    topic = models.CharField(max_length=100, blank=True)
    recipient = models.CharField(max_length=100, blank=True)
    dedupe_key = models.CharField(max_length=200)
    # The documented template variables (notifications.rendering.VARIABLES), as strings, fixed when queued.
    context = models.JSONField(default=dict, blank=True)
    # For appointments: uid, sequence, method (REQUEST/CANCEL), starts_at/ends_at (ISO, UTC), summary,
    # location, description. Emails carry it as a text/calendar part.
    invite = models.JSONField(null=True, blank=True)
    status = models.CharField(max_length=20, choices=MessageStatus.choices, default=MessageStatus.PENDING)
    status_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)
    # Not sent before `due_at` (reminders; the next try after a transient failure) nor after `expires_at`
    # (a reminder once the appointment has begun, a one-time code once it has lapsed).
    due_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=6)
    last_error = models.CharField(max_length=500, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_id = models.CharField(max_length=100, blank=True)
    segments = models.PositiveSmallIntegerField(null=True, blank=True)
    # Where to try instead when this channel fails for good (the customer's other chosen channel).
    fallback_channel = models.CharField(max_length=10, choices=MessageChannel.choices, blank=True)
    fallback_to = models.CharField(max_length=254, blank=True)
    fallback_of = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="fallbacks",
        editable=False,
        db_index=False,  # the partial index below: most messages are no fallback
    )

    class Meta:
        ordering = ["created_at", "pk"]
        # Sending rewrites a row (status, provider id), and every index on a changed row takes an entry:
        # partial indexes keep to the rows they serve, so sending touches as few as it can.
        indexes = [
            models.Index(
                fields=["tenant", "status_at"],
                name="message_unreached_idx",
                condition=models.Q(status__in=["bounced", "failed"]),
            ),
            models.Index(
                fields=["fallback_of"],
                name="message_fallback_of_idx",
                condition=models.Q(fallback_of__isnull=False),
            ),
            models.Index(fields=["tenant", "topic"], name="notificatio_tenant__topic_idx"),
            models.Index(fields=["tenant", "recipient"], name="notificatio_tenant__recip_idx"),
            models.Index(
                fields=["provider_id"], name="message_provider_id_idx", condition=~models.Q(provider_id="")
            ),
            # The reports' live day: today's messages by when they were queued (never changes once written,
            # so sending still updates rows without touching this index).
            models.Index(fields=["tenant", "created_at"], name="message_tenant_created_idx"),
            # The dispatcher's queue: only pending rows, by when they are due.
            models.Index(
                fields=["due_at"], name="message_pending_due_idx", condition=models.Q(status="pending")
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "dedupe_key"], name="message_dedupe_key_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} by {self.get_channel_display()} to {self.to}"


class MessageTemplate(TenantOwned):
    """A tenant's own wording for one kind of message on one channel in one language.

    Without one, the shipped default (templates/notifications/messages/) is used. Only the documented
    variables may appear; `notifications.rendering.template_errors` refuses anything else on save.
    """

    kind = models.CharField(_("message"), max_length=20, choices=MessageKind.choices)
    channel = models.CharField(_("channel"), max_length=10, choices=MessageChannel.choices)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="en-gb")
    subject = models.CharField(_("subject (email only)"), max_length=200, blank=True)
    body = models.TextField(_("text"), max_length=5000)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["kind", "channel", "language"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "kind", "channel", "language"], name="message_template_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} · {self.get_channel_display()} · {self.get_language_display()}"


class SmsOptOut(TenantOwned):
    """A mobile number that texted STOP to this tenant: no text messages go to it until it texts START."""

    number = models.CharField(max_length=20)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "number"], name="sms_opt_out_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return self.number
