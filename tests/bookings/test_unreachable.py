"""Staff see who could not be reached (bounced or failed messages of the last 30 days, and whether the
message went another way) and each customer's communication history; never another tenant's messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from accounts.models import Role
from bookings.contacts import ContactDetails
from bookings.models import Booking
from bookings.services import booking_create
from notifications.dispatch import message_deliver
from notifications.models import Message
from notifications.services import message_status_report
from scheduling.models import AppointmentType
from tests import builders as b
from tests.builders import MONDAY, NOW, at

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def book(tenant, n: int, contact: ContactDetails, hour: int = 10) -> Booking:
    with scope(tenant=tenant):
        if not AppointmentType.objects.exists():
            b.officer(tenant)
            b.appointment_type(tenant, capacity=50, reminder_hours=[])
        kind = AppointmentType.objects.select_related("tenant").get()
        return booking_create(
            appointment_type=kind,
            starts_at=at(MONDAY, hour),
            customer=b.customer(tenant, n),
            contact=contact,
            now=NOW - timedelta(days=40),
        )


def fail(booking: Booking, channel: str, *, status: str, error: str, days_ago: float) -> Message:
    """Sends the booking's confirmation on `channel`, then has the provider report it `status`."""
    with scope(tenant=booking.tenant):
        message = Message.objects.get(
            topic=f"booking:{booking.reference}", kind="confirmation", channel=channel
        )
    when = NOW - timedelta(days=days_ago)
    assert message_deliver(message.pk, now=when - timedelta(minutes=1)) == "sent"
    message.refresh_from_db()
    return message_status_report(
        channel=channel, provider_id=message.provider_id, status=status, error=error, at=when
    )


@pytest.fixture
def failures(tenant, other_tenant):
    """Ann's email bounced (her mobile got it instead); Bob's text failed with nowhere else to go; Cai's
    email bounced 31 days ago; Dee was reached; another tenant's customer bounced too."""
    ann = book(
        tenant, 1, ContactDetails(name="Ann", email="ann@example.org", phone="07700 900101", consent=True)
    )
    bob = book(tenant, 2, ContactDetails(name="Bob", phone="07700 900102", by_email=False, by_sms=True))
    cai = book(tenant, 3, ContactDetails(name="Cai", email="cai@example.org"))
    dee = book(tenant, 4, ContactDetails(name="Dee", email="dee@example.org"))
    eve = book(other_tenant, 5, ContactDetails(name="Eve", email="eve@example.org"))
    fail(ann, "email", status="bounced", error="550 5.1.1 Mailbox does not exist", days_ago=2)
    fail(bob, "sms", status="failed", error="30003: Unreachable destination handset", days_ago=1)
    fail(cai, "email", status="bounced", error="550 old bounce", days_ago=31)
    with scope(tenant=tenant):
        dee_message = Message.objects.get(topic=f"booking:{dee.reference}")
    assert message_deliver(dee_message.pk, now=NOW - timedelta(days=1)) == "sent"
    fail(eve, "email", status="bounced", error="550 theirs", days_ago=1)
    return ann, bob, cai, dee, eve


def rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [row for row in body.split("<tr>")[1:]]


def test_could_not_reach_lists_recent_bounces_and_failures_newest_first(
    failures, tenant, client_for, member_of
) -> None:
    ann, bob, _cai, _dee, _eve = failures
    response = client_for(tenant, member_of(tenant, Role.CUSTOMER_SERVICE)).get("/staff/unreachable/")
    html = response.content.decode()

    assert response.status_code == 200
    bob_row, ann_row = rows(html)  # newest first; Cai's is too old, Dee was reached, Eve is not ours
    assert f'href="/staff/customers/{bob.customer_id}/"' in bob_row and bob.reference in bob_row
    assert "+447700900102" in bob_row and "30003: Unreachable destination handset" in bob_row
    assert "Text message" in bob_row and "None: no other contact detail to use" in bob_row
    assert f'href="/staff/customers/{ann.customer_id}/"' in ann_row and ann.reference in ann_row
    assert "ann@example.org" in ann_row and "550 5.1.1 Mailbox does not exist" in ann_row
    assert "Text message to +447700900101: Queued" in ann_row  # the fallback went out
    assert "cai@example.org" not in html and "dee@example.org" not in html and "eve@example.org" not in html


def test_only_the_desk_roles_see_the_list_and_its_link(failures, tenant, client_for, member_of) -> None:
    for role in (Role.CUSTOMER_SERVICE, Role.MANAGER, Role.ADMINISTRATOR):
        client = client_for(tenant, member_of(tenant, role))
        assert client.get("/staff/unreachable/").status_code == 200
        assert 'href="/staff/unreachable/"' in client.get("/staff/").content.decode()
    officer = client_for(tenant, member_of(tenant, Role.OFFICER))
    assert officer.get("/staff/unreachable/").status_code == 403
    assert 'href="/staff/unreachable/"' not in officer.get("/staff/").content.decode()
    assert client_for(tenant).get("/staff/unreachable/").status_code == 302  # signed out: to the login


def test_the_list_costs_the_same_queries_however_long(tenant, client_for, member_of) -> None:
    client = client_for(tenant, member_of(tenant, Role.MANAGER))

    def failing(n: int) -> None:
        booking = book(
            tenant,
            n,
            ContactDetails(name=f"C{n}", email=f"c{n}@example.org", phone=f"07700 9002{n:02d}", consent=True),
            hour=10,
        )
        fail(booking, "email", status="bounced", error="550", days_ago=1)

    failing(1)
    client.get("/staff/unreachable/")  # the session's first save is not the page's cost
    with CaptureQueriesContext(connection) as few:
        assert client.get("/staff/unreachable/").status_code == 200
    for n in range(2, 12):
        failing(n)
    with CaptureQueriesContext(connection) as many:
        html = client.get("/staff/unreachable/").content.decode()
    assert len(rows(html)) == 11
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_customer_page_shows_their_communication_history_only(
    failures, tenant, client_for, member_of
) -> None:
    ann, bob, *_ = failures
    html = (
        client_for(tenant, member_of(tenant, Role.CUSTOMER_SERVICE))
        .get(f"/staff/customers/{ann.customer_id}/")
        .content.decode()
    )
    history = html.split('id="messages-title"', 1)[1].split('id="history-title"', 1)[0]
    assert history.count("<tr><td>") == 2  # the bounced email and the text sent instead
    assert "Confirmation" in history and "ann@example.org" in history and "+447700900101" in history
    assert "Bounced" in history and "550 5.1.1 Mailbox does not exist" in history
    assert "instead of the failed email" in history and ann.reference in history
    assert bob.reference not in history and "eve@example.org" not in history
