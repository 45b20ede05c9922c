"""Two admin sites: the tenant admin on every tenant host, and the platform admin on platform hosts.

Tenant administrators reach `/admin/` on their own host through their Membership role. Everything they see
is already narrowed to their tenant by the scope the middleware entered; the base classes below also pin
new rows to that tenant and keep foreign-key choices inside it.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django_scopes import get_scope

from .models import Domain, Membership, Officer, OfficerSkill, Role, Skill, Team, Tenant, User
from .permissions import has_role
from .services import tenant_onboard


class TenantAdminSite(admin.AdminSite):
    site_header = _("Bookings administration")
    site_title = _("Bookings administration")
    index_title = _("Configure your organisation")

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(
            request.user.is_active
            and request.tenant is not None
            and (request.user.is_superuser or has_role(request, Role.ADMINISTRATOR))
        )

    def login(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Staff sign in once, on the tenant's own sign-in page; a member without the role is refused."""
        if request.user.is_authenticated:
            raise PermissionDenied
        return redirect_to_login(
            request.GET.get("next") or reverse("tenant_admin:index"), reverse("accounts:login")
        )

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        if request.tenant is not None:
            context["site_header"] = f"{request.tenant.name}: {self.site_header}"
        return context


class PlatformAdminSite(admin.AdminSite):
    site_header = _("Bookings platform")
    site_title = _("Bookings platform")
    index_title = _("Tenants and their host names")

    def has_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_superuser)


tenant_admin_site = TenantAdminSite(name="tenant_admin")
platform_admin_site = PlatformAdminSite(name="platform_admin")


