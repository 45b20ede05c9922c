"""Travel-aware availability for visits at the customer's address: who can get there in time (to the
second), what a slot adds to an officer's day, the recommended marks, placement under a race, and the
portal and staff flows that ask where the visit is."""

from __future__ import annotations

import re
import threading
from datetime import timedelta
from typing import Any
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled

from accounts.models import Role
from bookings.availability import AvailableSlot, available_slots
from bookings.availability.travel import Commitment, _gap, recommend, travel_legs
from bookings.errors import SlotUnavailable
from bookings.models import Booking, BookingAssignment, BookingStatus, Customer
from bookings.services import booking_hold, placement
from integrations.models import GazetteerEntry
from scheduling.locations import Place
from scheduling.models import LocationMode, WorkingPattern
from scheduling.routing.problem import Point
from scheduling.selectors import DayBases
from tests import builders as b
from tests.builders import MONDAY, NOW, at

KM = 1 / 111.2  # degrees of latitude in a kilometre, near enough
BASE = Point(52.0, -1.0)
NEAR = Point(52.0 + KM, -1.0)
FAR = Point(52.0 + 30 * KM, -1.0)
GEOCODER = "tests.bookings.test_travel_aware.GazetteerTable"
MONDAY_ZONE = ZoneInfo("Europe/London")


class GazetteerTable:
    """The gazetteer geocoder's contract on the tenant's GazetteerEntry rows (key: lower case, no spaces)."""

    def __init__(self, **options: Any) -> None:
        pass

    def geocode(self, *, tenant_id: int, query: str) -> Place | None:
        key = "".join(query.lower().split())
        with scopes_disabled():
            entry = GazetteerEntry.objects.filter(tenant_id=tenant_id, key=key).first()
        return Place(entry.label, Point(entry.latitude, entry.longitude)) if entry else None


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def seconds(a: Point, b_: Point) -> int:
    return travel_legs({(a, b_)})[(a, b_)][0]


def based(officer, start: Point | None, end: Point | None = None) -> None:
    end = end or start
    WorkingPattern.objects.filter(officer=officer).update(
        start_latitude=start.latitude if start else None,
        start_longitude=start.longitude if start else None,
        end_latitude=end.latitude if end else None,
        end_longitude=end.longitude if end else None,
    )


def visit(tenant, **overrides):
    return b.appointment_type(tenant, slug="visit", location_mode=LocationMode.CUSTOMER_ADDRESS, **overrides)


def occupied_move(booking: Booking, *, lo=None, hi=None) -> None:
    """Moves a commitment's occupied span to the second (the grid never lands on a travel time)."""
    assignment = booking.assignments.get()
    span = assignment.occupied
    BookingAssignment.objects.filter(pk=assignment.pk).update(occupied=(lo or span.lower, hi or span.upper))


def starts(slots: list[AvailableSlot]) -> list:
    return [slot.start for slot in slots]


# --- the pure rule, to the second ---------------------------------------------------------------------


def test_reaching_the_visit_from_the_previous_commitment_exactly_in_time_is_allowed_one_second_late_not():
    legs = travel_legs({(FAR, BASE)})
    travel = legs[(FAR, BASE)][0]
    lo, hi = 100_000, 103_600
    on_time = _gap(lo, hi, [Commitment(0, lo - travel, FAR)], None, None)
    late = _gap(lo, hi, [Commitment(0, lo - travel + 1, FAR)], None, None)
    assert on_time.fit(lo, hi, BASE, legs) is not None
    assert late.fit(lo, hi, BASE, legs) is None


def test_reaching_the_next_commitment_exactly_in_time_is_allowed_one_second_late_not():
    legs = travel_legs({(BASE, FAR)})
    travel = legs[(BASE, FAR)][0]
    lo, hi = 100_000, 103_600
    assert _gap(lo, hi, [Commitment(hi + travel, hi + 9_000, FAR)], None, None).fit(lo, hi, BASE, legs)
    assert (
        _gap(lo, hi, [Commitment(hi + travel - 1, hi + 9_000, FAR)], None, None).fit(lo, hi, BASE, legs)
        is None
    )


