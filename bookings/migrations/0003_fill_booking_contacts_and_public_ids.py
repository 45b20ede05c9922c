"""Gives every existing booking a public id, and the contact details its customer's record holds today (the
best record there is of what it was made with), so messages and codes for it keep going where they did."""

import uuid

from django.db import migrations

BATCH_SIZE = 1000


def fill(apps, schema_editor):
    Booking = apps.get_model("bookings", "Booking")
    # Historical models: the base manager is unscoped, as a migration must be.
    bookings = Booking._base_manager.filter(public_id__isnull=True).select_related("customer")
    batch = []
    for booking in bookings.iterator(chunk_size=BATCH_SIZE):
        booking.public_id = uuid.uuid4()
        customer = booking.customer
        if customer is not None:
            booking.contact_name = customer.full_name
            booking.contact_email = customer.email
            booking.contact_phone = customer.phone
            booking.contact_by_email = customer.contact_by_email
            booking.contact_by_sms = customer.contact_by_sms
            booking.contact_language = customer.preferred_language
            booking.contact_consent_at = customer.consent_given_at
            booking.accessibility_needs = customer.accessibility_needs
        batch.append(booking)
        if len(batch) >= BATCH_SIZE:
            _save(Booking, batch)
            batch = []
    _save(Booking, batch)


def _save(Booking, batch):
    Booking._base_manager.bulk_update(
        batch,
        [
            "public_id",
            "contact_name",
            "contact_email",
            "contact_phone",
            "contact_by_email",
            "contact_by_sms",
            "contact_language",
            "contact_consent_at",
            "accessibility_needs",
        ],
    )


class Migration(migrations.Migration):
    dependencies = [("bookings", "0002_booking_contacts_public_id_idempotency_keys")]

    operations = [migrations.RunPython(fill, migrations.RunPython.noop)]
