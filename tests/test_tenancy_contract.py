"""The tenancy contract, checked over every model and every staff URL so new code cannot skip it."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.apps import apps
from django.db import models
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from django_scopes import ScopeError, scope

from accounts.models import Role, Tenant
from bookings.models import (
    AllocationPlan,
    Booking,
    BookingSeries,
    BookingStatus,
    Channel,
    ConflictCause,
    ConflictItem,
    InspectionVisit,
)
from bookings.series_dates import Repeat, series_rule
from tests.builders import appointment_type as type_builder
from tests.builders import customer as customer_builder
from tests.factories import OfficerFactory

PROJECT_APPS = ["accounts", "scheduling", "bookings", "notifications", "integrations", "reporting"]
# The only models that are not owned by one tenant: the tenant itself and people (one person, many tenants),
# with the platform permissions Django's PermissionsMixin links to a person.
GLOBAL_MODELS = {"accounts.Tenant", "accounts.User", "accounts.User_groups", "accounts.User_user_permissions"}
# Uniqueness that is global on purpose: a host name can point at only one tenant.
GLOBALLY_UNIQUE_FIELDS = {"accounts.Domain.host"}


def project_models() -> list[type[models.Model]]:
    # Link tables included: a plain ManyToManyField's automatic table has no tenant key and fails below.
    return [
        model
        for app in PROJECT_APPS
        for model in apps.get_app_config(app).get_models(include_auto_created=True)
    ]


def tenant_owned_models() -> list[type[models.Model]]:
    return [m for m in project_models() if m._meta.label not in GLOBAL_MODELS]


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_tenant_owned_model_has_direct_tenant_key(model: type[models.Model]) -> None:
    field = model._meta.get_field("tenant")
    assert isinstance(field, models.ForeignKey)
    assert field.related_model is Tenant
    assert not field.null, f"{model._meta.label}.tenant must not be nullable"


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_tenant_owned_model_refuses_unscoped_queries(model: type[models.Model]) -> None:
    with pytest.raises(ScopeError):
        list(model._default_manager.all())
    with pytest.raises(ScopeError):
        model._default_manager.filter(pk=1).exists()


@pytest.mark.parametrize("model", tenant_owned_models(), ids=lambda m: m._meta.label)
def test_tenant_owned_uniqueness_is_tenant_qualified(model: type[models.Model]) -> None:
    for field in model._meta.local_fields:
        if field.unique and not field.primary_key and not isinstance(field, models.OneToOneField):
            assert f"{model._meta.label}.{field.name}" in GLOBALLY_UNIQUE_FIELDS, (
                f"{model._meta.label}.{field.name} is unique across tenants"
            )
    for constraint in model._meta.constraints:
        if isinstance(constraint, models.UniqueConstraint) and constraint.fields:
            assert "tenant" in constraint.fields, f"{constraint.name} does not include tenant"


def test_there_are_tenant_owned_models_to_check() -> None:
    assert len(tenant_owned_models()) >= 5


def test_every_link_table_is_checked_as_a_tenant_owned_model() -> None:
    links = {
        field.remote_field.through._meta.label
        for model in project_models()
        for field in model._meta.local_many_to_many
    }
    assert {"accounts.OfficerSkill", "scheduling.ServiceBlockOfficer"} <= links
    owned = {m._meta.label for m in tenant_owned_models()}
    assert links - owned <= GLOBAL_MODELS, f"link tables not checked: {links - owned - GLOBAL_MODELS}"


# --- every staff URL, with another tenant's ids -------------------------------------------------------

# How to make an object of each kind that a staff URL names by id. A new URL parameter must be added here,
# or the test below fails and says so.
ID_MAKERS = {
    "officer_id": lambda tenant: OfficerFactory(tenant=tenant).pk,
    "booking_id": lambda tenant: case_booking(tenant).pk,
    "ref": lambda tenant: case_booking(tenant).case_reference,
    "customer_id": lambda tenant: customer_builder(tenant).pk,
    "slug": lambda tenant: type_builder(tenant, slug=f"type-of-{tenant.slug}").slug,
    "reference": lambda tenant: staff_hold(tenant).reference,
    "item_id": lambda tenant: conflict_item(tenant).pk,
    "series_id": lambda tenant: booking_series(tenant).pk,
    "visit_id": lambda tenant: inspection_visit(tenant).pk,
    "plan_id": lambda tenant: allocation_plan(tenant).pk,
}


def inspection_visit(tenant: Tenant) -> InspectionVisit:
    """An open visit of this tenant's inspection programme."""
    kind = type_builder(tenant, slug=f"visit-of-{tenant.slug}")
    with scope(tenant=tenant):
        return InspectionVisit.objects.create(
            tenant=tenant,
            premises=f"Premises of {tenant.slug}",
            address="1 High Street",
            latitude=54.33,
            longitude=-1.43,
            appointment_type=kind,
            duration_minutes=60,
            due_by=timezone.localdate() + timedelta(days=14),
            contact_email="premises@example.org",
        )


