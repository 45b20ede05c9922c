"""Idempotency keys mean one operation: bound to the operation, the tenant and the request, for a while."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from unittest import mock

import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_scopes import scope

from bookings.errors import IdempotencyConflict
from bookings.models import Booking, BookingEvent, BookingStatus, IdempotencyKey
from bookings.services import (
    booking_cancel,
    booking_confirm,
    booking_create,
    booking_hold,
    booking_reschedule,
    idempotency_keys_purge,
)
from bookings.views.portal import CONFIRM_KEYS
from notifications.models import Message
from tests import builders as b
from tests.bookings import test_portal as portal
from tests.bookings.test_portal import DETAILS, hold
from tests.builders import MONDAY, NOW, at


@pytest.fixture
def world(in_tenant):
    tenant = in_tenant
    b.officer(tenant)
    return tenant, b.appointment_type(tenant)


def create(kind, customer, hour, key, **kwargs):
    return booking_create(
        appointment_type=kind,
        starts_at=at(MONDAY, hour),
        customer=customer,
        now=NOW,
        idempotency_key=key,
        **kwargs,
    )


def test_a_replay_returns_the_first_result_and_changes_nothing(world) -> None:
    tenant, kind = world
    customer = b.customer(tenant)
    first = create(kind, customer, 10, "req-1")
    counts = (Booking.objects.count(), BookingEvent.objects.count(), Message.objects.count())
    assert create(kind, customer, 10, "req-1").pk == first.pk
    assert (Booking.objects.count(), BookingEvent.objects.count(), Message.objects.count()) == counts
    record = IdempotencyKey.objects.get(key="req-1")
    assert (record.operation, record.booking_id, record.expires_at) == (
        "booking.create",
        first.pk,
        NOW + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS),
    )


def test_the_same_key_with_a_different_request_is_refused(world) -> None:
    tenant, kind = world
    customer = b.customer(tenant)
    create(kind, customer, 10, "req-1")
    before = (Booking.objects.count(), BookingEvent.objects.count())
    with pytest.raises(IdempotencyConflict, match="already made with different details"):
        create(kind, customer, 11, "req-1")  # another time
    with pytest.raises(IdempotencyConflict):
        create(kind, b.customer(tenant, 2), 10, "req-1")  # another customer
    assert (Booking.objects.count(), BookingEvent.objects.count()) == before


def test_the_same_key_for_another_operation_is_refused(world) -> None:
    tenant, kind = world
    booking = create(kind, b.customer(tenant), 10, "req-1")
    with pytest.raises(IdempotencyConflict):
        booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW, idempotency_key="req-1")
    with pytest.raises(IdempotencyConflict):
        booking_cancel(booking=booking, now=NOW, idempotency_key="req-1")
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CONFIRMED and Booking.objects.count() == 1


def test_confirming_under_a_used_key_with_other_details_is_refused(world) -> None:
    tenant, kind = world
    held = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
    customer = b.customer(tenant)
    booking_confirm(booking=held, customer=customer, now=NOW, idempotency_key="k", notes="A")
    with pytest.raises(IdempotencyConflict):
        booking_confirm(booking=held, customer=customer, now=NOW, idempotency_key="k", notes="B")
    held.refresh_from_db()
    assert held.notes == "A" and held.events.filter(action="confirmed").count() == 1


def test_keys_belong_to_one_tenant(world, other_tenant) -> None:
    tenant, kind = world
    create(kind, b.customer(tenant), 10, "shared-key")
    with scope(tenant=other_tenant):
        b.officer(other_tenant)
        foreign_kind = b.appointment_type(other_tenant)
        foreign = booking_create(
            appointment_type=foreign_kind,
            starts_at=at(MONDAY, 10),
            customer=b.customer(other_tenant),
            now=NOW,
            idempotency_key="shared-key",
        )
        assert foreign.tenant_id == other_tenant.pk


def test_a_lapsed_key_is_new_again_and_the_purge_removes_lapsed_keys(world) -> None:
    tenant, kind = world
    customer = b.customer(tenant)
    first = create(kind, customer, 10, "req-1")
    later = NOW + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
    second = booking_create(
        appointment_type=kind, starts_at=at(MONDAY, 11), customer=customer, now=later, idempotency_key="req-1"
    )
    assert second.pk != first.pk
    assert list(IdempotencyKey.objects.values_list("booking_id", flat=True)) == [second.pk]
    create(kind, customer, 14, "req-2")
    assert idempotency_keys_purge(now=later + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)) == 2
    assert idempotency_keys_purge(now=later + timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)) == 0


def test_the_purge_is_a_periodic_task_in_each_tenant(world, other_tenant) -> None:
    from bookings.tasks import purge_idempotency_keys, purge_idempotency_keys_everywhere

    tenant, kind = world
    create(kind, b.customer(tenant), 10, "req-1")
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # the task's now
    assert purge_idempotency_keys.apply(kwargs={"tenant_id": tenant.pk}).get() == 1
    assert purge_idempotency_keys.apply(kwargs={"tenant_id": tenant.pk}).get() == 0
    with mock.patch.object(purge_idempotency_keys, "apply_async") as send:
        assert purge_idempotency_keys_everywhere() == 2
    assert {c.kwargs["kwargs"]["tenant_id"] for c in send.call_args_list} == {tenant.pk, other_tenant.pk}
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "bookings.purge_idempotency_keys_everywhere" in scheduled


def test_a_reschedule_replayed_moves_once_and_a_different_time_under_its_key_is_refused(world) -> None:
    tenant, kind = world
    booking = create(kind, b.customer(tenant), 10, "")
    booking_reschedule(booking=booking, starts_at=at(MONDAY, 14), now=NOW, idempotency_key="move-1")
    booking_reschedule(booking=booking, starts_at=at(MONDAY, 14), now=NOW, idempotency_key="move-1")
    with pytest.raises(IdempotencyConflict):
        booking_reschedule(booking=booking, starts_at=at(MONDAY, 15), now=NOW, idempotency_key="move-1")
    booking.refresh_from_db()
    assert booking.starts_at == at(MONDAY, 14)
    assert booking.events.filter(action="rescheduled").count() == 1


def test_an_overlong_key_is_refused_in_words(world) -> None:
    tenant, kind = world
    from bookings.errors import BookingError

    with pytest.raises(BookingError, match="too long"):
        create(kind, b.customer(tenant), 10, "k" * 101)


# --- the portal: the server issues the key, and a double submission confirms once ------------------------

frozen = portal.frozen
service = portal.service
client = portal.client


@pytest.mark.usefixtures("frozen")
def test_the_same_details_posted_twice_confirm_once_and_land_on_the_confirmation(
    service, client, tenant
) -> None:
    url = hold(client, at(MONDAY, 10)).url
    reference = url.split("/")[2]
    page = client.get(url).content.decode()
    issued = client.session[CONFIRM_KEYS][reference]
    assert f'name="submission" value="{issued}"' in page  # the form echoes the server's key
    question = re.findall(r'name="(q_\d+)"', page)[0]
    data = {**DETAILS, question: "Cafe", "submission": issued}

    first = client.post(url, data)
    second = client.post(url, {**data, "submission": "forged-or-stale"})

    confirmation = f"/book/{reference}/confirmed/"
    assert first.status_code == 303 and first.url == confirmation
    assert second.url == confirmation
    assert "Booking confirmed" in client.get(second.url).content.decode()
    with scope(tenant=tenant):
        booking = Booking.objects.get(reference=reference)
        assert booking.events.filter(action="confirmed").count() == 1
        told = Message.objects.filter(topic=f"booking:{reference}").values_list("kind", flat=True)
        assert sorted(told) == ["confirmation", "reminder", "reminder"]  # one of each, not two
        assert list(IdempotencyKey.objects.values_list("key", flat=True)) == [f"portal-confirm:{issued}"]


@pytest.mark.usefixtures("frozen")
def test_a_conflicting_confirmation_is_a_409_that_keeps_what_was_typed(service, client) -> None:
    url = hold(client, at(MONDAY, 10)).url
    page = client.get(url).content.decode()
    question = re.findall(r'name="(q_\d+)"', page)[0]
    with mock.patch(
        "bookings.views.portal.booking_confirm_from_portal",
        side_effect=IdempotencyConflict("Already made otherwise."),
    ):
        response = client.post(url, {**DETAILS, question: "Cafe"})
    html = response.content.decode()
    assert response.status_code == 409
    assert "Already made otherwise." in html and 'value="Ann Example"' in html


@pytest.mark.django_db(transaction=True)
def test_two_copies_of_one_submission_racing_confirm_once(service, tenant, client_for) -> None:
    """The real double click: two requests of one browser in flight at once, each on its own connection."""
    with time_machine.travel(NOW, tick=False):
        browser = client_for(tenant)
        url = hold(browser, at(MONDAY, 10)).url
        page = browser.get(url).content.decode()
    question = re.findall(r'name="(q_\d+)"', page)[0]
    data = {**DETAILS, question: "Cafe"}
    cookie = browser.cookies["sessionid"].value
    barrier = threading.Barrier(2)
    answers: list[object] = [None, None]

    def submit(index: int) -> None:
        copy = client_for(tenant)
        copy.cookies["sessionid"] = cookie
        try:
            barrier.wait()
            answers[index] = copy.post(url, data)
        except BaseException as error:  # recorded, to fail the test with the cause
            answers[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(n,)) for n in range(2)]
    with time_machine.travel(NOW, tick=False):  # patched for every thread
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    reference = url.split("/")[2]
    assert [getattr(a, "status_code", a) for a in answers] in ([303, 303], [303, 302], [302, 303])
    assert {a.url for a in answers} == {f"/book/{reference}/confirmed/"}
    with scope(tenant=tenant):
        booking = Booking.objects.get(reference=reference)
        assert booking.status == BookingStatus.CONFIRMED
        assert booking.events.filter(action="confirmed").count() == 1
        told = Message.objects.filter(topic=f"booking:{reference}").values_list("kind", flat=True)
        assert sorted(told) == ["confirmation", "reminder", "reminder"]  # one of each, not two