def test_the_day_starts_and_ends_at_the_officers_places_and_places_without_a_point_impose_no_travel():
    legs = travel_legs({(FAR, BASE), (BASE, FAR), (FAR, FAR)})
    travel = legs[(FAR, BASE)][0]
    lo, hi = 100_000, 103_600
    far = DayBases(start=Place("Depot", FAR), end=Place("Depot", FAR))
    assert _gap(lo, hi, [], (lo - travel, hi + travel), far).fit(lo, hi, BASE, legs)
    assert _gap(lo, hi, [], (lo - travel + 1, hi + travel), far).fit(lo, hi, BASE, legs) is None
    assert _gap(lo, hi, [], (lo - travel, hi + travel - 1), far).fit(lo, hi, BASE, legs) is None
    # A commitment before the day starts is not the previous one: the day's start place is.
    assert (
        _gap(lo, hi, [Commitment(0, 10, BASE)], (lo - travel + 1, hi + travel), far).fit(lo, hi, BASE, legs)
        is None
    )
    # Nothing known about where the officer is: no travel, no cost.
    nowhere = _gap(lo, hi, [Commitment(lo - 60, lo, None), Commitment(hi, hi + 60, None)], (lo, hi), None)
    assert nowhere.fit(lo, hi, BASE, legs).seconds == 0
    # The cost is the detour: there and on, less the direct way.
    round_trip = _gap(lo, hi, [], (0, 10**6), far).fit(lo, hi, BASE, legs)
    assert round_trip.seconds == legs[(FAR, BASE)][0] + legs[(BASE, FAR)][0] - legs[(FAR, FAR)][0]
    # A commitment in the way (taken meanwhile) leaves no gap at all.
    assert _gap(lo, hi, [Commitment(lo + 60, lo + 120, None)], None, None) is None


def test_the_days_cheapest_slots_are_recommended_within_the_share_and_the_margin(settings):
    settings.TRAVEL_RECOMMENDED_SHARE = 0.2
    settings.TRAVEL_RECOMMENDED_MARGIN_MINUTES = 10

    def slot(hour: int, added: int, day: int = 0) -> AvailableSlot:
        start = at(MONDAY + timedelta(days=day), hour)
        return AvailableSlot(start, start + timedelta(hours=1), ((1,),), (), 1, added_travel_seconds=added)

    day = [slot(9, 900), slot(10, 0), slot(11, 300), slot(12, 2000), slot(13, 1200), slot(14, 50)]
    # Two of six (20%, rounded up), both within ten minutes of the best.
    assert [s.start.hour for s in recommend(day, MONDAY_ZONE) if s.recommended] == [10, 14]
    costly = [slot(9, 0), slot(10, 900), slot(11, 1000), slot(12, 1100), slot(13, 1200), slot(14, 1300)]
    assert [s.start.hour for s in recommend(costly, MONDAY_ZONE) if s.recommended] == [9]
    # Each day has its own best.
    both = recommend([slot(9, 5000), slot(10, 9000, day=1)], MONDAY_ZONE)
    assert [s.recommended for s in both] == [True, True]


# --- the engine with the database ---------------------------------------------------------------------


@pytest.mark.usefixtures("frozen")
def test_a_previous_visit_far_away_removes_the_slot_it_cannot_reach_to_the_second(tenant) -> None:
    with scope(tenant=tenant):
        b.officer(tenant)
        kind = visit(tenant)
        there = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 9), point=FAR, now=NOW)
        slot_start = at(MONDAY, 11)

        def offered() -> bool:
            found = available_slots(kind, slot_start, slot_start + timedelta(seconds=1), now=NOW, point=BASE)
            return starts(found) == [slot_start]

        occupied_move(there, hi=slot_start - timedelta(seconds=seconds(FAR, BASE)))
        assert offered()
        occupied_move(there, hi=slot_start - timedelta(seconds=seconds(FAR, BASE) - 1))
        assert not offered()
        # Without a point (and for a type not at the customer's address) nothing changes.
        assert starts(available_slots(kind, slot_start, slot_start + timedelta(seconds=1), now=NOW)) == [
            slot_start
        ]


