"""Nobody can take over someone else's contact details through the portal.

A booking keeps the contact details it was made with; the portal never changes an existing customer; one-
time codes and messages for a booking go only to that booking's own details; staff edit and merge
customers through audited services. Every variant of "someone else's email or mobile" books cleanly.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django_scopes import scope

from accounts.models import Role
from accounts.tenancy import TenantMismatch
from bookings.errors import BookingError
from bookings.models import Booking, BookingStatus, Customer, CustomerEvent
from bookings.services import booking_create, booking_reschedule, customer_merge, customer_update
from notifications.fakes import RecordingTwilioClient
from notifications.models import Message
from tests.bookings import test_portal as portal
from tests.bookings.test_portal import DETAILS, hold
from tests.builders import MONDAY, NOW, at

frozen = portal.frozen
service = portal.service
client = portal.client
pytestmark = pytest.mark.usefixtures("frozen")

VICTIM_EMAIL = "victim@example.org"
VICTIM_PHONE = "+447700900111"
ATTACKER_EMAIL = "mallory@example.org"
ATTACKER_PHONE = "+447700900666"


def submit(client, start, **details):
    """Holds `start` and submits the details form with DETAILS overridden by `details`."""
    url = hold(client, start).url
    page = client.get(url).content.decode()
    question = re.findall(r'name="(q_\d+)"', page)[0]
    data = {**DETAILS, question: "Cafe", **details}
    return client.post(url, {k: v for k, v in data.items() if v is not None}), url.split("/")[2]


@pytest.fixture
def victim(tenant):
    """Victoria, who booked by phone with staff: email and mobile on record, messages by email."""
    with scope(tenant=tenant):
        customer = Customer.objects.create(
            tenant=tenant,
            full_name="Victoria Victim",
            email=VICTIM_EMAIL,
            phone=VICTIM_PHONE,
            contact_by_email=True,
            contact_by_sms=False,
            consent_given_at=NOW,
        )
    return customer


@pytest.fixture
def victims_booking(tenant, service, victim):
    with scope(tenant=tenant):
        return booking_create(
            appointment_type=service, starts_at=at(MONDAY + timedelta(days=2), 10), customer=victim, now=NOW
        )


def record_of(customer):
    """What a customer's record says, to compare before and after."""
    with scope(tenant=customer.tenant):
        fresh = Customer.objects.get(pk=customer.pk)
    return {
        name: getattr(fresh, name)
        for name in (
            "full_name",
            "email",
            "phone",
            "address_line_1",
            "town",
            "postcode",
            "contact_by_email",
            "contact_by_sms",
            "preferred_language",
            "accessibility_needs",
            "consent_given_at",
        )
    }


def codes_reach(client, booking, contact) -> list[str]:
    """Where a one-time code asked for with `contact` went: email and SMS recipients."""
    mail.outbox.clear()
    RecordingTwilioClient.sent.clear()
    response = client.post("/manage/", {"reference": booking.reference, "contact": contact})
    assert response.status_code == 303
    return [m.to[0] for m in mail.outbox] + [s["To"] for s in RecordingTwilioClient.sent]


def messages_for(booking) -> list[tuple[str, str]]:
    """Where the booking's messages (confirmation, reminders) go: each (channel, address) once."""
    with scope(tenant=booking.tenant):
        sent = Message.objects.filter(topic=f"booking:{booking.reference}").values_list("channel", "to")
        return sorted(set(sent))


# --- the variants, through the portal ---------------------------------------------------------------------


