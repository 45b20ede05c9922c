"""Logos become LogoField: checked by content and stored as a PNG we wrote (accounts.logos).

Logos uploaded before are put through the same check: a good image is re-encoded under a new name, and
anything else (an SVG, HTML, a file that has gone missing) is cleared, since it will not be served any more.
The old files stay where they are for the operator to remove; accounts.media serves only current logos.
"""

from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.db import migrations

import accounts.logos


def reencode_existing_logos(apps, schema_editor):
    Tenant = apps.get_model("accounts", "Tenant")
    for tenant in Tenant.objects.exclude(logo=""):
        try:
            with default_storage.open(tenant.logo.name) as stored:
                cleaned = accounts.logos.logo_reencoded(stored)
        except (FileNotFoundError, ValidationError):
            tenant.logo = ""
        else:
            tenant.logo.save(cleaned.name, cleaned, save=False)
        tenant.save(update_fields=["logo"])


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0003_officer_skills_tenant_scoped"),
    ]

    operations = [
        migrations.AlterField(
            model_name="tenant",
            name="logo",
            field=accounts.logos.LogoField(
                blank=True,
                help_text="A PNG, JPEG or WebP image; it is stored as a PNG without its metadata.",
                upload_to=accounts.logos.logo_upload_to,
                verbose_name="logo",
            ),
        ),
        migrations.RunPython(reencode_existing_logos, migrations.RunPython.noop),
    ]
