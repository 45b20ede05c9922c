"""Tenant admin for calendar sync: each officer's connection and its state, and the errors syncs met.

Connections are made and changed on the officers' calendar pages (the password is typed there and stored
encrypted; it is never shown anywhere), so here they are read-only, with "Sync now" for a connection an
administrator has just seen fail. Sync errors are the record of failed attempts, open until one succeeds.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db import models, transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import ReadOnlyMixin, TenantModelAdmin, tenant_admin_site

from .models import CalendarConnection, ConnectionStatus, SyncError


class OpenErrorFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "open"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("yes", _("Open")), ("no", _("Cleared by a later sync"))]

    def queryset(
        self, request: HttpRequest, queryset: models.QuerySet[SyncError]
    ) -> models.QuerySet[SyncError]:
        if self.value() == "yes":
            return queryset.filter(cleared_at__isnull=True)
        if self.value() == "no":
            return queryset.filter(cleared_at__isnull=False)
        return queryset


@admin.register(CalendarConnection, site=tenant_admin_site)
class CalendarConnectionAdmin(ReadOnlyMixin, TenantModelAdmin):
    list_display = [
        "officer",
        "status",
        "url",
        "failure_count",
        "last_error",
        "last_pushed_at",
        "last_pulled_at",
    ]
    list_filter = ["status"]
    list_select_related = ["officer__user"]
    search_fields = ["officer__user__full_name", "url", "username"]
    fields = [
        "officer",
        "url",
        "username",
        "status",
        "failure_count",
        "last_error",
        "last_pushed_at",
        "last_pulled_at",
        "created_by",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    actions = ["sync_now"]

    @admin.action(description=_("Sync now"))
    def sync_now(self, request: HttpRequest, queryset: models.QuerySet[CalendarConnection]) -> None:
        from .tasks import connection_sync

        ids = list(
            queryset.filter(status__in=[ConnectionStatus.ACTIVE, ConnectionStatus.FAILING]).values_list(
                "pk", flat=True
            )
        )
        for connection_id in ids:
            transaction.on_commit(lambda pk=connection_id: connection_sync.apply_async(args=[pk]))
        self.message_user(
            request,
            ngettext(
                "Sync started for %(count)d calendar.", "Sync started for %(count)d calendars.", len(ids)
            )
            % {"count": len(ids)},
            messages.SUCCESS,
        )
        if skipped := queryset.count() - len(ids):
            self.message_user(
                request,
                ngettext(
                    "%(count)d calendar was not synced: its sign-in was rejected or it is "
                    "disconnected, so the officer must enter its details again.",
                    "%(count)d calendars were not synced: their sign-in was rejected or they are "
                    "disconnected, so the officers must enter their details again.",
                    skipped,
                )
                % {"count": skipped},
                messages.WARNING,
            )


@admin.register(SyncError, site=tenant_admin_site)
class SyncErrorAdmin(ReadOnlyMixin, TenantModelAdmin):
    list_display = ["occurred_at", "connection", "direction", "message", "cleared_at"]
    list_filter = [OpenErrorFilter, "direction"]
    list_select_related = ["connection__officer__user"]
    search_fields = ["message", "connection__officer__user__full_name"]
    date_hierarchy = "occurred_at"
