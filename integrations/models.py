"""Officers' own calendars: feeds we serve, and CalDAV calendars we push to and read busy time from."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

from accounts.models import Officer, TenantOwned
from bookings.models import Booking


class CalendarFeedQuerySet(models.QuerySet["CalendarFeed"]):
    def live(self) -> CalendarFeedQuerySet:
        return self.filter(revoked_at__isnull=True)


class CalendarFeed(TenantOwned):
    """A private iCalendar subscription URL for one officer's diary.

    Only a hash of the URL's random token is stored: the URL is shown once, when made, and a lost one is
    replaced (which revokes the old). A revoked feed answers 404 like a token that never existed.
    """

    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, related_name="calendar_feeds")
    token_hash = models.CharField(max_length=64, editable=False)
    include_customer_names = models.BooleanField(
        _("show customers' names"),
        default=False,
        help_text=_("Off: events say only the appointment type and reference."),
    )
    include_absences = models.BooleanField(_("include absences"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_fetched_at = models.DateTimeField(null=True, blank=True)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(CalendarFeedQuerySet)
    )

    class Meta:
        verbose_name = _("calendar feed")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "token_hash"], name="calendar_feed_token_unique"),
            models.UniqueConstraint(
                fields=["tenant", "officer"],
                condition=Q(revoked_at__isnull=True),
                name="calendar_feed_one_live_per_officer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.officer}"


class ConnectionStatus(models.TextChoices):
    ACTIVE = "active", _("Working")
    FAILING = "failing", _("Failing, retrying")
    REJECTED = "rejected", _("Sign-in rejected: sync stopped")
    DISCONNECTED = "disconnected", _("Disconnected")


class CalendarConnectionQuerySet(models.QuerySet["CalendarConnection"]):
    def syncing(self) -> CalendarConnectionQuerySet:
        return self.filter(status__in=[ConnectionStatus.ACTIVE, ConnectionStatus.FAILING])


class CalendarConnection(TenantOwned):
    """An officer's CalDAV calendar: bookings are pushed to it and its events read back as busy time.

    The password is kept encrypted (Fernet, key from settings); a rejected sign-in stops the sync until
    someone enters new details.
    """

    officer = models.ForeignKey(Officer, on_delete=models.CASCADE, related_name="calendar_connections")
    url = models.URLField(_("calendar URL"), max_length=500)
    username = models.CharField(_("user name"), max_length=200)
    password_encrypted = models.TextField(editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=ConnectionStatus.choices, default=ConnectionStatus.ACTIVE
    )
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    failure_count = models.PositiveIntegerField(default=0)
    last_pushed_at = models.DateTimeField(_("last pushed"), null=True, blank=True)
    last_pulled_at = models.DateTimeField(_("last read"), null=True, blank=True)
    sync_requested_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    objects = ScopedManager(
        tenant="tenant", _manager_class=models.Manager.from_queryset(CalendarConnectionQuerySet)
    )

    class Meta:
        verbose_name = _("calendar connection")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "officer"],
                condition=~Q(status="disconnected"),
                name="calendar_connection_one_per_officer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.officer}: {self.url}"


class SyncedEvent(TenantOwned):
    """An event we have put on a connected calendar, as we last wrote it (to know what to move or delete)."""

    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="synced_events")
    booking = models.ForeignKey(Booking, on_delete=models.CASCADE, related_name="+")
    uid = models.CharField(max_length=255)
    sequence = models.PositiveIntegerField()
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    synced_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "connection", "uid"], name="synced_event_unique_uid"),
        ]

    def __str__(self) -> str:
        return self.uid


class SyncDirection(models.TextChoices):
    PUSH = "push", _("Sending bookings")
    PULL = "pull", _("Reading busy time")


class SyncErrorQuerySet(models.QuerySet["SyncError"]):
    def open(self) -> SyncErrorQuerySet:
        return self.filter(cleared_at__isnull=True)


class SyncError(TenantOwned):
    """A failed sync attempt, shown to administrators until a later attempt succeeds."""

    connection = models.ForeignKey(CalendarConnection, on_delete=models.CASCADE, related_name="errors")
    direction = models.CharField(_("direction"), max_length=10, choices=SyncDirection.choices)
    message = models.CharField(_("message"), max_length=500)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    cleared_at = models.DateTimeField(_("cleared"), null=True, blank=True)

    objects = ScopedManager(tenant="tenant", _manager_class=models.Manager.from_queryset(SyncErrorQuerySet))

    class Meta:
        verbose_name = _("sync error")
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["tenant", "occurred_at"])]

    def __str__(self) -> str:
        return self.message


class GazetteerEntry(TenantOwned):
    """One place the tenant's gazetteer knows: a postcode or an address (`key`, normalised by
    `integrations.geocoding.normalise_key`) and its coordinates. Imported from CSV in the admin or by
    `manage.py import_gazetteer`; the default geocoder reads only this table, so it works offline."""

    key = models.CharField(max_length=300)
    label = models.CharField(_("place"), max_length=300)
    latitude = models.FloatField(_("latitude"))
    longitude = models.FloatField(_("longitude"))

    class Meta:
        ordering = ["key"]
        verbose_name_plural = _("gazetteer entries")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="gazetteer_key_unique_per_tenant"),
            models.CheckConstraint(
                condition=Q(latitude__range=(-90, 90), longitude__range=(-180, 180)), name="gazetteer_point"
            ),
        ]

    def __str__(self) -> str:
        return self.label
