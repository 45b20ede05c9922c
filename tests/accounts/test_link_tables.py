"""The many-to-many link tables (officer skills, service block officers and types) are tenant-owned rows: a
link across tenants is refused by the service, the admin, the model's clean and the database itself."""

from __future__ import annotations

from datetime import time

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django_scopes import ScopeError, scope, scopes_disabled

from accounts.models import Officer, OfficerSkill, Role
from accounts.services import officer_create
from accounts.tenancy import TenantMismatch
from scheduling.models import ServiceBlock, ServiceBlockAppointmentType, ServiceBlockOfficer
from tests.factories import OfficerFactory, SkillFactory, TeamFactory
from tests.scheduling.factories import AppointmentTypeFactory, ServiceBlockFactory

SKILLS = "officerskill_set"


def immediately(make) -> None:
    """Runs `make` and checks deferred constraints at once, as the commit would."""
    with transaction.atomic():
        make()
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")


def test_link_rows_carry_their_tenant_and_refuse_unscoped_queries(tenant) -> None:
    skill = SkillFactory(tenant=tenant)
    officer = OfficerFactory(tenant=tenant, skills=[skill])
    with pytest.raises(ScopeError):
        list(OfficerSkill.objects.all())
    with scope(tenant=tenant):
        link = OfficerSkill.objects.get()
        assert list(officer.skills.all()) == [skill]
    assert (link.tenant, link.officer, link.skill) == (tenant, officer, skill)


def test_another_tenants_scope_sees_no_links(tenant, other_tenant) -> None:
    OfficerFactory(tenant=tenant, skills=[SkillFactory(tenant=tenant)])
    with scope(tenant=other_tenant):
        assert not OfficerSkill.objects.exists()


def test_officer_create_refuses_another_tenants_skill_or_team(tenant, other_tenant) -> None:
    theirs = SkillFactory(tenant=other_tenant)
    with scope(tenant=tenant), pytest.raises(TenantMismatch):
        officer_create(tenant=tenant, email="a@example.org", full_name="A", skills=[theirs])
    with scope(tenant=tenant), pytest.raises(TenantMismatch):
        officer_create(
            tenant=tenant, email="a@example.org", full_name="A", team=TeamFactory(tenant=other_tenant)
        )
    with scopes_disabled():
        assert not Officer.objects.exists() and not OfficerSkill.objects.exists()


def test_officer_create_links_skills_in_the_tenant(tenant) -> None:
    skills = [SkillFactory(tenant=tenant), SkillFactory(tenant=tenant)]
    with scope(tenant=tenant):
        officer = officer_create(tenant=tenant, email="a@example.org", full_name="A", skills=skills)
        assert set(officer.skills.all()) == set(skills)
        assert set(OfficerSkill.objects.values_list("tenant_id", flat=True)) == {tenant.pk}


def test_the_database_refuses_an_officer_skill_across_tenants(tenant, other_tenant) -> None:
    officer, theirs = OfficerFactory(tenant=tenant), SkillFactory(tenant=other_tenant)
    with pytest.raises(IntegrityError):
        immediately(lambda: OfficerSkill.objects.create(tenant=tenant, officer=officer, skill=theirs))
    # Nor may the link claim the other tenant: then the officer is the foreign side.
    with pytest.raises(IntegrityError):
        immediately(lambda: OfficerSkill.objects.create(tenant=other_tenant, officer=officer, skill=theirs))
    with scopes_disabled():
        assert not OfficerSkill.objects.exists()


def test_the_database_refuses_service_block_links_across_tenants(tenant, other_tenant) -> None:
    block = ServiceBlockFactory(tenant=tenant)
    their_type, their_officer = (
        AppointmentTypeFactory(tenant=other_tenant),
        OfficerFactory(tenant=other_tenant),
    )
    with pytest.raises(IntegrityError):
        immediately(
            lambda: ServiceBlockAppointmentType.objects.create(
                tenant=tenant, service_block=block, appointment_type=their_type
            )
        )
    with pytest.raises(IntegrityError):
        immediately(
            lambda: ServiceBlockOfficer.objects.create(
                tenant=tenant, service_block=block, officer=their_officer
            )
        )
    # .set() from another tenant's objects fails the same way, even with the scope disabled.
    with pytest.raises(IntegrityError), scopes_disabled():
        immediately(lambda: block.officers.set([their_officer], through_defaults={"tenant": tenant}))


def test_the_same_link_twice_is_refused(tenant) -> None:
    skill = SkillFactory(tenant=tenant)
    officer = OfficerFactory(tenant=tenant, skills=[skill])
    with pytest.raises(IntegrityError), transaction.atomic():
        OfficerSkill.objects.create(tenant=tenant, officer=officer, skill=skill)


def test_clean_names_the_foreign_side(tenant, other_tenant) -> None:
    link = OfficerSkill(
        tenant=tenant, officer=OfficerFactory(tenant=tenant), skill=SkillFactory(tenant=other_tenant)
    )
    with pytest.raises(ValidationError) as refused:
        link.clean()
    assert set(refused.value.message_dict) == {"skill"}
    OfficerSkill(tenant=tenant, officer=link.officer, skill=SkillFactory(tenant=tenant)).clean()


# --- the admin: inlines in place of the many-to-many widgets --------------------------------------------