class TenantAdminForm(forms.ModelForm):
    """Pins a new row to the active tenant before validation, so tenant-qualified unique constraints are
    checked as friendly form errors rather than surfacing as integrity errors."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if getattr(self.instance, "tenant_id", None) is None:
            self.instance.tenant = get_scope()["tenant"]

    def _get_validation_exclusions(self) -> set[str]:
        exclusions = super()._get_validation_exclusions()
        exclusions.discard("tenant")
        return exclusions


class TenantPermissionsMixin:
    """Tenant administrators may do everything with their own tenant's configuration."""

    def _allowed(self, request: HttpRequest) -> bool:
        return self.admin_site.has_permission(request)  # type: ignore[attr-defined]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._allowed(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._allowed(request)

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return self._allowed(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._allowed(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._allowed(request)

    def formfield_for_foreignkey(
        self, db_field: models.ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> Any:
        if db_field.related_model is User:
            kwargs["queryset"] = tenant_members(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]


def tenant_members(request: HttpRequest) -> models.QuerySet[User]:
    # Users are global (one person, many tenants); offer only the ones who belong to this tenant.
    return User.objects.filter(memberships__tenant=request.tenant).distinct().order_by("full_name")


class ReadOnlyMixin:
    """For records written only by services (audit trails, bookings, message logs): viewable, never edited."""

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


class TenantModelAdmin(TenantPermissionsMixin, admin.ModelAdmin):
    form = TenantAdminForm


class TenantInline(TenantPermissionsMixin, admin.TabularInline):
    form = TenantAdminForm
    extra = 0


class MembershipAdminForm(TenantAdminForm):
    """Adds a member by email, creating the user when this person has no account anywhere yet.

    A person's name, email and password are theirs across every tenant. A tenant administrator names a new
    person, and may correct the name of someone who belongs to this tenant alone; someone who already has an
    account keeps their name (what the administrator typed is not used, and nothing about the existing
    person is shown back), and the name and email of a member who also belongs elsewhere are read-only here.
    """

    email = forms.EmailField(label=_("Email address"))
    full_name = forms.CharField(
        label=_("Full name"),
        max_length=200,
        help_text=_("Used only for someone who has no account yet; an existing account keeps its name."),
    )

    class Meta:
        model = Membership
        fields = ["role", "is_active"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields.pop("email", None)  # the person's key: never changed from a tenant
            if identity_editable(self.instance):
                self.fields["full_name"].initial = self.instance.user.full_name
                self.fields["full_name"].help_text = ""
            else:
                self.fields.pop("full_name", None)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        email = (cleaned.get("email") or "").lower()
        if email and not self.instance.pk:
            user = User.objects.filter(email=email).first()
            if user and Membership.objects.filter(user=user).exists():
                self.add_error("email", _("This person is already a member."))
            self.instance.user = user or User(email=email, full_name=cleaned.get("full_name", ""))
        return cleaned

    def save(self, commit: bool = True) -> Membership:
        if self.instance.user._state.adding:
            self.instance.user.set_unusable_password()
            self.instance.user.save()
        elif self.instance.pk and "full_name" in self.fields and self.cleaned_data.get("full_name"):
            self.instance.user.full_name = self.cleaned_data["full_name"]
            self.instance.user.save(update_fields=["full_name"])
        return super().save(commit=commit)


def identity_editable(membership: Membership) -> bool:
    """A tenant may change the name of a person only this tenant knows (the email, never)."""
    return not membership.user.identity_shared_beyond(membership.tenant)


@admin.register(Tenant, site=tenant_admin_site)
class OrganisationAdmin(TenantPermissionsMixin, admin.ModelAdmin):
    """A tenant's administrators edit their own organisation's branding, zone and languages, nothing else.

    Host names and creating or removing tenants stay with the platform operator.
    """

    fields = ["name", "logo", "primary_colour", "accent_colour", "time_zone", "welsh_enabled"]
    list_display = ["name", "time_zone", "welsh_enabled"]

    def get_queryset(self, request: HttpRequest) -> models.QuerySet[Tenant]:
        return super().get_queryset(request).filter(pk=request.tenant.pk)

    def has_add_permission(self, request: HttpRequest, *args: object) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Membership, site=tenant_admin_site)
class MembershipAdmin(TenantModelAdmin):
    form = MembershipAdminForm
    list_display = ["email", "name", "role", "is_active"]
    list_select_related = ["user"]
    list_filter = ["role", "is_active"]
    search_fields = ["user__full_name", "user__email"]

    def get_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        if obj is None or identity_editable(obj):
            return ["email", "full_name", "role", "is_active"]
        return ["email", "name", "role", "is_active"]  # shown, never editable: the person's own

    def get_readonly_fields(self, request: HttpRequest, obj: Membership | None = None) -> list[str]:
        if obj is None:
            return []
        return ["email"] if identity_editable(obj) else ["email", "name"]

    @admin.display(description=_("email address"), ordering="user__email")
    def email(self, membership: Membership) -> str:
        return membership.user.email

    @admin.display(description=_("full name"), ordering="user__full_name")
    def name(self, membership: Membership) -> str:
        return membership.user.full_name


@admin.register(Team, site=tenant_admin_site)
class TeamAdmin(TenantModelAdmin):
    search_fields = ["name"]


@admin.register(Skill, site=tenant_admin_site)
class SkillAdmin(TenantModelAdmin):
    search_fields = ["name"]


class OfficerSkillInline(TenantInline):
    """An officer's skills, one link row each (the link table is tenant-owned, so no plain M2M widget)."""

    model = OfficerSkill
    fields = ["skill"]


@admin.register(Officer, site=tenant_admin_site)
class OfficerAdmin(TenantModelAdmin):
    """`scheduling.admin` registers a subclass in its place that looks the home base up in the gazetteer
    (the geocoder belongs to a higher layer than accounts)."""

    list_display = ["user", "team", "is_active"]
    list_filter = ["team", "is_active"]
    search_fields = ["user__full_name", "user__email"]
    fields = ["user", "team", "home_base", "home_latitude", "home_longitude", "is_active"]
    inlines = [OfficerSkillInline]


class DomainInline(admin.TabularInline):
    model = Domain
    extra = 1


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    # A raw id, not the autocomplete widget: that one 500s redrawing a form whose user value is not a number.
    raw_id_fields = ["user"]


@admin.register(Tenant, site=platform_admin_site)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "time_zone", "is_active"]
    prepopulated_fields = {"slug": ["name"]}
    search_fields = ["name", "slug"]
    inlines = [DomainInline, MembershipInline]

    def save_model(self, request: HttpRequest, obj: Tenant, form: forms.ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
        else:
            tenant_onboard(tenant=obj)  # host names follow from the inline

    def save_formset(self, request: HttpRequest, form: forms.ModelForm, formset: Any, change: bool) -> None:
        for inline_form in formset.forms:
            inline_form.instance.tenant = form.instance
        super().save_formset(request, form, formset, change)


@admin.register(User, site=platform_admin_site)
class UserAdmin(DjangoUserAdmin):
    ordering = ["email"]
    list_display = ["email", "full_name", "is_active", "is_superuser"]
    search_fields = ["email", "full_name"]
    fieldsets = [
        (None, {"fields": ["email", "password", "full_name"]}),
        (_("Platform"), {"fields": ["is_active", "is_staff", "is_superuser"]}),
    ]
    add_fieldsets = [
        (None, {"classes": ["wide"], "fields": ["email", "full_name", "password1", "password2"]})
    ]
