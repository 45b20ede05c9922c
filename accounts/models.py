"""Tenants, their host names, staff users and their roles in each tenant, and officer profiles."""

from __future__ import annotations

import zoneinfo

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_scopes import ScopedManager

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Enter a colour as #RRGGBB."))


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(value)s is not a known time zone."), params={"value": value})


class Tenant(models.Model):
    """One organisation (a council, an agency). Every other tenant's data is invisible to it."""

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=60, unique=True)
    time_zone = models.CharField(
        _("time zone"), max_length=64, default="Europe/London", validators=[validate_time_zone]
    )
    logo = models.FileField(_("logo"), upload_to="tenant-logos/", blank=True)
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

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

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
        return f"{self.user} ({self.get_role_display()})"


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
            models.UniqueConstraint(fields=["tenant", "name"], name="skill_name_unique_per_tenant")
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
    skills = models.ManyToManyField(Skill, blank=True, related_name="officers")
    home_base = models.CharField(_("home base"), max_length=300, blank=True)
    home_latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    home_longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    objects = ScopedManager(tenant="tenant", _manager_class=models.Manager.from_queryset(OfficerQuerySet))

    class Meta:
        ordering = ["user__full_name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="one_officer_profile_per_tenant")
        ]

    def __str__(self) -> str:
        return str(self.user)