@pytest.mark.usefixtures("frozen")
def test_an_officers_day_starts_and_ends_at_their_base(tenant) -> None:
    with scope(tenant=tenant):
        officer = b.officer(tenant)
        based(officer, FAR)
        kind = visit(tenant)
        office = b.appointment_type(tenant, slug="office", location_mode=LocationMode.OFFICE)
        day = (at(MONDAY, 0), at(MONDAY, 23))
        travel = seconds(FAR, BASE)
        assert travel > 30 * 60  # so the grid shows it
        slots = available_slots(kind, *day, now=NOW, point=BASE)
        plain = available_slots(kind, *day, now=NOW)
        assert starts(plain)[0] == at(MONDAY, 9) and starts(plain)[-1] == at(MONDAY, 16)
        assert starts(slots)[0] >= at(MONDAY, 9) + timedelta(seconds=travel)
        assert starts(slots)[0] - timedelta(minutes=30) < at(MONDAY, 9) + timedelta(seconds=travel)
        assert starts(slots)[-1] + timedelta(hours=1, seconds=seconds(BASE, FAR)) <= at(MONDAY, 17)
        assert starts(slots)[-1] + timedelta(minutes=30, hours=1, seconds=seconds(BASE, FAR)) > at(MONDAY, 17)
        assert starts(available_slots(office, *day, now=NOW, point=BASE)) == starts(
            available_slots(office, *day, now=NOW)
        )


@pytest.mark.usefixtures("frozen")
def test_a_neighbour_without_a_point_imposes_no_travel(tenant) -> None:
    with scope(tenant=tenant):
        b.officer(tenant)
        kind = visit(tenant)
        booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), now=NOW)
        booking_hold(appointment_type=kind, starts_at=at(MONDAY, 12), now=NOW)
        found = available_slots(kind, at(MONDAY, 11), at(MONDAY, 11, 1), now=NOW, point=FAR)
    assert starts(found) == [at(MONDAY, 11)]
    assert found[0].added_travel_seconds == 0


@pytest.mark.usefixtures("frozen")
def test_slots_carry_the_least_added_travel_and_the_nearest_officer_comes_first(tenant) -> None:
    with scope(tenant=tenant):
        far = b.officer(tenant)
        near = b.officer(tenant)
        based(far, FAR)
        based(near, BASE)
        kind = visit(tenant)
        [slot] = available_slots(kind, at(MONDAY, 12), at(MONDAY, 12, 1), now=NOW, point=NEAR)
        assert slot.officer_seats == ((near.pk, far.pk),)
        assert slot.added_travel_seconds == seconds(BASE, NEAR) + seconds(NEAR, BASE)
        assert slot.added_travel_metres and slot.added_travel_metres > 2000
        # The hold goes to the nearer officer, keeps the point, and says why.
        held = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 12), point=NEAR, now=NOW)
        assert held.assignments.get().officer_id == near.pk
        assert (held.latitude, held.longitude) == (NEAR.latitude, NEAR.longitude)
        assert "least added travel" in held.allocation_reason


@pytest.mark.usefixtures("frozen")
def test_the_query_count_does_not_grow_with_the_diary(tenant) -> None:
    with scope(tenant=tenant):
        officers = [b.officer(tenant) for _ in range(3)]
        for officer in officers:
            based(officer, BASE)
        kind = visit(tenant)
        week = (at(MONDAY, 0), at(MONDAY + timedelta(days=5), 0))

        def count() -> int:
            with CaptureQueriesContext(connection) as queries:
                available_slots(kind, *week, now=NOW, point=NEAR)
            return len(queries)

        available_slots(kind, *week, now=NOW)  # the open time, cached
        few = count()
        for day in range(5):
            for hour in (10, 12, 14):
                booking_hold(
                    appointment_type=kind,
                    starts_at=at(MONDAY + timedelta(days=day), hour),
                    point=NEAR,
                    now=NOW,
                )
        many = count()
    assert few == many


@pytest.mark.usefixtures("frozen")
def test_another_tenants_bookings_never_count(tenant, other_tenant) -> None:
    with scope(tenant=tenant):
        officer = b.officer(tenant)
        kind = visit(tenant)
    with scope(tenant=other_tenant):
        b.officer(other_tenant)
        theirs = booking_hold(
            appointment_type=visit(other_tenant), starts_at=at(MONDAY, 10), point=FAR, now=NOW
        )
    with scopes_disabled():
        # Even a row forged to name this tenant's officer belongs to the other tenant and is not read.
        BookingAssignment.objects.filter(booking=theirs).update(officer_id=officer.pk)
    with scope(tenant=tenant):
        found = available_slots(kind, at(MONDAY, 11), at(MONDAY, 11, 1), now=NOW, point=BASE)
    assert starts(found) == [at(MONDAY, 11)]


