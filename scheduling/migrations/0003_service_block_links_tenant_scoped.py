"""A service block's appointment types and officers move from Django's automatic link tables to tenant-owned
ones (ServiceBlockAppointmentType, ServiceBlockOfficer).

As in accounts 0003: create, copy, drop, re-add, so the new tables are exactly what the models declare and
`makemigrations --check` vouches for them; the copy is a handful of rows per block. Each row takes its
block's tenant; a row whose other side belongs to another tenant is the leak this closes, and is not copied.
Composite foreign keys (tenant_id, side_id) -> side (tenant_id, id) then make such a row impossible.
"""

import django.db.models.deletion
from django.db import migrations, models

COMPOSITE_KEYS = [
    (
        "scheduling_serviceblockappointmenttype",
        "serviceblocktype_block_same_tenant",
        "service_block_id",
        "scheduling_serviceblock",
    ),
    (
        "scheduling_serviceblockappointmenttype",
        "serviceblocktype_type_same_tenant",
        "appointment_type_id",
        "scheduling_appointmenttype",
    ),
    (
        "scheduling_serviceblockofficer",
        "serviceblockofficer_block_same_tenant",
        "service_block_id",
        "scheduling_serviceblock",
    ),
    (
        "scheduling_serviceblockofficer",
        "serviceblockofficer_officer_same_tenant",
        "officer_id",
        "accounts_officer",
    ),
]

# (M2M field on ServiceBlock, new link model, its field for the other side)
LINKS = [
    ("appointment_types", "ServiceBlockAppointmentType", "appointment_type"),
    ("officers", "ServiceBlockOfficer", "officer"),
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
    ServiceBlock = apps.get_model("scheduling", "ServiceBlock")
    for field_name, model_name, side in LINKS:
        field = ServiceBlock._meta.get_field(field_name)
        automatic, other = field.remote_field.through, field.m2m_reverse_field_name()
        Link = apps.get_model("scheduling", model_name)
        rows = automatic.objects.values_list(
            "serviceblock_id", f"{other}_id", "serviceblock__tenant_id", f"{other}__tenant_id"
        )
        Link.objects.bulk_create(
            [
                Link(tenant_id=block_tenant, service_block_id=block_id, **{f"{side}_id": other_id})
                for block_id, other_id, block_tenant, other_tenant in rows
                if block_tenant == other_tenant
            ],
            batch_size=1000,
        )


def copy_links_back(apps, schema_editor):
    ServiceBlock = apps.get_model("scheduling", "ServiceBlock")
    for field_name, model_name, side in LINKS:
        field = ServiceBlock._meta.get_field(field_name)
        automatic, other = field.remote_field.through, field.m2m_reverse_field_name()
        Link = apps.get_model("scheduling", model_name)
        automatic.objects.bulk_create(
            [
                automatic(serviceblock_id=block_id, **{f"{other}_id": other_id})
                for block_id, other_id in Link.objects.values_list("service_block_id", f"{side}_id")
            ],
            batch_size=1000,
        )


def tenant_key():
    return models.ForeignKey(
        editable=False,
        on_delete=django.db.models.deletion.CASCADE,
        related_name="%(class)s_set",
        to="accounts.tenant",
    )


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_officer_skills_tenant_scoped"),
        ("scheduling", "0002_working_intervals_do_not_overlap"),
    ]

    operations = [
        migrations.AddConstraint(
            model_name="appointmenttype",
            constraint=models.UniqueConstraint(fields=("tenant", "id"), name="appointment_type_tenant_pair"),
        ),
        migrations.AddConstraint(
            model_name="serviceblock",
            constraint=models.UniqueConstraint(fields=("tenant", "id"), name="service_block_tenant_pair"),
        ),
        migrations.CreateModel(
            name="ServiceBlockAppointmentType",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "appointment_type",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        to="scheduling.appointmenttype",
                        verbose_name="appointment type",
                    ),
                ),
                (
                    "service_block",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="scheduling.serviceblock"),
                ),
                ("tenant", tenant_key()),
            ],
            options={
                "verbose_name": "appointment type",
                "verbose_name_plural": "appointment types",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "service_block", "appointment_type"),
                        name="service_block_type_unique_per_tenant",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ServiceBlockOfficer",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "officer",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, to="accounts.officer", verbose_name="officer"
                    ),
                ),
                (
                    "service_block",
                    models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="scheduling.serviceblock"),
                ),
                ("tenant", tenant_key()),
            ],
            options={
                "verbose_name": "officer",
                "verbose_name_plural": "officers (none: every officer)",
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "service_block", "officer"),
                        name="service_block_officer_unique_per_tenant",
                    )
                ],
            },
        ),
        # Copied before the composite keys exist: rows inserted under a deferred key leave trigger events
        # pending, and PostgreSQL then refuses the ALTER TABLE that adds Django's own keys at the end.
        migrations.RunPython(copy_links, copy_links_back),
        *composite_keys(COMPOSITE_KEYS),
        migrations.RemoveField(model_name="serviceblock", name="appointment_types"),
        migrations.RemoveField(model_name="serviceblock", name="officers"),
        migrations.AddField(
            model_name="serviceblock",
            name="appointment_types",
            field=models.ManyToManyField(
                related_name="service_blocks",
                through="scheduling.ServiceBlockAppointmentType",
                to="scheduling.appointmenttype",
            ),
        ),
        migrations.AddField(
            model_name="serviceblock",
            name="officers",
            field=models.ManyToManyField(
                blank=True,
                help_text="Leave empty for every officer.",
                related_name="service_blocks",
                through="scheduling.ServiceBlockOfficer",
                to="accounts.officer",
            ),
        ),
    ]
