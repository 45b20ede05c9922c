"""Messages name what they are about and whom as plain strings: notifications sit below bookings."""

from django.db import migrations, models


def name_existing_messages(apps, schema_editor):
    Message = apps.get_model("notifications", "Message")
    for message in Message._base_manager.all().iterator():
        message.topic = f"booking:{message.booking.reference}"
        message.recipient = f"customer:{message.customer_id}"
        message.dedupe_key = f"message:{message.pk}"
        message.save(update_fields=["topic", "recipient", "dedupe_key"])


class Migration(migrations.Migration):
    dependencies = [
        ("notifications", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="message", name="topic", field=models.CharField(blank=True, max_length=100)
        ),
        migrations.AddField(
            model_name="message", name="recipient", field=models.CharField(blank=True, max_length=100)
        ),
        migrations.AddField(
            model_name="message", name="dedupe_key", field=models.CharField(default="", max_length=200),
            preserve_default=False,
        ),
        migrations.RunPython(name_existing_messages, migrations.RunPython.noop),
        migrations.RemoveField(model_name="message", name="booking"),
        migrations.RemoveField(model_name="message", name="customer"),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["tenant", "topic"], name="notificatio_tenant__topic_idx"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["tenant", "recipient"], name="notificatio_tenant__recip_idx"),
        ),
        migrations.AddConstraint(
            model_name="message",
            constraint=models.UniqueConstraint(
                fields=("tenant", "dedupe_key"), name="message_dedupe_key_unique_per_tenant"
            ),
        ),
    ]