# --- placement under a race -----------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_neighbour_committed_during_placement_makes_the_slot_unavailable(tenant) -> None:
    with time_machine.travel(NOW, tick=False), scope(tenant=tenant):
        b.officer(tenant)
        kind = visit(tenant)
        original = placement._lock_calendars
        raced = []

        def neighbour() -> None:
            try:
                with scope(tenant=tenant):
                    raced.append(
                        booking_hold(appointment_type=kind, starts_at=at(MONDAY, 10), point=FAR, now=NOW)
                    )
            finally:
                connection.close()

        rival_started = []

        def lock_after_a_rival(officer_ids, resource_ids):
            if not rival_started:  # the first caller (ours) lets the rival through first; it locks normally
                rival_started.append(True)
                thread = threading.Thread(target=neighbour)
                thread.start()
                thread.join()
            return original(officer_ids, resource_ids)

        with (
            mock.patch.object(placement, "_lock_calendars", lock_after_a_rival),
            pytest.raises(SlotUnavailable) as refused,
        ):
            booking_hold(appointment_type=kind, starts_at=at(MONDAY, 11), point=BASE, now=NOW)
        assert [b_.starts_at for b_ in raced] == [at(MONDAY, 10)]
        assert list(Booking.objects.active().values_list("starts_at", flat=True)) == [at(MONDAY, 10)]
        assert at(MONDAY, 11) not in starts(refused.value.alternatives)
        # Without the rival, the same hold succeeds.
        Booking.objects.filter(pk=raced[0].pk).update(status=BookingStatus.CANCELLED)
        BookingAssignment.objects.filter(booking=raced[0]).update(is_active=False)
        held = booking_hold(appointment_type=kind, starts_at=at(MONDAY, 11), point=BASE, now=NOW)
        assert held.starts_at == at(MONDAY, 11)


# --- portal and staff flows ---------------------------------------------------------------------------


DETAILS = {
    "full_name": "Ann Example",
    "address_line_1": "1 High Street",
    "town": "Northtown",
    "postcode": "NT1 1AA",
    "contact_by": "email",
    "email": "ann@example.org",
    "consent": "on",
}


@pytest.fixture
def gazetteer(tenant):
    with scope(tenant=tenant):
        GazetteerEntry.objects.create(
            tenant=tenant, key="nt11aa", label="NT1 1AA", latitude=NEAR.latitude, longitude=NEAR.longitude
        )
        officer = b.officer(tenant)
        based(officer, BASE)
        visit(tenant)
    with override_settings(GEOCODER=GEOCODER):
        yield


@pytest.mark.usefixtures("frozen", "gazetteer")
def test_portal_asks_the_postcode_shows_recommended_times_and_the_booking_keeps_the_point(
    tenant, client_for
) -> None:
    client = client_for(tenant)
    first = client.get("/services/visit/")
    assert first.status_code == 200
    assert 'name="postcode"' in first.content.decode()
    page = client.get(f"/services/visit/?postcode=nt1+1aa&week={MONDAY.isoformat()}")
    html = page.content.decode()
    assert page.status_code == 200
    assert '<span class="tag">Recommended</span>' in html
    assert re.search(r'aria-label="[^"]*, recommended"', html)
    assert 'name="postcode" value="NT1 1AA"' in html  # carried with the chosen time
    assert "postcode=NT1%201AA" in html  # and by the week links

    # Nine o'clock is when the officer's day starts at the office, a kilometre away: not offered.
    assert f'value="{at(MONDAY, 9).isoformat()}"' not in html
    held = client.post("/services/visit/hold/", {"start": at(MONDAY, 10).isoformat(), "postcode": "NT1 1AA"})
    assert held.status_code == 302
    details = client.get(held.url).content.decode()
    assert 'value="NT1 1AA"' in details
    submission = re.search(r'name="submission" value="([0-9a-f]+)"', details).group(1)
    elsewhere = client.post(held.url, {**DETAILS, "postcode": "NT9 9ZZ", "submission": submission})
    assert elsewhere.status_code == 422
    assert "This time was chosen for a visit at NT1 1AA" in elsewhere.content.decode()
    done = client.post(held.url, {**DETAILS, "submission": submission})
    assert done.status_code == 303
    with scope(tenant=tenant):
        booking = Booking.objects.get()
    assert booking.status == BookingStatus.CONFIRMED
    assert (booking.latitude, booking.longitude) == (NEAR.latitude, NEAR.longitude)