def allocation_plan(tenant: Tenant) -> AllocationPlan:
    """A draft allocation plan of this tenant (a row is enough: the URL test reads it)."""
    today = timezone.localdate()
    with scope(tenant=tenant):
        return AllocationPlan.objects.create(
            tenant=tenant, first_day=today, last_day=today + timedelta(days=6)
        )


def booking_series(tenant: Tenant) -> BookingSeries:
    """A recurring series of this tenant (a row is enough: its dates need no bookings to be shown)."""
    kind = type_builder(tenant, slug=f"series-of-{tenant.slug}")
    first = timezone.localdate() + timedelta(days=7)
    with scope(tenant=tenant):
        return BookingSeries.objects.create(
            tenant=tenant,
            appointment_type=kind,
            customer=customer_builder(tenant, 7),
            recurrence=series_rule(Repeat.WEEKLY, first, count=2),
            first_date=first,
            start_time=time(10),
        )


def conflict_item(tenant: Tenant) -> ConflictItem:
    """An open conflict-queue item on a confirmed booking of this tenant."""
    booking = case_booking(tenant)
    with scope(tenant=tenant):
        return ConflictItem.objects.create(tenant=tenant, booking=booking, cause=ConflictCause.ABSENCE)


def staff_hold(tenant: Tenant) -> Booking:
    """A hold staff are completing for a caller (a row is enough: the URL test reads, it does not book)."""
    kind = type_builder(tenant, slug=f"held-of-{tenant.slug}")
    start = timezone.now() + timedelta(days=7)
    with scope(tenant=tenant):
        return Booking.objects.create(
            tenant=tenant,
            reference=f"BK-{'ABCD' if tenant.slug == 'northshire' else 'EFGH'}-23",
            appointment_type=kind,
            status=BookingStatus.HELD,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            hold_expires_at=start,
            session_key=f"held-{tenant.slug}",
            channel=Channel.STAFF,
        )


def case_booking(tenant: Tenant) -> Booking:
    """A confirmed booking of a case whose reference only this tenant uses."""
    kind = type_builder(tenant, slug=f"case-of-{tenant.slug}")
    start = timezone.now() + timedelta(days=7)
    with scope(tenant=tenant):
        number = Booking.objects.count() + 1
        return Booking.objects.create(
            tenant=tenant,
            reference=f"BK-{'JKLM' if tenant.slug == 'northshire' else 'NPQR'}-{number + 21}",
            appointment_type=kind,
            status=BookingStatus.CONFIRMED,
            starts_at=start,
            ends_at=start + timedelta(hours=1),
            session_key=f"case-{tenant.slug}-{number}",
            channel=Channel.STAFF,
            case_reference=f"CASE-{tenant.slug}",
            case_kind="inspection",
        )


NOT_TENANT_DATA = {"table"}


def staff_patterns() -> list[tuple[str, str, list[str]]]:
    found = []

    def walk(patterns: list, prefix: str, namespace: str) -> None:
        for p in patterns:
            if isinstance(p, URLResolver):
                ns = f"{namespace}:{p.namespace}" if namespace and p.namespace else (p.namespace or namespace)
                walk(p.url_patterns, prefix + str(p.pattern), ns)
            elif isinstance(p, URLPattern):
                route = prefix + str(p.pattern)
                # A report download names a table of the dashboard (the same in every tenant), not a row:
                # tests/reporting/test_exports.py checks its roles and its 404 for an unknown table.
                tenant_data = [name for name in p.pattern.converters if name not in NOT_TENANT_DATA]
                if route.startswith("staff/") and tenant_data:
                    found.append((f"{namespace}:{p.name}", route, list(p.pattern.converters)))

    walk(get_resolver("config.urls").url_patterns, "", "")
    return found


@pytest.mark.parametrize(
    ("name", "route", "params"), staff_patterns(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_staff_url_answers_404_for_another_tenants_ids(
    name: str, route: str, params: list[str], tenant, other_tenant, client_for, member_of
) -> None:
    from django.urls import reverse

    missing = [p for p in params if p not in ID_MAKERS]
    assert not missing, f"{route}: add an id maker for {missing} in ID_MAKERS"
    own = reverse(name, kwargs={p: ID_MAKERS[p](tenant) for p in params})
    foreign = reverse(name, kwargs={p: ID_MAKERS[p](other_tenant) for p in params})

    allowed_roles = 0
    for role in Role:
        client = client_for(tenant, member_of(tenant, role))
        # A POST-only URL (a form's action) is probed with an empty POST: refused as a form (422), done
        # (303) or forbidden for its own ids, and 404 for another tenant's, exactly like a page.
        send = client.post if client.get(own).status_code == 405 else client.get
        own_status = send(own).status_code
        foreign_status = send(foreign).status_code
        assert own_status in (200, 303, 403, 422), f"{role}: {own} answered {own_status}"
        if own_status != 403:
            allowed_roles += 1
            assert foreign_status == 404, f"{role}: {foreign} answered {foreign_status}"
        else:
            assert foreign_status in (403, 404)
    assert allowed_roles, f"no role may use {route}: the check above proved nothing"


def test_every_staff_url_with_ids_is_covered() -> None:
    assert staff_patterns(), "expected staff URLs with ids (officer detail at least)"
