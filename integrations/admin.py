"""Tenant admin for calendar sync and the gazetteer.

Calendar sync: each officer's connection and its state, and the errors syncs met.

Connections are made and changed on the officers' calendar pages (the password is typed there and stored
encrypted; it is never shown anywhere), so here they are read-only, with "Sync now" for a connection an
administrator has just seen fail. Sync errors are the record of failed attempts, open until one succeeds.

The gazetteer: the places (postcodes, addresses) the default geocoder knows, edited one by one or imported
from CSV ("Import CSV" on the list: all rows or none).
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from accounts.admin import ReadOnlyMixin, TenantAdminForm, TenantModelAdmin, tenant_admin_site

from .geocoding import normalise_key
from .models import CalendarConnection, ConnectionStatus, GazetteerEntry, SyncError
from .services import GazetteerImportError, gazetteer_import


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


class GazetteerEntryForm(TenantAdminForm):
    """The place as written is the label; its key (what lookups match) is the label normalised."""

    latitude = forms.FloatField(label=_("latitude"), min_value=-90, max_value=90)
    longitude = forms.FloatField(label=_("longitude"), min_value=-180, max_value=180)

    class Meta:
        model = GazetteerEntry
        fields = ["label", "latitude", "longitude"]
        labels = {"label": _("postcode or address")}

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        label = cleaned.get("label")
        if label is None:
            return cleaned
        key = normalise_key(label)
        if not key:
            self.add_error("label", _("Enter a postcode or an address."))
            return cleaned
        clash = GazetteerEntry.objects.filter(key=key).exclude(pk=self.instance.pk).first()
        if clash is not None:
            self.add_error(
                "label", _("The gazetteer already has this place, as “%(label)s”.") % {"label": clash.label}
            )
        self.instance.key = key
        return cleaned


class GazetteerImportForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "A header row naming the columns key (or postcode, or address), latitude, longitude and, "
            "optionally, label; then one place a row. UTF-8."
        ),
    )
    replace = forms.BooleanField(
        label=_("Replace everything"),
        required=False,
        help_text=_("Remove the places the file does not name. Without this, the file adds and corrects."),
    )


@admin.register(GazetteerEntry, site=tenant_admin_site)
class GazetteerEntryAdmin(TenantModelAdmin):
    form = GazetteerEntryForm
    list_display = ["label", "latitude", "longitude"]
    search_fields = ["label", "key"]
    readonly_fields = ["key"]
    change_list_template = "admin/integrations/gazetteerentry/change_list.html"

    def get_fields(self, request: HttpRequest, obj: GazetteerEntry | None = None) -> list[str]:
        return ["label", "latitude", "longitude"] + (["key"] if obj else [])

    def get_search_results(
        self, request: HttpRequest, queryset: models.QuerySet[GazetteerEntry], search_term: str
    ) -> tuple[models.QuerySet[GazetteerEntry], bool]:
        # "NS1 2AB" finds the entry keyed ns12ab whichever way it was typed.
        found, duplicates = super().get_search_results(request, queryset, search_term)
        if key := normalise_key(search_term):
            found |= queryset.filter(key__startswith=key)
        return found, duplicates

    def get_urls(self) -> list[URLPattern]:
        name = f"{self.opts.app_label}_{self.opts.model_name}_import"
        return [path("import/", self.admin_site.admin_view(self.import_view), name=name), *super().get_urls()]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = GazetteerImportForm(request.POST or None, request.FILES or None)
        problem: GazetteerImportError | None = None
        if request.method == "POST" and form.is_valid():
            replace = form.cleaned_data["replace"]
            if replace and not self.has_delete_permission(request):
                raise PermissionDenied
            try:
                result = gazetteer_import(
                    tenant=request.tenant, file=form.cleaned_data["file"], actor=request.user, replace=replace
                )
            except GazetteerImportError as error:
                problem = error
            else:
                self.message_user(
                    request,
                    _(
                        "Imported %(rows)d places: %(created)d added, %(updated)d changed, "
                        "%(unchanged)d unchanged, %(deleted)d removed."
                    )
                    % vars(result),
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("tenant_admin:integrations_gazetteerentry_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Import places from CSV"),
            "form": form,
            "problem": problem,
            "more_errors": problem.count - len(problem.errors) if problem else 0,
        }
        status = 400 if problem or form.errors else 200
        return TemplateResponse(
            request, "admin/integrations/gazetteerentry/import.html", context, status=status
        )