@pytest.mark.usefixtures("frozen", "gazetteer")
@pytest.mark.parametrize(("where", "confirmed"), [("NEAR", True), ("FAR", False)])
def test_a_time_chosen_without_a_postcode_is_checked_for_travel_when_the_details_name_the_place(
    tenant, client_for, where, confirmed
) -> None:
    # The officer's day starts at nine at the office; the customer skipped the postcode and took 09:30.
    point = {"NEAR": NEAR, "FAR": FAR}[where]
    with scope(tenant=tenant):
        GazetteerEntry.objects.create(
            tenant=tenant, key="nt22bb", label="NT2 2BB", latitude=point.latitude, longitude=point.longitude
        )
    client = client_for(tenant)
    held = client.post("/services/visit/hold/", {"start": at(MONDAY, 9, 30).isoformat()})
    assert held.status_code == 302
    details = client.get(held.url).content.decode()
    submission = re.search(r'name="submission" value="([0-9a-f]+)"', details).group(1)
    done = client.post(held.url, {**DETAILS, "postcode": "NT2 2BB", "submission": submission})
    with scope(tenant=tenant):
        booking = Booking.objects.get()
        assert BookingAssignment.objects.filter(booking=booking, is_active=True).count() == 1
    if confirmed:  # a kilometre from the office: reachable by 09:30
        assert done.status_code == 303
        assert booking.status == BookingStatus.CONFIRMED
        assert (booking.latitude, booking.longitude) == (NEAR.latitude, NEAR.longitude)
    else:  # thirty kilometres: not by 09:30, so the hold stays as it was and other times are offered
        assert done.status_code == 409
        assert "no longer available" in done.content.decode()
        assert booking.status == BookingStatus.HELD
        assert booking.latitude is None and booking.customer_id is None


@pytest.mark.usefixtures("frozen", "gazetteer")
@pytest.mark.parametrize(
    ("postcode", "says"),
    [
        ("ZZ9 9ZZ", "We cannot find that postcode"),
        ("<script>", "Enter a real postcode"),
        ("A" * 5000, "Enter a real postcode"),
        ("", "Enter the postcode of the address to visit."),
    ],
)
def test_portal_refuses_a_postcode_it_cannot_place_and_stores_nothing(
    tenant, client_for, postcode, says
) -> None:
    client = client_for(tenant)
    page = client.get("/services/visit/", {"postcode": postcode})
    html = page.content.decode()
    assert page.status_code == 422
    assert says in html and "error-summary" in html
    assert "slot-list" not in html
    held = client.post("/services/visit/hold/", {"start": at(MONDAY, 9).isoformat(), "postcode": postcode})
    assert held.status_code == 400
    with scope(tenant=tenant):
        assert not Booking.objects.exists()
        assert not Customer.objects.exists()


@pytest.mark.usefixtures("frozen", "gazetteer")
def test_staff_booking_uses_the_callers_address_and_warns_when_it_is_unknown(
    tenant, client_for, member_of
) -> None:
    client = client_for(tenant, member_of(tenant, Role.CUSTOMER_SERVICE))
    with scope(tenant=tenant):
        known = b.customer(tenant, 1)
        unknown = b.customer(tenant, 2)
        Customer.objects.filter(pk=known.pk).update(postcode="NT1 1AA")
        Customer.objects.filter(pk=unknown.pk).update(postcode="ZZ9 9ZZ")
    page = client.get(f"/staff/book/visit/?customer={known.pk}&week={MONDAY.isoformat()}")
    assert page.status_code == 200
    assert "Recommended</span>" in page.content.decode()
    held = client.post(f"/staff/book/visit/?customer={known.pk}", {"start": at(MONDAY, 10).isoformat()})
    assert held.status_code == 302
    with scope(tenant=tenant):
        assert Booking.objects.values_list("latitude", "longitude").get() == (NEAR.latitude, NEAR.longitude)

    page = client.get(f"/staff/book/visit/?customer={unknown.pk}&week={MONDAY.isoformat()}")
    html = page.content.decode()
    assert page.status_code == 200
    assert "Travel was not checked." in html and "Recommended</span>" not in html
    held = client.post(f"/staff/book/visit/?customer={unknown.pk}", {"start": at(MONDAY, 11).isoformat()})
    assert held.status_code == 302
    with scope(tenant=tenant):
        assert Booking.objects.get(starts_at=at(MONDAY, 11)).latitude is None
