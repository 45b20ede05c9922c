"""Officer skills move from Django's automatic link table to a tenant-owned one (accounts.OfficerSkill).

Done as create, copy, drop, re-add rather than SeparateDatabaseAndState over the old table: the new table is
exactly what the model declares (its name, tenant column, indexes and unique constraint all made by Django),
so `makemigrations --check` vouches for it and nothing hand-written has to agree with the state. The copy
is cheap: a few rows per officer. Each row takes its officer's tenant; a row whose skill belongs to another
tenant than its officer is exactly the leak this closes, and is not copied.

The database then refuses a link across tenants: composite foreign keys (tenant_id, officer_id) and
(tenant_id, skill_id) point at the (tenant_id, id) keys declared on Officer and Skill.
"""

import django.db.models.deletion
from django.db import migrations, models

COMPOSITE_KEYS = [
    ("accounts_officerskill", "officerskill_officer_same_tenant", "officer_id", "accounts_officer"),
    ("accounts_officerskill", "officerskill_skill_same_tenant", "skill_id", "accounts_skill"),
]


def composite_keys(keys):
    return [
        migrations.RunSQL(
            f"ALTER TABLE {table} ADD CONSTRAINT {name} FOREIGN KEY (tenant_id, {column}) "
            f"REFERENCES {target} (tenant_id, id) DEFERRABLE INITIALLY DEFERRED",
            f"ALTER TABLE {table} DROP CONSTRAINT {name}",
        )
        for table, name, column, target in keys
    ]


def copy_links(apps, schema_editor):
    Officer = apps.get_model("accounts", "Officer")
    OfficerSkill = apps.get_model("accounts", "OfficerSkill")
    automatic = Officer._meta.get_field("skills").remote_field.through
    rows = automatic.objects.values_list("officer_id", "skill_id", "officer__tenant_id", "skill__tenant_id")
    OfficerSkill.objects.bulk_create(
        [
            OfficerSkill(tenant_id=officer_tenant, officer_id=officer_id, skill_id=skill_id)
            for officer_id, skill_id, officer_tenant, skill_tenant in rows
            if officer_tenant == skill_tenant
        ],
        batch_size=1000,
    )


def copy_links_back(apps, schema_editor):
    Officer = apps.get_model("accounts", "Officer")
    OfficerSkill = apps.get_model("accounts", "OfficerSkill")
    automatic = Officer._meta.get_field("skills").remote_field.through
    automatic.objects.bulk_create(
        [
            automatic(officer_id=officer_id, skill_id=skill_id)
            for officer_id, skill_id in OfficerSkill.objects.values_list("officer_id", "skill_id")
        ],
        batch_size=1000,
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_tenant_welsh_enabled"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="officer",
            constraint=models.UniqueConstraint(fields=("tenant", "id"), name="officer_tenant_pair"),
        ),
        migrations.AddConstraint(
            model_name="skill",
            constraint=models.UniqueConstraint(fields=("tenant", "id"), name="skill_tenant_pair"),
        ),
        migrations.CreateModel(
            name="OfficerSkill",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "officer",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="accounts.officer"),
                ),
                (
                    "skill",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="accounts.skill", verbose_name="skill"
                    ),
                ),
                (
                    "tenant",
                    models.ForeignKey(
                        editable=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="%(class)s_set",
                        to="accounts.tenant",
                    ),
                ),
            ],
            options={
                "verbose_name": "skill",
                "verbose_name_plural": "skills",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "officer", "skill"), name="officer_skill_unique_per_tenant"
                    )
                ],
            },
        ),
        # Copied before the composite keys exist: rows inserted under a deferred key leave trigger events
        # pending, and PostgreSQL then refuses the ALTER TABLE that adds Django's own keys at the end.
        migrations.RunPython(copy_links, copy_links_back),
        *composite_keys(COMPOSITE_KEYS),
        migrations.RemoveField(model_name="officer", name="skills"),
        migrations.AddField(
            model_name="officer",
            name="skills",
            field=models.ManyToManyField(
                blank=True, related_name="officers", through="accounts.OfficerSkill", to="accounts.skill"
            ),
        ),
    ]