def officer_post(user: int, skills: list[int], **extra: object) -> dict[str, object]:
    return {
        "user": user,
        "team": "",
        "home_base": "",
        "is_active": "on",
        f"{SKILLS}-TOTAL_FORMS": str(len(skills)),
        f"{SKILLS}-INITIAL_FORMS": "0",
        **{f"{SKILLS}-{n}-skill": pk for n, pk in enumerate(skills)},
        **extra,
    }


def test_administrator_sets_an_officers_skills_with_own_skills_only(
    tenant, other_tenant, client_for, member_of
) -> None:
    own, theirs = (
        SkillFactory(tenant=tenant, name="Food hygiene"),
        SkillFactory(tenant=other_tenant, name="Secret"),
    )
    insider = member_of(tenant, Role.OFFICER).user
    client = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    page = client.get("/admin/accounts/officer/add/").content.decode()
    assert f'name="{SKILLS}-TOTAL_FORMS"' in page
    assert "Food hygiene" in page and "Secret" not in page

    refused = client.post("/admin/accounts/officer/add/", officer_post(insider.pk, [theirs.pk]))
    assert refused.status_code == 200 and "Select a valid choice" in refused.content.decode()
    with scope(tenant=tenant):
        assert not Officer.objects.exists()

    added = client.post("/admin/accounts/officer/add/", officer_post(insider.pk, [own.pk]))
    assert added.status_code == 302
    with scope(tenant=tenant):
        officer = Officer.objects.get()
        assert list(officer.skills.all()) == [own]
        assert OfficerSkill.objects.get().tenant == tenant
    assert client.get(f"/admin/accounts/officer/{officer.pk}/change/").status_code == 200


def test_service_block_links_are_written_by_the_demo_seed_in_the_tenant(tenant) -> None:
    from demo.scheduling import seed_scheduling

    with scope(tenant=tenant):
        seed_scheduling(tenant)
        block = ServiceBlock.objects.get()
        assert block.appointment_types.exists()
        assert set(ServiceBlockAppointmentType.objects.values_list("tenant_id", flat=True)) == {tenant.pk}


# --- the data migrations keep existing links -------------------------------------------------------------

BEFORE = [("accounts", "0002_tenant_welsh_enabled"), ("scheduling", "0002_working_intervals_do_not_overlap")]
AFTER = [
    ("accounts", "0003_officer_skills_tenant_scoped"),
    ("scheduling", "0003_service_block_links_tenant_scoped"),
]


@pytest.mark.django_db(transaction=True)
def test_migrations_copy_existing_links_with_their_tenant_and_drop_cross_tenant_ones() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    executor.migrate(BEFORE)
    try:
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        Tenant, Officer, Skill, User = (
            old.get_model("accounts", name) for name in ["Tenant", "Officer", "Skill", "User"]
        )
        AppointmentType, Category, ServiceBlockOld = (
            old.get_model("scheduling", name) for name in ["AppointmentType", "Category", "ServiceBlock"]
        )
        north, south = Tenant.objects.create(name="N", slug="n"), Tenant.objects.create(name="S", slug="s")
        officer = Officer.objects.create(tenant=north, user=User.objects.create(email="o@example.org"))
        food, secret = (
            Skill.objects.create(tenant=north, name="Food"),
            Skill.objects.create(tenant=south, name="X"),
        )
        officer.skills.add(food, secret)  # the second is a leak the old tables could hold
        kind = AppointmentType.objects.create(
            tenant=north,
            name="T",
            slug="t",
            category=Category.objects.create(tenant=north, name="C"),
            duration_minutes=30,
            location_mode="office",
        )
        block = ServiceBlockOld.objects.create(
            tenant=north, name="B", start=time(9), end=time(12), recurrence="RRULE:FREQ=WEEKLY;BYDAY=TU"
        )
        block.appointment_types.add(kind)
        block.officers.add(officer)
        ids = {"officer": officer.pk, "food": food.pk, "kind": kind.pk, "block": block.pk, "north": north.pk}
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)

    with scopes_disabled():
        assert list(OfficerSkill.objects.values_list("tenant_id", "officer_id", "skill_id")) == [
            (ids["north"], ids["officer"], ids["food"])
        ]
        assert list(
            ServiceBlockAppointmentType.objects.values_list(
                "tenant_id", "service_block_id", "appointment_type_id"
            )
        ) == [(ids["north"], ids["block"], ids["kind"])]
        assert list(
            ServiceBlockOfficer.objects.values_list("tenant_id", "service_block_id", "officer_id")
        ) == [(ids["north"], ids["block"], ids["officer"])]


@pytest.mark.django_db(transaction=True)
def test_migrations_reverse_back_to_the_automatic_tables() -> None:
    executor = MigrationExecutor(connection)
    latest = executor.loader.graph.leaf_nodes()
    tenant_pk = None
    with scopes_disabled():
        skill = SkillFactory()
        OfficerFactory(tenant=skill.tenant, skills=[skill])
        tenant_pk = skill.tenant_id
    try:
        executor.migrate(BEFORE)
        old = MigrationExecutor(connection).loader.project_state(BEFORE).apps
        Officer = old.get_model("accounts", "Officer")
        officer = Officer.objects.get(tenant_id=tenant_pk)
        assert list(officer.skills.values_list("pk", flat=True)) == [skill.pk]
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(latest)
    with scopes_disabled():
        assert OfficerSkill.objects.get().skill_id == skill.pk
