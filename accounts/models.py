"""Tenants, their host names, staff users and their roles in each tenant, and officer profiles."""

from __future__ import annotations

import zoneinfo
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager, scopes_disabled

from .logos import LogoField, logo_upload_to

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB."))


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


VERSION_FIELDS = ("supply_version", "booked_version")


class Tenant(models.Model):
    """One organisation (a council, an agency). Every other tenant's data is invisible to it."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    logo = LogoField(
        _("logo"),
        upload_to=logo_upload_to,
        blank=True,
        help_text=_("A PNG, JPEG or WebP image; it is stored as a PNG without its metadata."),
    )
    primary_colour = models.CharField(
        _("primary colour"), max_length=7, default="#1d70b8", validators=[hex_colour]
    )
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default="#0b0c0c", validators=[hex_colour]
    )
    welsh_enabled = models.BooleanField(
        _("offer Welsh"), default=False, help_text=_("The portal offers Cymraeg alongside English.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Rises, in the same transaction, with every change to what the tenant's open time depends on (see
    # scheduling.supply_version_bump), so cached open time is keyed by it and never served stale.
    supply_version = models.PositiveBigIntegerField(default=0, editable=False)
    # Rises, in the same transaction, with every change to booked time (assignments, hold status and
    # expiry): a database trigger in bookings raises it at commit, so booked time cached under it is never
    # served stale either.
    booked_version = models.PositiveBigIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args: Any, **kwargs: Any) -> None:
        # The version counters are only ever raised in SQL; saving an instance read before a raise must not
        # put the old figure back (a cache key would then come round again with stale contents under it).
        if not self._state.adding and kwargs.get("update_fields") is None:
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in VERSION_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def language_codes(self) -> list[str]:
        return ["en-gb", "cy"] if self.welsh_enabled else ["en-gb"]

    @property
    def zone(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class TenantOwned(models.Model):
    """Base of every tenant-owned model: a direct tenant key and a manager that refuses to query unscoped."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="%(class)s_set", editable=False)

    objects = ScopedManager(tenant="tenant")

    class Meta:
        abstract = True


class TenantLink(TenantOwned):
    """Base of the many-to-many link tables: a tenant-owned row joining two rows of its own tenant.

    Both sides must be the link's own tenant's. Scoped choices in forms and `same_tenant_check` in services
    refuse a link across tenants; `clean` says so in words; and the database holds it with composite foreign
    keys, (tenant, side) to the side's (tenant, id), added by the migration that creates each link table.
    """

    class Meta:
        abstract = True

    def clean(self) -> None:
        super().clean()
        errors = {}
        for field in self._meta.concrete_fields:
            if not field.is_relation or field.name == "tenant" or getattr(self, field.attname) is None:
                continue
            if getattr(getattr(self, field.name), "tenant_id", self.tenant_id) != self.tenant_id:
                errors[field.name] = _("Choose one of this organisation's own.")
        if errors:
            raise ValidationError(errors)


def tenant_pair_key(name: str) -> models.UniqueConstraint:
    """(tenant, id) is unique anyway; declared so link tables can point at it with a composite foreign key."""
    return models.UniqueConstraint(fields=["tenant", "id"], name=name)


class Domain(TenantOwned):
    """A host name on which a tenant's portal, staff workspace and admin answer."""

    host = models.CharField(
        _("host name"),
        max_length=253,
        unique=True,
        validators=[RegexValidator(r"^[a-z0-9.-]+$", _("Use lower-case letters, digits, dots and hyphens."))],
    )
    is_primary = models.BooleanField(_("primary"), default=False)

    class Meta:
        ordering = ["host"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"], condition=models.Q(is_primary=True), name="one_primary_domain_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return self.host


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: object) -> User:
        if not email:
            raise ValueError("Users need an email address.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def get_by_natural_key(self, username: str | None) -> User:
        # People type their email address in any case; it is stored lower-case.
        return self.get(email__iexact=username)

    def create_superuser(self, email: str, password: str | None = None, **extra: object) -> User:
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who logs in by email. What they may do depends on their Membership in each tenant.

    `is_staff` and `is_superuser` are for the platform operator only; tenant administrators reach the
    tenant admin site through their Membership role, not through these flags.
    """

    email = models.EmailField(_("email address"), unique=True)
    full_name = models.CharField(_("full name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    is_staff = models.BooleanField(_("platform staff"), default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.full_name or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def identity_shared_beyond(self, tenant: Tenant) -> bool:
        """Whether anyone but `tenant` has a stake in this person's name, email and password: they belong to
        another tenant too, or they run the platform. Then only the platform admin may change them."""
        if self.is_superuser or self.is_staff:
            return True
        # Tenancy code: the one question that has to look across tenants, answered with a yes or no only.
        with scopes_disabled():
            return Membership.objects.filter(user=self).exclude(tenant=tenant).exists()


class Role(models.TextChoices):
    ADMINISTRATOR = "administrator", _("Administrator")
    OFFICER = "officer", _("Officer")
    CUSTOMER_SERVICE = "customer_service", _("Customer service")
    MANAGER = "manager", _("Manager")


class Membership(TenantOwned):
    """A user's single role in one tenant."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["user__full_name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "user"], name="one_membership_per_tenant")]

    def __str__(self) -> str:
        # By email, which the tenant gave when adding the person, not by the name they keep for themselves.
        return f"{self.user.email} ({self.get_role_display()})"


class Team(TenantOwned):
    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="team_name_unique_per_tenant")]

    def __str__(self) -> str:
        return self.name


class Skill(TenantOwned):
    """A qualification an appointment type may require of its officers (food hygiene, gas safety...)."""

    name = models.CharField(_("name"), max_length=120)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="skill_name_unique_per_tenant"),
            tenant_pair_key("skill_tenant_pair"),
        ]

    def __str__(self) -> str:
        return self.name


class OfficerQuerySet(models.QuerySet["Officer"]):
    def active(self) -> OfficerQuerySet:
        return self.filter(is_active=True)


class Officer(TenantOwned):
    """The working profile of a member who takes appointments."""

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="officer_profiles")
    team = models.ForeignKey(Team, on_delete=models.SET_NULL, null=True, blank=True, related_name="officers")
    skills = models.ManyToManyField(Skill, through="OfficerSkill", blank=True, related_name="officers")
    home_base = models.CharField(_("home base"), max_length=300, blank=True)
    home_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    home_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager(tenant="tenant", _manager_class=models.Manager.from_queryset(OfficerQuerySet))

    class Meta:
        ordering = ["user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="one_officer_profile_per_tenant"),
            tenant_pair_key("officer_tenant_pair"),
        ]

    def __str__(self) -> str:
        return str(self.user)


class OfficerSkill(TenantLink):
    """That an officer has a skill (written by `officer.skills.set(..., through_defaults={"tenant": t})`)."""

    officer = models.ForeignKey(Officer, on_delete=models.CASCADE)
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, verbose_name=_("skill"))

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "officer", "skill"], name="officer_skill_unique_per_tenant"
            )
        ]

    def __str__(self) -> str:
        return f"{self.officer}: {self.skill}"