def test_victims_email_with_attackers_mobile_changes_nothing_of_theirs(
    service, client, tenant, victim, victims_booking
) -> None:
    before = record_of(victim)
    response, reference = submit(
        client,
        at(MONDAY, 10),
        full_name="Mallory",
        email=VICTIM_EMAIL,
        phone="07700 900666",
        contact_by="sms",
        town="Elsewhere",
    )
    assert response.status_code == 303
    assert record_of(victim) == before
    with scope(tenant=tenant):
        attackers = Booking.objects.get(reference=reference)
    # The booking keeps what was typed, and its messages go there (Mallory's own phone, by SMS).
    assert (attackers.contact_name, attackers.contact_phone, attackers.contact_by_sms) == (
        "Mallory",
        ATTACKER_PHONE,
        True,
    )
    assert messages_for(attackers) == [("sms", ATTACKER_PHONE)]
    # Victoria's booking: codes and messages still go only to what she booked with.
    assert codes_reach(client, victims_booking, "07700 900666") == []
    assert codes_reach(client, victims_booking, VICTIM_EMAIL) == [VICTIM_EMAIL]
    with scope(tenant=tenant):
        booking_reschedule(booking=victims_booking, starts_at=at(MONDAY + timedelta(days=2), 14), now=NOW)
    assert set(messages_for(victims_booking)) == {("email", VICTIM_EMAIL)}


def test_victims_mobile_with_attackers_email_books_cleanly_and_changes_nothing(
    service, client, tenant
) -> None:
    with scope(tenant=tenant):  # Victoria gave staff only a mobile number
        victim = Customer.objects.create(
            tenant=tenant,
            full_name="Victoria",
            phone=VICTIM_PHONE,
            contact_by_email=False,
            contact_by_sms=True,
        )
        victims_booking = booking_create(
            appointment_type=service, starts_at=at(MONDAY + timedelta(days=2), 10), customer=victim, now=NOW
        )
    before = record_of(victim)
    response, reference = submit(
        client,
        at(MONDAY, 10),
        full_name="Mallory",
        email=ATTACKER_EMAIL,
        phone=VICTIM_PHONE,
        contact_by="both",
    )
    assert response.status_code == 303, response.content.decode()[:2000]
    assert record_of(victim) == before  # no email added to Victoria's record
    with scope(tenant=tenant):
        attackers = Booking.objects.get(reference=reference)
        assert attackers.customer.email == ATTACKER_EMAIL and attackers.customer_id != victim.pk
        assert attackers.customer.phone == ""  # the number is Victoria's on record; the booking keeps it
        assert attackers.contact_phone == VICTIM_PHONE
    # A code for Victoria's booking cannot be sent to Mallory's email.
    assert codes_reach(client, victims_booking, ATTACKER_EMAIL) == []
    assert codes_reach(client, victims_booking, VICTIM_PHONE) == [VICTIM_PHONE]


def test_email_and_mobile_of_two_different_customers(service, client, tenant) -> None:
    with scope(tenant=tenant):
        by_email = Customer.objects.create(tenant=tenant, full_name="Ann", email="ann@example.org")
        by_phone = Customer.objects.create(tenant=tenant, full_name="Bob", phone=VICTIM_PHONE)
    before = (record_of(by_email), record_of(by_phone))
    response, reference = submit(
        client, at(MONDAY, 10), email="ANN@example.org", phone=VICTIM_PHONE, contact_by="both"
    )
    assert response.status_code == 303
    assert (record_of(by_email), record_of(by_phone)) == before
    with scope(tenant=tenant):
        assert Booking.objects.get(reference=reference).customer_id == by_email.pk
        assert Customer.objects.count() == 2


def test_text_messages_only_with_someone_elses_mobile(
    service, client, tenant, victim, victims_booking
) -> None:
    before = record_of(victim)
    response, reference = submit(
        client, at(MONDAY, 10), full_name="Mallory", email="", phone=VICTIM_PHONE, contact_by="sms"
    )
    assert response.status_code == 303
    assert record_of(victim) == before  # not renamed, not switched to text messages
    with scope(tenant=tenant):
        booking = Booking.objects.get(reference=reference)
    assert booking.contact_name == "Mallory" and booking.contact_email == ""
    assert codes_reach(client, victims_booking, VICTIM_EMAIL) == [VICTIM_EMAIL]


