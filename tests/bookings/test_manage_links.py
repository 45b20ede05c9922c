"""Manage links name a booking by an unguessable public id, never its sequential pk."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core import signing
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django_scopes import scope, scopes_disabled

from bookings.models import Booking
from bookings.tokens import MANAGE_SALT, BadLink, manage_token, public_id_from_manage_token
from tests import builders as b
from tests.bookings import test_portal as portal
from tests.bookings.test_portal import book
from tests.builders import MONDAY, at

frozen = portal.frozen
service = portal.service
client = portal.client


@pytest.mark.usefixtures("frozen")
def test_the_link_names_the_public_id_and_never_the_pk(service, client, tenant) -> None:
    booking = book(client, service)
    page = client.get(f"/book/{booking.reference}/confirmed/").content.decode()
    token = page.split("/manage/")[1].split("/")[0]
    data = signing.loads(token, salt=MANAGE_SALT)
    assert data == {"t": tenant.pk, "p": str(booking.public_id)}
    assert public_id_from_manage_token(token, tenant_id=tenant.pk) == booking.public_id
    assert booking.reference in client.get(f"/manage/{token}/").content.decode()


@pytest.mark.usefixtures("frozen")
@pytest.mark.parametrize(
    "payload",
    [
        lambda tenant, booking: {"t": tenant.pk, "b": booking.pk},  # the old style, a sequential id
        lambda tenant, booking: {"t": tenant.pk, "p": booking.pk},
        lambda tenant, booking: {"t": tenant.pk, "p": "not-a-uuid"},
        lambda tenant, booking: [tenant.pk, str(booking.public_id)],
    ],
    ids=["old-pk", "pk-as-public-id", "not-a-uuid", "not-a-dict"],
)
def test_old_style_and_malformed_links_get_the_bad_link_page(service, client, tenant, payload) -> None:
    booking = book(client, service)
    token = signing.dumps(payload(tenant, booking), salt=MANAGE_SALT, compress=True)
    for path in ("", "reschedule/", "cancel/", "calendar.ics"):
        response = client.get(f"/manage/{token}/{path}")
        assert response.status_code == 400, path
        assert "This link does not work" in response.content.decode()
    with pytest.raises(BadLink):
        public_id_from_manage_token(token, tenant_id=tenant.pk)


@pytest.mark.usefixtures("frozen")
def test_a_well_signed_link_to_no_booking_is_not_found(service, client, tenant) -> None:
    import uuid

    token = manage_token(tenant_id=tenant.pk, public_id=uuid.uuid4())
    assert client.get(f"/manage/{token}/").status_code == 404


def test_public_ids_are_random_and_unique_per_booking(in_tenant) -> None:
    tenant = in_tenant
    b.officer(tenant)
    kind = b.appointment_type(tenant)
    from bookings.services import booking_hold

    ids = {
        booking_hold(appointment_type=kind, starts_at=at(MONDAY, h), now=portal.NOW).public_id
        for h in (9, 10)
    }
    assert len(ids) == 2 and all(i.version == 4 for i in ids)


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_existing_bookings_distinct_public_ids_and_their_contacts(tenant) -> None:
    kind = b.appointment_type(tenant)
    with scope(tenant=tenant):
        customer = b.customer(tenant)
        customer.phone, customer.contact_by_sms, customer.preferred_language = "+447700900123", True, "cy"
        customer.save()
    executor = MigrationExecutor(connection)
    executor.migrate([("bookings", "0001_initial")])
    try:
        old = executor.loader.project_state([("bookings", "0001_initial")]).apps.get_model(
            "bookings", "Booking"
        )
        for n in range(3):
            start = datetime(2027, 3, 1, 9 + n, tzinfo=UTC)
            old.objects.create(
                tenant_id=tenant.pk,
                reference=f"BK-2222-2{n + 2}",
                appointment_type_id=kind.pk,
                customer_id=customer.pk if n else None,
                status="confirmed",
                starts_at=start,
                ends_at=start.replace(hour=10 + n),
                session_key=f"BK-2222-2{n + 2}",
            )
    finally:
        executor = MigrationExecutor(connection)
        executor.migrate(executor.loader.graph.leaf_nodes())
    with scopes_disabled():
        rows = list(Booking.objects.order_by("reference"))
    assert len({row.public_id for row in rows}) == 3 and all(row.public_id for row in rows)
    assert rows[0].contact_email == ""  # no customer: nothing to copy
    assert (
        rows[1].contact_email,
        rows[1].contact_phone,
        rows[1].contact_by_sms,
        rows[1].contact_language,
    ) == (
        "customer1@example.org",
        "+447700900123",
        True,
        "cy",
    )
