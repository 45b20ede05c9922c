"""Bookings keep the contact details they were made with; a public id for links; idempotency keys bound to
one operation; an audit trail of staff changes to customers; location as long as the address the form takes.

`public_id` is added nullable here, filled for existing rows by 0003, and made required and unique by 0004
(a single AddField with a default would give every existing row the same UUID).
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_initial"),
        ("bookings", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CustomerEvent",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("action", models.CharField(max_length=40)),
                ("before", models.JSONField(blank=True, default=dict)),
                ("after", models.JSONField(blank=True, default=dict)),
                ("reason", models.CharField(blank=True, max_length=500)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                (
                    "actor",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "customer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="events",
                        to="bookings.customer",
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
            options={"ordering": ["created_at", "pk"]},
        ),
        migrations.CreateModel(
            name="IdempotencyKey",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("key", models.CharField(max_length=100)),
                ("operation", models.CharField(max_length=40)),
                ("request_hash", models.CharField(max_length=64)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, editable=False)),
                ("expires_at", models.DateTimeField()),
                (
                    "booking",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="idempotency_keys",
                        to="bookings.booking",
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
                "indexes": [models.Index(fields=["tenant", "expires_at"], name="idempotency_key_expiry")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("tenant", "key"), name="idempotency_key_unique_per_tenant"
                    )
                ],
            },
        ),
        # Keys now live in IdempotencyKey, bound to their operation and request.
        migrations.RemoveConstraint(
            model_name="bookingevent",
            name="booking_event_idempotency_key_unique_per_tenant",
        ),
        migrations.RemoveField(model_name="bookingevent", name="idempotency_key"),
        migrations.AddField(
            model_name="booking",
            name="public_id",
            field=models.UUIDField(editable=False, null=True),
        ),
        migrations.AddField(
            model_name="booking",
            name="contact_name",
            field=models.CharField(blank=True, max_length=200, verbose_name="name given"),
        ),
        migrations.AddField(
            model_name="booking",
            name="contact_email",
            field=models.EmailField(blank=True, max_length=254, verbose_name="email given"),
        ),
        migrations.AddField(
            model_name="booking",
            name="contact_phone",
            field=models.CharField(blank=True, max_length=20, verbose_name="mobile number given"),
        ),
        migrations.AddField(
            model_name="booking",
            name="contact_by_email",
            field=models.BooleanField(default=False, verbose_name="contact by email"),
        ),
        migrations.AddField(
            model_name="booking",
            name="contact_by_sms",
            field=models.BooleanField(default=False, verbose_name="contact by text message"),
        ),
        migrations.AddField(
            model_name="booking",
            name="contact_language",
            field=models.CharField(
                choices=[("en-gb", "English"), ("cy", "Cymraeg")],
                default="en-gb",
                max_length=10,
                verbose_name="language",
            ),
        ),
        migrations.AddField(
            model_name="booking",
            name="contact_consent_at",
            field=models.DateTimeField(
                blank=True, null=True, verbose_name="consent to be contacted given at"
            ),
        ),
        migrations.AddField(
            model_name="booking",
            name="accessibility_needs",
            field=models.TextField(blank=True, max_length=2000, verbose_name="accessibility needs"),
        ),
        migrations.AddField(
            model_name="booking",
            name="client_hash",
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name="booking",
            name="location",
            field=models.CharField(blank=True, max_length=516, verbose_name="location"),
        ),
        migrations.AddIndex(
            model_name="booking",
            index=models.Index(
                condition=models.Q(("status", "held")),
                fields=["tenant", "client_hash"],
                name="booking_holds_by_client",
            ),
        ),
    ]