@pytest.mark.parametrize("typed", ["VICTIM@EXAMPLE.ORG", " Victim@Example.org "])
def test_email_in_another_case_is_the_same_customer_and_changes_nothing(
    service, client, tenant, victim, victims_booking, typed
) -> None:
    before = record_of(victim)
    response, reference = submit(
        client, at(MONDAY, 10), full_name="Mallory", email=typed, phone="07700900666", contact_by="both"
    )
    assert response.status_code == 303
    assert record_of(victim) == before
    with scope(tenant=tenant):
        assert Customer.objects.count() == 1
        assert Booking.objects.get(reference=reference).contact_email == VICTIM_EMAIL
    assert codes_reach(client, victims_booking, "07700900666") == []


def test_two_people_sharing_one_mobile_can_both_book(service, client, tenant, client_for) -> None:
    first, _ref = submit(
        client, at(MONDAY, 10), email="ann@example.org", phone=VICTIM_PHONE, contact_by="both"
    )
    second, _ref = submit(
        client_for(tenant), at(MONDAY, 12), email="bob@example.org", phone=VICTIM_PHONE, contact_by="both"
    )
    assert (first.status_code, second.status_code) == (303, 303)
    with scope(tenant=tenant):
        assert sorted(Booking.objects.values_list("contact_phone", flat=True)) == [VICTIM_PHONE, VICTIM_PHONE]


def test_a_returning_customer_keeps_their_record_and_the_booking_keeps_what_they_gave(
    service, client, tenant, victim
) -> None:
    before = record_of(victim)
    response, reference = submit(
        client,
        at(MONDAY, 10),
        full_name="Victoria V",
        email=VICTIM_EMAIL,
        phone="",
        contact_by="email",
        accessibility_needs="Step-free access",
    )
    assert response.status_code == 303
    assert record_of(victim) == before
    with scope(tenant=tenant):
        booking = Booking.objects.get(reference=reference)
    assert booking.customer_id == victim.pk
    assert (booking.contact_name, booking.accessibility_needs, booking.contact_language) == (
        "Victoria V",
        "Step-free access",
        "en-gb",
    )
    assert booking.contact_consent_at == NOW


# --- staff: audited edits and merges ------------------------------------------------------------------------


@pytest.fixture
def staff(tenant, member_of):
    return member_of(tenant, Role.CUSTOMER_SERVICE).user


def test_staff_update_is_audited_and_existing_bookings_keep_their_contacts(
    tenant, service, victim, victims_booking, staff
) -> None:
    with scope(tenant=tenant):
        customer_update(
            customer=victim,
            actor=staff,
            now=NOW,
            email="new@example.org",
            contact_by_sms=True,
            reason="Phoned",
        )
        (event,) = CustomerEvent.objects.filter(customer=victim)
        assert (event.action, event.actor_id, event.reason) == ("updated", staff.pk, "Phoned")
        assert event.before == {"email": VICTIM_EMAIL, "contact_by_sms": False}
        assert event.after == {"email": "new@example.org", "contact_by_sms": True}
        victims_booking.refresh_from_db()
        assert victims_booking.contact_email == VICTIM_EMAIL
        later = booking_create(appointment_type=service, starts_at=at(MONDAY, 15), customer=victim, now=NOW)
    assert set(messages_for(later)) == {("email", "new@example.org"), ("sms", VICTIM_PHONE)}


def test_staff_update_refuses_someone_elses_email_in_words_and_changes_nothing(tenant, victim, staff) -> None:
    with scope(tenant=tenant):
        Customer.objects.create(tenant=tenant, full_name="Other", email="other@example.org")
        with pytest.raises(BookingError, match="Another customer already has this email"):
            customer_update(customer=victim, actor=staff, email="OTHER@example.org")
        assert not CustomerEvent.objects.exists()
    assert record_of(victim)["email"] == VICTIM_EMAIL


