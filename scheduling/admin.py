"""Tenant admin for scheduling configuration: what can be booked, and the supply of officer and room time.

Querysets and foreign-key choices are narrowed to the tenant by the scope the middleware entered; the
forms below add the friendly messages for rules the database also enforces (one owner per pattern,
patterns that do not overlap, intervals that end after they start).
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, time
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import admin
from django.db import models
from django.forms.models import BaseInlineFormSet
from django.http import HttpRequest
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from accounts.admin import OfficerAdmin as BaseOfficerAdmin
from accounts.admin import ReadOnlyMixin, TenantAdminForm, TenantInline, TenantModelAdmin, tenant_admin_site
from accounts.models import Officer

from .locations import geocoder
from .models import (
    Absence,
    AppointmentType,
    Category,
    ExternalBusy,
    Holiday,
    Question,
    Resource,
    ResourceRequirement,
    ServiceBlock,
    ServiceBlockAppointmentType,
    ServiceBlockOfficer,
    StaffingRequirement,
    Weekday,
    WorkingInterval,
    WorkingPattern,
)


class OfficerChoicesMixin:
    """Officer choices and filters name the officer's user: fetch them in the same query, not one each."""

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.related_model is Officer:
            kwargs["queryset"] = Officer.objects.select_related("user")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]

    def formfield_for_manytomany(
        self, db_field: models.ManyToManyField, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.related_model is Officer:
            kwargs["queryset"] = Officer.objects.select_related("user")
        return super().formfield_for_manytomany(db_field, request, **kwargs)  # type: ignore[misc]


class OfficerListFilter(admin.RelatedFieldListFilter):
    def field_choices(self, field: models.Field, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        return [(o.pk, str(o)) for o in Officer.objects.select_related("user").order_by("user__full_name")]


def _one_owner_errors(form: forms.ModelForm, cleaned: dict[str, Any], what: str) -> None:
    """Patterns and absences belong to exactly one officer or one resource."""
    officer, resource = cleaned.get("officer"), cleaned.get("resource")
    if "officer" in form.errors or "resource" in form.errors:
        return
    if officer and resource:
        message = _("Choose an officer or a resource, not both: a %(what)s belongs to one.")
        form.add_error("resource", message % {"what": what})
    elif not officer and not resource:
        message = _("Choose the officer or the resource this %(what)s is for.")
        form.add_error("officer", message % {"what": what})


class PlaceFieldsMixin:
    """Places typed by name: a label given without coordinates is looked up with the geocoder settings
    choose (the tenant's gazetteer by default), and one it does not know is a form error asking for the
    coordinates; coordinates typed by hand are kept as they are."""

    place_fields: list[tuple[str, str, str]] = []  # (label, latitude, longitude) field names

    def _clean_places(self, cleaned: dict[str, Any]) -> None:
        form: forms.ModelForm = self  # type: ignore[assignment]
        for label_field, lat_field, lon_field in self.place_fields:
            if {label_field, lat_field, lon_field} & set(form.errors):
                continue
            label = (cleaned.get(label_field) or "").strip()
            latitude, longitude = cleaned.get(lat_field), cleaned.get(lon_field)
            if (latitude is None) != (longitude is None):
                missing = lat_field if latitude is None else lon_field
                form.add_error(missing, _("Enter both the latitude and the longitude, or neither."))
                continue
            # A new label with the old coordinates left alone names another place: look it up again.
            relabelled = label_field in form.changed_data and not {lat_field, lon_field} & set(
                form.changed_data
            )
            if not label or (latitude is not None and not relabelled):
                continue
            place = geocoder().geocode(tenant_id=form.instance.tenant_id, query=label)
            if place is None:
                form.add_error(
                    label_field,
                    _(
                        "“%(place)s” is not a place we know. Check the postcode or address, or enter its "
                        "latitude and longitude."
                    )
                    % {"place": label},
                )
                continue
            cleaned[lat_field] = self._coordinate(lat_field, place.point.latitude)
            cleaned[lon_field] = self._coordinate(lon_field, place.point.longitude)

    def _coordinate(self, name: str, value: float) -> float | Decimal:
        field = self._meta.model._meta.get_field(name)  # type: ignore[attr-defined]
        if isinstance(field, models.DecimalField):
            return Decimal(str(round(value, field.decimal_places)))
        return value


class OfficerForm(PlaceFieldsMixin, TenantAdminForm):
    place_fields = [("home_base", "home_latitude", "home_longitude")]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        self._clean_places(cleaned)
        return cleaned


# The officer admin lives with accounts, which cannot reach the geocoder (a higher layer chooses it): the
# same admin is registered again here with the home base looked up.
tenant_admin_site.unregister(Officer)


@admin.register(Officer, site=tenant_admin_site)
class OfficerAdmin(BaseOfficerAdmin):
    form = OfficerForm


# --- appointment types ---------------------------------------------------------------------------------


@admin.register(Category, site=tenant_admin_site)
class CategoryAdmin(TenantModelAdmin):
    list_display = ["name", "position"]
    list_editable = ["position"]
    search_fields = ["name"]


@admin.register(Resource, site=tenant_admin_site)
class ResourceAdmin(TenantModelAdmin):
    list_display = ["name", "kind", "is_active"]
    list_filter = ["kind", "is_active"]
    search_fields = ["name"]


class StaffingRequirementInline(TenantInline):
    model = StaffingRequirement
    fields = ["count", "skill"]
    verbose_name = _("officers needed")
    verbose_name_plural = _("officers needed (none: one officer, any skill)")


class ResourceRequirementInline(TenantInline):
    model = ResourceRequirement
    fields = ["count", "kind"]
    verbose_name = _("resource needed")
    verbose_name_plural = _("resources needed")


class QuestionInline(TenantInline):
    model = Question
    fields = ["position", "label", "help_text", "kind", "choices", "required"]
    formfield_overrides = {models.TextField: {"widget": forms.Textarea(attrs={"rows": 3, "cols": 30})}}


@admin.register(AppointmentType, site=tenant_admin_site)
class AppointmentTypeAdmin(OfficerChoicesMixin, TenantModelAdmin):
    list_display = ["name", "category", "duration_minutes", "location_mode", "online_bookable", "is_active"]
    list_filter = ["category", "location_mode", "online_bookable", "is_active"]
    list_select_related = ["category"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [StaffingRequirementInline, ResourceRequirementInline, QuestionInline]
    fieldsets = [
        (None, {"fields": ["name", "slug", "category", "description", "is_active"]}),
        (
            _("Time"),
            {
                "fields": [
                    "duration_minutes",
                    ("buffer_before_minutes", "buffer_after_minutes"),
                    "granularity_minutes",
                    ("min_notice_minutes", "horizon_days"),
                    "cancellation_cutoff_hours",
                ]
            },
        ),
        (_("Place"), {"fields": ["location_mode", "office_address"]}),
        (
            _("Booking"),
            {
                "fields": [
                    "online_bookable",
                    "capacity",
                    ("default_priority", "urgent_target_hours"),
                    "documents_to_bring",
                ]
            },
        ),
        (_("Who does it"), {"fields": ["allocation_strategy", "named_officer"]}),
        (_("Messages to the customer"), {"fields": ["reminder_hours", "survey_enabled"]}),
    ]


# --- working patterns ----------------------------------------------------------------------------------


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _minutes(value: time) -> int:
    return value.hour * 60 + value.minute


def _ends_after_start(form: forms.Form, cleaned: dict[str, Any], start: str, end: str, message: str) -> None:
    if cleaned.get(start) and cleaned.get(end) and cleaned[end] <= cleaned[start]:
        form.add_error(end, message)


class WorkingIntervalForm(TenantAdminForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _ends_after_start(self, cleaned, "start", "end", _("The end time must be after the start time."))
        return cleaned


class WorkingIntervalFormSet(BaseInlineFormSet):
    """Rejects two intervals of one weekday that overlap (touching, 12:30 then 12:30, is fine)."""

    def clean(self) -> None:
        super().clean()
        by_weekday: dict[int, list[tuple[time, time]]] = defaultdict(list)
        for form in self.forms:
            if not hasattr(form, "cleaned_data") or form.errors or self._should_delete_form(form):
                continue
            weekday, start, end = (form.cleaned_data.get(k) for k in ("weekday", "start", "end"))
            if weekday is not None and start and end:
                by_weekday[int(weekday)].append((start, end))
        errors = []
        for weekday, spans in sorted(by_weekday.items()):
            spans.sort()
            latest = spans[0]
            for span in spans[1:]:
                if span[0] < latest[1]:
                    errors.append(
                        forms.ValidationError(
                            _("The times on %(day)s overlap: %(first)s and %(second)s."),
                            code="overlap",
                            params={
                                "day": Weekday(weekday).label,
                                "first": f"{_hhmm(latest[0])}–{_hhmm(latest[1])}",
                                "second": f"{_hhmm(span[0])}–{_hhmm(span[1])}",
                            },
                        )
                    )
                if span[1] > latest[1]:
                    latest = span
        if errors:
            raise forms.ValidationError(errors)


class WorkingIntervalInline(TenantInline):
    model = WorkingInterval
    form = WorkingIntervalForm
    formset = WorkingIntervalFormSet
    fields = ["weekday", "start", "end"]

    def get_extra(self, request: HttpRequest, obj: WorkingPattern | None = None, **kwargs: Any) -> int:
        return 0 if obj else 2


class WorkingPatternForm(PlaceFieldsMixin, TenantAdminForm):
    place_fields = [
        ("start_label", "start_latitude", "start_longitude"),
        ("end_label", "end_latitude", "end_longitude"),
    ]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _one_owner_errors(self, cleaned, str(_("working pattern")))
        self._clean_places(cleaned)
        valid_from, valid_until = cleaned.get("valid_from"), cleaned.get("valid_until")
        if valid_from and valid_until and valid_until < valid_from:
            self.add_error("valid_until", _("The pattern must end on or after the day it starts."))
        if not self.errors and valid_from:
            self._check_no_overlap(cleaned, valid_from, valid_until)
        return cleaned

    def _check_no_overlap(self, cleaned: dict[str, Any], valid_from: date, valid_until: date | None) -> None:
        # The exclusion constraint is the guarantee; this query is only there to say it in words.
        who = cleaned.get("officer") or cleaned["resource"]
        owner = {"officer": who} if cleaned.get("officer") else {"resource": who}
        others = WorkingPattern.objects.filter(**owner).effective_between(valid_from, valid_until or date.max)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        clash = others.order_by("valid_from").first()
        if clash is None:
            return
        until = formats.date_format(clash.valid_until) if clash.valid_until else _("no end date")
        self.add_error(
            "valid_from",
            _(
                "%(who)s already has a working pattern from %(start)s to %(until)s. Patterns for the same "
                "officer or resource cannot overlap: end that one first, or choose other dates."
            )
            % {"who": who, "start": formats.date_format(clash.valid_from), "until": until},
        )


@admin.register(WorkingPattern, site=tenant_admin_site)
class WorkingPatternAdmin(OfficerChoicesMixin, TenantModelAdmin):
    form = WorkingPatternForm
    inlines = [WorkingIntervalInline]
    fieldsets = [
        (None, {"fields": ["officer", "resource", "valid_from", "valid_until"]}),
        (
            _("Where the working day starts and ends"),
            {
                "fields": [
                    ("start_label", "start_latitude", "start_longitude"),
                    ("end_label", "end_latitude", "end_longitude"),
                ],
                "description": _(
                    "For officers who travel: a postcode or address is looked up in the gazetteer when the "
                    "coordinates are left empty. Blank: the officer's home base; no end: back to the start."
                ),
            },
        ),
    ]
    list_display = ["owner", "valid_from", "valid_until", "hours_a_week"]
    list_filter = [("officer", OfficerListFilter), "resource"]
    list_select_related = ["officer__user", "resource"]
    search_fields = ["officer__user__full_name", "resource__name"]
    date_hierarchy = "valid_from"

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[WorkingPattern]:
        return super().get_queryset(request).prefetch_related("intervals")

    @admin.display(description=_("officer or resource"), ordering="officer__user__full_name")
    def owner(self, pattern: WorkingPattern) -> str:
        return str(pattern.officer or pattern.resource)

    @admin.display(description=_("hours a week"))
    def hours_a_week(self, pattern: WorkingPattern) -> str:
        minutes = sum(_minutes(i.end) - _minutes(i.start) for i in pattern.intervals.all())
        return f"{minutes / 60:g}"


# --- absences, holidays, blocks, external busy time ----------------------------------------------------


class AbsenceForm(TenantAdminForm):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The middleware activates the tenant's zone, so these are read and shown as local wall-clock times.
        zone_note = _("Local time (%(zone)s).") % {"zone": timezone.get_current_timezone_name()}
        for name in ["starts_at", "ends_at"]:
            self.fields[name].help_text = zone_note

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _one_owner_errors(self, cleaned, str(_("absence")))
        _ends_after_start(self, cleaned, "starts_at", "ends_at", _("The absence must end after it starts."))
        return cleaned


@admin.register(Absence, site=tenant_admin_site)
class AbsenceAdmin(OfficerChoicesMixin, TenantModelAdmin):
    form = AbsenceForm
    list_display = ["owner", "kind", "starts_at", "ends_at", "note"]
    list_filter = ["kind", ("officer", OfficerListFilter), "resource"]
    list_select_related = ["officer__user", "resource"]
    search_fields = ["officer__user__full_name", "resource__name", "note"]
    date_hierarchy = "starts_at"

    @admin.display(description=_("officer or resource"), ordering="officer__user__full_name")
    def owner(self, absence: Absence) -> str:
        return str(absence.officer or absence.resource)


@admin.register(Holiday, site=tenant_admin_site)
class HolidayAdmin(TenantModelAdmin):
    list_display = ["date", "name"]
    search_fields = ["name"]
    date_hierarchy = "date"


class ServiceBlockForm(TenantAdminForm):
    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        _ends_after_start(self, cleaned, "start", "end", _("The end time must be after the start time."))
        return cleaned


class ServiceBlockAppointmentTypeInline(TenantInline):
    """A block is for at least one type (the admin passes min_num to the formset, but not validate_min)."""

    model = ServiceBlockAppointmentType
    fields = ["appointment_type"]
    min_num = 1

    def get_formset(self, request: HttpRequest, obj: Any = None, **kwargs: Any) -> Any:
        return super().get_formset(request, obj, validate_min=True, **kwargs)


class ServiceBlockOfficerInline(OfficerChoicesMixin, TenantInline):
    model = ServiceBlockOfficer
    fields = ["officer"]


@admin.register(ServiceBlock, site=tenant_admin_site)
class ServiceBlockAdmin(OfficerChoicesMixin, TenantModelAdmin):
    # The recurrence widget's media brings admin jQuery (django.jQuery) and its scripts; the translation
    # functions it calls (gettext, pgettext) come from the change form's jsi18n script, which on tenant
    # hosts is the project-wide `javascript-catalog` view and so includes django-recurrence's strings.
    form = ServiceBlockForm
    list_display = ["name", "start", "end", "repeats", "is_active"]
    list_filter = ["is_active", "appointment_types"]
    search_fields = ["name"]
    fields = ["name", "start", "end", "recurrence", "is_active"]
    inlines = [ServiceBlockAppointmentTypeInline, ServiceBlockOfficerInline]

    @admin.display(description=_("repeats"))
    def repeats(self, block: ServiceBlock) -> str:
        return "; ".join(rule.to_text() for rule in block.recurrence.rrules) if block.recurrence else ""


@admin.register(ExternalBusy, site=tenant_admin_site)
class ExternalBusyAdmin(ReadOnlyMixin, TenantModelAdmin):
    """Imported from officers' own calendars by calendar sync; changes here would be overwritten."""

    list_display = ["officer", "starts_at", "ends_at", "source"]
    list_filter = [("officer", OfficerListFilter), "source"]
    list_select_related = ["officer__user"]
    search_fields = ["officer__user__full_name", "source", "uid"]
    date_hierarchy = "starts_at"
