"""Team calendar, conflict queue and emergency pages: roles, other tenants' ids, query budgets, actions."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django_scopes import scope

from accounts.models import Role
from bookings.models import BookingAssignment, BookingStatus, ConflictItem
from bookings.services import booking_create
from scheduling.models import Absence, Priority
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import TeamFactory

pytestmark = pytest.mark.usefixtures("frozen")


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def desk(tenant, member_of):
    team = TeamFactory(tenant=tenant, name="North")
    officers = [b.officer(tenant) for _ in range(3)]
    with scope(tenant=tenant):
        for o in officers:
            o.team = team
            o.save()
        kind = b.appointment_type(tenant)
    return team, officers, kind, member_of(tenant, Role.MANAGER)


def book(tenant, kind, officer, hour, n, day=MONDAY):
    with scope(tenant=tenant):
        return booking_create(
            appointment_type=kind,
            starts_at=at(day, hour),
            customer=b.customer(tenant, n),
            now=NOW,
            officer_ids=[officer.pk],
        )


@pytest.mark.parametrize("url", ["/staff/team/", "/staff/conflicts/", "/staff/emergency/"])
def test_officers_may_not_open_the_desk_pages(tenant, member_of, client_for, url) -> None:
    assert client_for(tenant, member_of(tenant, Role.OFFICER)).get(url).status_code == 403


def test_team_calendar_has_a_fixed_query_count(
    tenant, desk, client_for, django_assert_max_num_queries
) -> None:
    team, officers, kind, manager = desk
    n = 0
    for i, officer in enumerate(officers):
        for day in (MONDAY, MONDAY + timedelta(days=1)):
            for hour in (9 + i, 13 + i):  # nobody else is busy then: two officers could take each
                n += 1
                book(tenant, kind, officer, hour, n, day=day)
    with scope(tenant=tenant):
        Absence.objects.create(
            tenant=tenant, officer=officers[0], starts_at=at(MONDAY, 16), ends_at=at(MONDAY, 17)
        )
    client = client_for(tenant, manager)
    with django_assert_max_num_queries(25):
        page = client.get(f"/staff/team/?team={team.pk}&view=week&date={MONDAY.isoformat()}")
    assert page.status_code == 200
    assert page.content.decode().count('name="officer"') == 12


def test_reassign_from_the_calendar(tenant, desk, client_for) -> None:
    team, officers, kind, manager = desk
    booking = book(tenant, kind, officers[0], 10, 1)
    back = f"/staff/team/?team={team.pk}&view=day&date={MONDAY.isoformat()}"
    answer = client_for(tenant, manager).post(
        f"/staff/team/reassign/{booking.pk}/", {"officer": officers[1].pk, "next": back}
    )
    assert answer.status_code == 303 and answer["Location"] == back
    with scope(tenant=tenant):
        assert list(
            BookingAssignment.objects.filter(booking=booking).values_list("officer_id", flat=True)
        ) == [officers[1].pk]


def test_reassign_to_a_busy_officer_says_so(tenant, desk, client_for) -> None:
    _team, officers, kind, manager = desk
    booking = book(tenant, kind, officers[0], 10, 1)
    book(tenant, kind, officers[1], 10, 2)
    answer = client_for(tenant, manager).post(
        f"/staff/team/reassign/{booking.pk}/", {"officer": officers[1].pk}
    )
    assert answer.status_code == 422 and "cannot take this appointment" in answer.content.decode()


def test_other_tenants_ids_are_404(tenant, other_tenant, desk, client_for, member_of) -> None:
    _team, officers, kind, _manager = desk
    booking = book(tenant, kind, officers[0], 10, 1)
    with scope(tenant=tenant):
        Absence.objects.create(
            tenant=tenant, officer=officers[0], starts_at=at(MONDAY, 9), ends_at=at(MONDAY, 12)
        )
        item = ConflictItem.objects.get()
    stranger = client_for(other_tenant, member_of(other_tenant, Role.MANAGER))
    assert (
        stranger.post(f"/staff/team/reassign/{booking.pk}/", {"officer": officers[1].pk}).status_code == 404
    )
    assert (
        stranger.post(f"/staff/conflicts/{item.pk}/accept/", {"officer": officers[1].pk}).status_code == 404
    )


def test_conflict_queue_query_budget_and_accepting_a_remedy(
    tenant, desk, client_for, django_assert_max_num_queries
) -> None:
    _team, officers, kind, manager = desk
    n = 0
    for day in (MONDAY, MONDAY + timedelta(days=1)):
        for hour in range(9, 16):
            n += 1
            book(tenant, kind, officers[0], hour, n, day=day)
    with scope(tenant=tenant):
        Absence.objects.create(
            tenant=tenant,
            officer=officers[0],
            starts_at=at(MONDAY, 0),
            ends_at=at(MONDAY, 23) + timedelta(days=1),
        )
        ConflictItem.objects.update(flagged_at=NOW)
        assert ConflictItem.objects.count() == 14
    client = client_for(tenant, manager)
    # A page is at most CONFLICT_QUEUE_PAGE_SIZE (10) items, one availability read (~11 queries) each.
    with django_assert_max_num_queries(10 * 11 + 15):
        page = client.get("/staff/conflicts/")
    text = page.content.decode()
    assert page.status_code == 200 and "Flagged to managers" in text and "at the same time" in text
    with scope(tenant=tenant):
        item = ConflictItem.objects.order_by("pk").first()
    answer = client.post(f"/staff/conflicts/{item.pk}/accept/", {"officer": officers[1].pk})
    assert answer.status_code == 303
    with scope(tenant=tenant):
        item.refresh_from_db()
        assert item.resolved_by == manager.user and item.resolved_at is not None
    assert client.post(f"/staff/conflicts/{item.pk}/accept/", {"officer": officers[1].pk}).status_code == 404


def test_emergency_books_by_displacing_and_queues_the_displaced(tenant, desk, client_for) -> None:
    _team, officers, kind, manager = desk
    with scope(tenant=tenant):
        urgent = b.appointment_type(tenant, name="Gas leak", urgent_target_hours=4)
    routine = [book(tenant, kind, o, h, 10 * i + h) for i, o in enumerate(officers) for h in range(9, 17)]
    client = client_for(tenant, manager)
    fields = {
        "appointment_type": urgent.pk,
        "priority": Priority.URGENT,
        "full_name": "Ann Urgent",
        "email": "ann@example.org",
        "reason": "Gas smell",
    }
    with time_machine.travel(at(MONDAY, 8), tick=False):
        page = client.get("/staff/emergency/", fields)
        assert page.status_code == 200 and "make way" in page.content.decode()
        option = page.context["options"][0]
        answer = client.post(
            "/staff/emergency/",
            {
                **fields,
                "start": int(option[0].slot.start.timestamp()),
                "displace": option[2],
                "officers": option[3],
            },
        )
    assert answer.status_code == 200 and answer.context["booked"].status == BookingStatus.CONFIRMED
    with scope(tenant=tenant):
        item = ConflictItem.objects.get()
        assert item.cause == "displaced" and item.booking_id in {r.pk for r in routine}


def test_emergency_form_errors_are_422(tenant, desk, client_for) -> None:
    *_rest, manager = desk
    page = client_for(tenant, manager).get("/staff/emergency/", {"appointment_type": "", "priority": "40"})
    assert page.status_code == 422 and "error-summary" in page.content.decode()