def test_merge_moves_bookings_fills_blanks_and_is_audited(
    tenant, service, victim, victims_booking, staff
) -> None:
    with scope(tenant=tenant):
        duplicate = Customer.objects.create(
            tenant=tenant, full_name="V. Victim", email="v@example.org", postcode="NT1 1AA"
        )
        other = booking_create(appointment_type=service, starts_at=at(MONDAY, 9), customer=duplicate, now=NOW)
        merged = customer_merge(source=duplicate, target=victim, actor=staff, now=NOW, reason="Same person")
        assert merged.postcode == "NT1 1AA" and merged.email == VICTIM_EMAIL
        assert not Customer.objects.filter(pk=duplicate.pk).exists()
        assert set(Booking.objects.values_list("customer_id", flat=True)) == {victim.pk}
        other.refresh_from_db()
        assert other.contact_email == "v@example.org"  # what it was booked with
        (event,) = CustomerEvent.objects.filter(customer=victim, action="merged")
        assert event.actor_id == staff.pk and event.before["source"]["id"] == duplicate.pk
        assert event.after["bookings_moved"] == 1


def test_merge_across_tenants_is_refused_and_changes_nothing(tenant, other_tenant, victim, staff) -> None:
    with scope(tenant=other_tenant):
        foreign = Customer.objects.create(tenant=other_tenant, full_name="Elsewhere", email="x@example.org")
    with scope(tenant=tenant), pytest.raises(TenantMismatch):
        customer_merge(source=foreign, target=victim, actor=staff)
    with scope(tenant=other_tenant):
        assert Customer.objects.filter(pk=foreign.pk).exists()
    with scope(tenant=tenant):
        assert not CustomerEvent.objects.exists()


def test_the_tenant_admins_customer_page_goes_through_the_audited_service(
    tenant, victim, client_for, member_of
) -> None:
    admin = member_of(tenant, Role.ADMINISTRATOR)
    data = {
        "full_name": "Victoria Victim",
        "email": VICTIM_EMAIL,
        "phone": "07700 900222",
        "preferred_language": "en-gb",
        "contact_by_email": "on",
    }
    response = client_for(tenant, admin).post(f"/admin/bookings/customer/{victim.pk}/change/", data)
    assert response.status_code == 302
    assert record_of(victim)["phone"] == "+447700900222"
    with scope(tenant=tenant):
        (event,) = CustomerEvent.objects.filter(customer=victim)
    assert event.actor_id == admin.user.pk and event.before["phone"] == VICTIM_PHONE
    page = client_for(tenant, admin).get(f"/admin/bookings/customer/{victim.pk}/change/").content.decode()
    assert "+447700900222" in page and "updated" in page


def test_the_admin_merges_selected_customers_into_the_first(tenant, victim, client_for, member_of) -> None:
    with scope(tenant=tenant):
        later = Customer.objects.create(
            tenant=tenant, full_name="Dup", email="dup@example.org", created_at=NOW + timedelta(days=1)
        )
        victim.created_at = NOW
        victim.save(update_fields=["created_at"])
    admin = client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))
    response = admin.post(
        "/admin/bookings/customer/",
        {"action": "merge_into_oldest", "_selected_action": [victim.pk, later.pk]},
    )
    assert response.status_code == 302
    with scope(tenant=tenant):
        assert list(Customer.objects.values_list("pk", flat=True)) == [victim.pk]
        assert CustomerEvent.objects.filter(action="merged").count() == 1


def test_a_held_booking_has_no_contacts_and_gets_no_messages(service, client, tenant) -> None:
    url = hold(client, at(MONDAY, 10)).url
    with scope(tenant=tenant):
        held = Booking.objects.get(reference=url.split("/")[2])
    assert held.status == BookingStatus.HELD and held.contact_email == ""
    assert messages_for(held) == []
