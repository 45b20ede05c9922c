import uuid

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("bookings", "0003_fill_booking_contacts_and_public_ids")]

    operations = [
        migrations.AlterField(
            model_name="booking",
            name="public_id",
            field=models.UUIDField(default=uuid.uuid4, editable=False),
        ),
        migrations.AddConstraint(
            model_name="booking",
            constraint=models.UniqueConstraint(
                fields=("tenant", "public_id"), name="booking_public_id_unique_per_tenant"
            ),
        ),
    ]
