"""The staff start page, officers' diaries, the day sheet, the appointment page, outcomes and cases."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import time_machine
from django_scopes import scope

from accounts.models import Role
from bookings.errors import BookingError, InvalidTransition
from bookings.models import Booking, BookingEvent, BookingStatus, CaseKind, ConflictItem
from bookings.services import booking_cancel, booking_case_link, booking_create, booking_outcome_record
from scheduling.models import Absence, StaffingRequirement
from tests import builders as b
from tests.builders import MONDAY, NOW, at
from tests.factories import MembershipFactory, OfficerFactory

# Monday 1 March 2027, 13:00 UTC (London = UTC in winter): the morning's appointments have started.
TODAY_NOON = at(MONDAY, 13)


@pytest.fixture
def frozen():
    with time_machine.travel(TODAY_NOON, tick=False):
        yield


@pytest.fixture
def world(tenant):
    officer = b.officer(tenant, spans=[(time(8), time(20))], days=range(7))
    colleague = b.officer(tenant, spans=[(time(8), time(20))], days=range(7))
    kind = b.appointment_type(
        tenant,
        name="Food hygiene inspection",
        slug="food",
        documents_to_bring="Photo ID\nFood safety records",
    )
    customer = b.customer(tenant)
    return {"officer": officer, "colleague": colleague, "kind": kind, "customer": customer}


def book(tenant, kind, customer, starts_at, *, officers=None, **details) -> Booking:
    with scope(tenant=tenant):
        return booking_create(
            appointment_type=kind,
            starts_at=starts_at,
            customer=customer,
            now=NOW,
            officer_ids=[o.pk for o in officers] if officers else None,
            **details,
        )


def officer_client(tenant, client_for, officer):
    return client_for(tenant, officer.user)


def desk(tenant, client_for, role=Role.MANAGER):
    return client_for(tenant, MembershipFactory(tenant=tenant, role=role))


# --- the outcome service ---------------------------------------------------------------------------------


def test_outcome_completed_with_notes_is_audited_and_idempotent(world, tenant, in_tenant) -> None:
    booking = book(tenant, world["kind"], world["customer"], at(MONDAY, 10), officers=[world["officer"]])
    actor = world["officer"].user
    done = booking_outcome_record(
        booking=booking,
        outcome="completed",
        notes="All fine",
        follow_up_needed=True,
        actor=actor,
        now=TODAY_NOON,
    )
    assert (done.status, done.outcome_notes, done.follow_up_needed) == ("completed", "All fine", True)
    actions = list(BookingEvent.objects.filter(booking=booking).values_list("action", flat=True))
    assert actions == ["held", "confirmed", "completed", "outcome_recorded"]
    recorded = BookingEvent.objects.get(booking=booking, action="outcome_recorded")
    assert recorded.actor == actor
    assert recorded.after == {"outcome_notes": "All fine", "follow_up_needed": True}

    again = booking_outcome_record(
        booking=booking,
        outcome="completed",
        notes="All fine",
        follow_up_needed=True,
        actor=actor,
        now=TODAY_NOON,
    )
    assert again.status == "completed"
    assert BookingEvent.objects.filter(booking=booking).count() == 4


def test_outcome_no_show_and_refusals(world, tenant, in_tenant) -> None:
    booking = book(tenant, world["kind"], world["customer"], at(MONDAY, 10), officers=[world["officer"]])
    later = book(tenant, world["kind"], world["customer"], at(MONDAY, 15), officers=[world["officer"]])
    with pytest.raises(InvalidTransition, match="not started"):
        booking_outcome_record(
            booking=later, outcome="completed", notes="", follow_up_needed=False, actor=None, now=TODAY_NOON
        )
    with pytest.raises(BookingError):
        booking_outcome_record(
            booking=booking, outcome="cancelled", notes="", follow_up_needed=False, actor=None, now=TODAY_NOON
        )
    missed = booking_outcome_record(
        booking=booking,
        outcome="no_show",
        notes="Nobody home",
        follow_up_needed=False,
        actor=None,
        now=TODAY_NOON,
    )
    assert missed.status == BookingStatus.NO_SHOW
    with pytest.raises(InvalidTransition, match="already recorded"):
        booking_outcome_record(
            booking=booking, outcome="completed", notes="", follow_up_needed=False, actor=None, now=TODAY_NOON
        )
    later.refresh_from_db()
    assert later.status == BookingStatus.CONFIRMED and not later.outcome_notes
    assert not BookingEvent.objects.filter(
        booking=later, action__in=["completed", "outcome_recorded"]
    ).exists()


def test_outcome_of_a_cancelled_booking_is_refused(world, tenant, in_tenant) -> None:
    booking = book(tenant, world["kind"], world["customer"], at(MONDAY, 10))
    booking_cancel(booking=booking, now=NOW)
    with pytest.raises(InvalidTransition):
        booking_outcome_record(
            booking=booking,
            outcome="completed",
            notes="x",
            follow_up_needed=False,
            actor=None,
            now=TODAY_NOON,
        )
    booking.refresh_from_db()
    assert booking.status == BookingStatus.CANCELLED and booking.outcome_notes == ""


def test_case_link_is_audited_validated_and_idempotent(world, tenant, in_tenant) -> None:
    booking = book(tenant, world["kind"], world["customer"], at(MONDAY, 15))
    linked = booking_case_link(
        booking=booking, reference=" LIC/2027/001 ", kind="licence_application", actor=None
    )
    assert (linked.case_reference, linked.case_kind) == ("LIC/2027/001", CaseKind.LICENCE_APPLICATION)
    booking_case_link(booking=booking, reference="LIC/2027/001", kind="licence_application", actor=None)
    assert BookingEvent.objects.filter(booking=booking, action="case_linked").count() == 1
    for reference, kind in [("X1", ""), ("", "complaint"), ("X1", "nonsense")]:
        with pytest.raises(BookingError):
            booking_case_link(booking=booking, reference=reference, kind=kind, actor=None)
    booking.refresh_from_db()
    assert booking.case_reference == "LIC/2027/001"


# --- views -----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("frozen")
def test_start_page_by_role(world, tenant, client_for) -> None:
    book(tenant, world["kind"], world["customer"], at(MONDAY, 10), officers=[world["officer"]])
    book(tenant, world["kind"], world["customer"], at(MONDAY, 15), officers=[world["officer"]])
    with scope(tenant=tenant):
        b2 = book(tenant, world["kind"], world["customer"], at(MONDAY, 16), officers=[world["colleague"]])
        ConflictItem.objects.create(tenant=tenant, booking=b2, cause="absence")
    officer_page = officer_client(tenant, client_for, world["officer"]).get("/staff/").content.decode()
    assert "Next up" in officer_page
    next_up = officer_page.split("Next up")[1].split("Today's appointments")[0]
    assert "15:00" in next_up and "10:00" not in next_up

    service_page = desk(tenant, client_for, Role.CUSTOMER_SERVICE).get("/staff/").content.decode()
    assert 'action="/staff/customers/"' in service_page and 'name="q"' in service_page

    manager_page = desk(tenant, client_for, Role.MANAGER).get("/staff/").content.decode()
    assert "3 appointments this week" in manager_page
    assert 'href="/staff/conflicts/">1 open conflict<' in manager_page
    assert 'href="/admin/"' not in manager_page.split("</nav>")[1]
    admin_page = desk(tenant, client_for, Role.ADMINISTRATOR).get("/staff/").content.decode()
    assert 'href="/admin/"' in admin_page.split("</nav>")[1]


@pytest.mark.usefixtures("frozen")
def test_login_lands_on_the_bookings_start_page(tenant, client_for) -> None:
    membership = MembershipFactory(tenant=tenant, role=Role.OFFICER)
    client = client_for(tenant)
    response = client.post(
        "/accounts/login/", {"username": membership.user.email, "password": "correct-horse-battery"}
    )
    assert response.status_code == 302 and response.url == "/staff/"


@pytest.mark.usefixtures("frozen")
def test_officer_diary_day_shows_everything_an_officer_needs(world, tenant, client_for, settings) -> None:
    settings.MAP_URL_PATTERN = "https://maps.example/?q={query}"
    booking = book(
        tenant,
        world["kind"],
        world["customer"],
        at(MONDAY, 15),
        officers=[world["officer"]],
        location="1 High Street, Northtown NT1 1AA",
        answers={"What kind of business?": "Cafe"},
        case_reference="INS-42",
    )
    with scope(tenant=tenant):
        Booking.objects.filter(pk=booking.pk).update(
            contact_name="Ann Example",
            contact_phone="07700900982",
            accessibility_needs="Step-free access please",
        )
        Absence.objects.create(
            tenant=tenant,
            officer=world["officer"],
            starts_at=at(MONDAY, 17),
            ends_at=at(MONDAY, 19),
            note="Dentist",
        )
    response = officer_client(tenant, client_for, world["officer"]).get("/staff/diary/")
    page = response.content.decode()
    assert response.status_code == 200
    for expected in [
        "15:00",
        "Food hygiene inspection",
        "Ann Example",
        "07700900982",
        "https://maps.example/?q=1+High+Street%2C+Northtown+NT1+1AA",
        "Step-free access please",
        "What kind of business?",
        "Cafe",
        "Photo ID",
        "Food safety records",
        "INS-42",
        "Dentist",
        "Confirmed",
        "(today)",
    ]:
        assert expected in page, expected
    assert 'rel="prev"' in page and 'rel="next"' in page


@pytest.mark.usefixtures("frozen")
def test_diary_views_navigation_and_bad_dates(world, tenant, client_for) -> None:
    book(
        tenant,
        world["kind"],
        world["customer"],
        at(MONDAY + timedelta(days=2), 11),
        officers=[world["officer"]],
    )
    client = officer_client(tenant, client_for, world["officer"])
    day = client.get("/staff/diary/?view=day").content.decode()
    assert "11:00" not in day
    week = client.get("/staff/diary/?view=week&date=2027-03-03").content.decode()
    assert "Wednesday 3 March" in week and "11:00" in week and "1 March 2027 to 7 March 2027" in week
    assert "date=2027-02-22" in week and "date=2027-03-08" in week
    agenda = client.get("/staff/diary/?view=agenda").content.decode()
    assert "Wednesday 3 March" in agenda and "Tuesday 2 March" not in agenda
    partial = client.get("/staff/diary/?view=week&date=2027-03-03", headers={"HX-Request": "true"})
    assert partial.content.decode().lstrip().startswith('<div id="diary">')
    assert "HX-Request" in partial["Vary"]
    for bad in ["2027-02-31", "tomorrow", "9999-12-31", "0001-01-01"]:
        response = client.get(f"/staff/diary/?date={bad}")
        assert response.status_code == 400, bad
        assert "That date is not valid" in response.content.decode()
        assert "Monday 1 March 2027" in response.content.decode()
    assert client.get("/staff/diary/?view=month").status_code == 400


@pytest.mark.usefixtures("frozen")
def test_week_across_the_clock_change_is_seven_local_days(tenant, client_for) -> None:
    officer = b.officer(tenant, spans=[(time(0), time(23, 30))], days=range(7))
    kind = b.appointment_type(tenant, slug="dst")
    customer = b.customer(tenant)
    london = tenant.zone
    # Clocks go forward in London at 01:00 UTC on Sunday 28 March 2027: that week is 167 hours long, and
    # 00:30 on the Monday after is still Sunday in UTC.
    moments = {
        "first-monday": datetime(2027, 3, 22, 0, 30, tzinfo=london),
        "sunday-morning": datetime(2027, 3, 28, 9, 0, tzinfo=london),
        "sunday-night": datetime(2027, 3, 28, 22, 0, tzinfo=london),
        "next-monday": datetime(2027, 3, 29, 0, 30, tzinfo=london),
    }
    made = {
        name: book(tenant, kind, customer, m.astimezone(UTC), officers=[officer])
        for name, m in moments.items()
    }
    client = officer_client(tenant, client_for, officer)
    week = client.get("/staff/diary/?view=week&date=2027-03-24").content.decode()
    assert week.count('class="appointment"') == 3
    assert f"/staff/bookings/{made['next-monday'].pk}/" not in week
    sunday = week.split('id="day-2027-03-28"')[1]
    assert "09:00–10:00" in sunday and "22:00–23:00" in sunday
    next_week = client.get("/staff/diary/?view=week&date=2027-03-29").content.decode()
    monday = next_week.split('id="day-2027-03-29"')[1].split('id="day-2027-03-30"')[0]
    assert f"/staff/bookings/{made['next-monday'].pk}/" in monday and "00:30–01:30" in monday


@pytest.mark.usefixtures("frozen")
def test_multi_officer_appointment_is_in_each_diary_naming_the_others(world, tenant, client_for) -> None:
    with scope(tenant=tenant):
        StaffingRequirement.objects.create(tenant=tenant, appointment_type=world["kind"], count=2)
    booking = book(tenant, world["kind"], world["customer"], at(MONDAY, 15))
    names = {o.pk: o.user.full_name for o in (world["officer"], world["colleague"])}
    for officer, other in [(world["officer"], world["colleague"]), (world["colleague"], world["officer"])]:
        page = officer_client(tenant, client_for, officer).get("/staff/diary/").content.decode()
        assert f"/staff/bookings/{booking.pk}/" in page
        with_line = re.search(r"<dt>With</dt><dd>(.*?)</dd>", page).group(1)
        assert names[other.pk] in with_line and names[officer.pk] not in with_line


@pytest.mark.usefixtures("frozen")
def test_diary_access_by_role(world, tenant, other_tenant, client_for) -> None:
    officer, colleague = world["officer"], world["colleague"]
    mine = officer_client(tenant, client_for, officer)
    assert mine.get(f"/staff/officers/{officer.pk}/diary/").status_code == 200
    assert mine.get(f"/staff/officers/{colleague.pk}/diary/").status_code == 403
    for role in (Role.MANAGER, Role.ADMINISTRATOR, Role.CUSTOMER_SERVICE):
        assert desk(tenant, client_for, role).get(f"/staff/officers/{colleague.pk}/diary/").status_code == 200
    foreign = OfficerFactory(tenant=other_tenant)
    assert desk(tenant, client_for).get(f"/staff/officers/{foreign.pk}/diary/").status_code == 404
    assert client_for(tenant).get("/staff/diary/").status_code == 302


@pytest.mark.usefixtures("frozen")
def test_diary_and_day_sheet_query_counts_are_fixed(
    world, tenant, client_for, django_assert_max_num_queries
) -> None:
    with scope(tenant=tenant):
        StaffingRequirement.objects.create(tenant=tenant, appointment_type=world["kind"], count=2)
    for day in range(6):
        for hour in range(9, 14):
            book(tenant, world["kind"], world["customer"], at(MONDAY + timedelta(days=day), hour))
    client = officer_client(tenant, client_for, world["officer"])
    with django_assert_max_num_queries(12):
        week = client.get("/staff/diary/?view=week")
    assert week.content.decode().count('class="appointment"') == 30
    with django_assert_max_num_queries(12):
        agenda = client.get("/staff/diary/?view=agenda")
    assert agenda.content.decode().count('class="appointment"') == 30
    with django_assert_max_num_queries(12):
        sheet = client.get("/staff/diary/print/?date=2027-03-01")
    assert sheet.content.decode().count('class="appointment"') == 5
    manager = desk(tenant, client_for)
    manager.get("/staff/")  # signs the session in
    with django_assert_max_num_queries(8):
        assert "30 appointments this week" in manager.get("/staff/").content.decode()


@pytest.mark.usefixtures("frozen")
def test_day_sheet_prints_a_day_for_the_officer_or_a_chosen_one(world, tenant, client_for) -> None:
    book(tenant, world["kind"], world["customer"], at(MONDAY, 15), officers=[world["colleague"]])
    mine = officer_client(tenant, client_for, world["officer"]).get(
        f"/staff/diary/print/?date=2027-03-01&officer={world['colleague'].pk}"
    )
    assert "15:00" not in mine.content.decode()  # an officer's own sheet, whatever they ask
    theirs = desk(tenant, client_for).get(
        f"/staff/diary/print/?date=2027-03-01&officer={world['colleague'].pk}"
    )
    assert theirs.status_code == 200 and "15:00" in theirs.content.decode()
    assert (
        desk(tenant, client_for)
        .get(f"/staff/diary/print/?date=2027-13-01&officer={world['colleague'].pk}")
        .status_code
        == 400
    )


@pytest.mark.usefixtures("frozen")
def test_appointment_page_access(world, tenant, other_tenant, client_for) -> None:
    booking = book(tenant, world["kind"], world["customer"], at(MONDAY, 10), officers=[world["officer"]])
    url = f"/staff/bookings/{booking.pk}/"
    assert officer_client(tenant, client_for, world["officer"]).get(url).status_code == 200
    assert officer_client(tenant, client_for, world["colleague"]).get(url).status_code == 403
    assert (
        officer_client(tenant, client_for, world["colleague"]).post(url + "outcome/", {}).status_code == 403
    )
    assert desk(tenant, client_for, Role.CUSTOMER_SERVICE).get(url).status_code == 200
    assert desk(other_tenant, client_for).get(url).status_code in (302, 404)
    foreign_desk = client_for(other_tenant, MembershipFactory(tenant=other_tenant, role=Role.MANAGER))
    assert foreign_desk.get(url).status_code == 404
    assert foreign_desk.post(url + "outcome/", {"outcome": "completed"}).status_code == 404


@pytest.mark.usefixtures("frozen")
def test_recording_an_outcome_from_the_page_and_booking_the_follow_up(world, tenant, client_for) -> None:
    booking = book(tenant, world["kind"], world["customer"], at(MONDAY, 10), officers=[world["officer"]])
    client = officer_client(tenant, client_for, world["officer"])
    url = f"/staff/bookings/{booking.pk}/"
    assert "Book the follow-up" not in client.get(url).content.decode()
    response = client.post(
        url + "outcome/", {"outcome": "completed", "notes": "Kitchen clean", "follow_up_needed": "on"}
    )
    assert response.status_code == 303 and response.url == url
    page = client.get(url).content.decode()
    assert "Kitchen clean" in page and "The outcome is recorded." in page
    # An officer cannot book (/staff/book/ is for the desk), so is told who will rather than given the form.
    assert "Customer services will book it." in page and 'action="/staff/book/"' not in page
    assert "outcome_recorded" in page  # the history
    with scope(tenant=tenant):
        booking.refresh_from_db()
        assert (booking.status, booking.outcome_notes, booking.follow_up_needed) == (
            "completed",
            "Kitchen clean",
            True,
        )
        follow_up = book(
            tenant, world["kind"], world["customer"], at(MONDAY, 16), officers=[world["officer"]]
        )
        Booking.objects.filter(pk=follow_up.pk).update(follow_up_of=booking)
    page = client.get(url).content.decode()
    assert f"/staff/bookings/{follow_up.pk}/" in page
    assert f"/staff/bookings/{booking.pk}/" in client.get(f"/staff/bookings/{follow_up.pk}/").content.decode()


@pytest.mark.usefixtures("frozen")
def test_invalid_or_refused_outcome_is_422_and_changes_nothing(world, tenant, client_for) -> None:
    later = book(tenant, world["kind"], world["customer"], at(MONDAY, 15), officers=[world["officer"]])
    client = officer_client(tenant, client_for, world["officer"])
    url = f"/staff/bookings/{later.pk}/"
    assert "once the appointment has started" in client.get(url).content.decode()
    missing = client.post(url + "outcome/", {"notes": "x"})
    assert (
        missing.status_code == 422
        and "Choose whether the appointment took place." in missing.content.decode()
    )
    early = client.post(url + "outcome/", {"outcome": "completed"})
    assert early.status_code == 422 and "has not started yet" in early.content.decode()
    assert client.get(url + "outcome/").status_code == 405
    with scope(tenant=tenant):
        later.refresh_from_db()
        assert later.status == BookingStatus.CONFIRMED


@pytest.mark.usefixtures("frozen")
def test_case_link_from_the_page_and_case_search(world, tenant, other_tenant, client_for) -> None:
    first = book(tenant, world["kind"], world["customer"], at(MONDAY + timedelta(days=3), 10))
    second = book(tenant, world["kind"], world["customer"], at(MONDAY + timedelta(days=1), 10))
    book(
        tenant, world["kind"], world["customer"], at(MONDAY + timedelta(days=2), 10), case_reference="OTHER-1"
    )
    client = desk(tenant, client_for, Role.CUSTOMER_SERVICE)
    for booking in (first, second):
        response = client.post(
            f"/staff/bookings/{booking.pk}/case/", {"case_reference": "CMP-7", "case_kind": "complaint"}
        )
        assert response.status_code == 303
    bad = client.post(f"/staff/bookings/{first.pk}/case/", {"case_reference": "CMP-8", "case_kind": ""})
    assert bad.status_code == 422 and "Choose the kind of case." in bad.content.decode()

    found = client.get("/staff/cases/?ref=cmp-7")
    assert found.status_code == 303 and found.url == "/staff/cases/CMP-7/"
    page = client.get("/staff/cases/cmp-7/").content.decode()
    assert page.index(second.reference) < page.index(first.reference)
    assert "OTHER-1" not in page and "Complaint" in page
    assert "No appointments have the case reference" in client.get("/staff/cases/?ref=CMP").content.decode()
    assert client.get("/staff/cases/?ref=").status_code == 422
    assert client.get("/staff/cases/CMP/").status_code == 404
    foreign = client_for(other_tenant, MembershipFactory(tenant=other_tenant, role=Role.MANAGER))
    assert foreign.get("/staff/cases/CMP-7/").status_code == 404
    assert client.post(f"/staff/bookings/{first.pk}/case/", {}).status_code == 422
    removed = client.post(f"/staff/bookings/{first.pk}/case/", {"remove": "yes"})
    assert removed.status_code == 303
    page = client.get("/staff/cases/CMP-7/").content.decode()
    assert second.reference in page and first.reference not in page
    with scope(tenant=tenant):
        unlinked = BookingEvent.objects.filter(booking=first, action="case_linked").last()
        assert unlinked.after == {"case_reference": "", "case_kind": ""}


@pytest.mark.usefixtures("frozen")
def test_case_page_query_count_is_fixed(world, tenant, client_for, django_assert_max_num_queries) -> None:
    for day in range(6):
        for hour in range(9, 14):
            book(
                tenant,
                world["kind"],
                world["customer"],
                at(MONDAY + timedelta(days=day), hour),
                case_reference="BIG",
            )
    client = desk(tenant, client_for)
    with django_assert_max_num_queries(10):
        page = client.get("/staff/cases/BIG/")
    assert page.content.decode().count('class="appointment"') == 30


@pytest.mark.usefixtures("frozen")
def test_follow_up_form_picks_the_interval_and_type_and_lands_on_the_booking_flow(
    world, tenant, client_for
) -> None:
    booking = book(tenant, world["kind"], world["customer"], at(MONDAY, 10), officers=[world["officer"]])
    other = b.appointment_type(tenant, name="Revisit", slug="revisit")
    b.appointment_type(tenant, name="Retired", slug="retired", is_active=False)
    client = desk(tenant, client_for, Role.CUSTOMER_SERVICE)
    url = f"/staff/bookings/{booking.pk}/"
    assert 'action="/staff/book/"' not in client.get(url).content.decode()  # no follow-up needed yet
    with scope(tenant=tenant):
        booking_outcome_record(
            booking=booking, outcome="completed", notes="", follow_up_needed=True, actor=None, now=TODAY_NOON
        )
    page = client.get(url).content.decode()
    form = page[page.index('action="/staff/book/"') : page.index("Find a time for the follow-up")]
    assert (
        'method="get"' in page[page.index('action="/staff/book/"') - 40 : page.index('action="/staff/book/"')]
    )
    assert f'name="customer" value="{world["customer"].pk}"' in form
    assert f'name="follow_up_of" value="{booking.pk}"' in form
    # Monday 1 March 2027 + 1 week, 2 weeks, 4 weeks (the default), 3 months, 6 months.
    after = re.findall(r'name="after" value="([0-9-]+)"', form)
    assert after == ["2027-03-08", "2027-03-15", "2027-03-29", "2027-06-01", "2027-09-01"]
    assert re.search(r'value="2027-03-29" id="[^"]+" checked', form)
    assert len(re.findall(r'<label for="follow-up-after-', form)) == 5
    assert '<label class="label" for="follow-up-type">' in form
    types = re.findall(r'<option value="(\d+)"( selected)?', form)
    assert types[0] == (str(world["kind"].pk), " selected")
    assert (str(other.pk), "") in types and len(types) == 2  # the inactive type is not offered

    # Submitting the form (as a browser would, a GET) lands on the booking flow from that date.
    landed = client.get(
        "/staff/book/",
        {
            "customer": world["customer"].pk,
            "follow_up_of": booking.pk,
            "after": "2027-03-29",
            "type": other.pk,
        },
    )
    assert landed.status_code == 302
    assert landed.url.startswith("/staff/book/revisit/?")
    query = parse_qs(urlsplit(landed.url).query)
    assert query["after"] == ["2027-03-29"] and query["follow_up_of"] == [str(booking.pk)]
    slots = client.get(landed.url)
    assert slots.status_code == 200 and "29 March 2027" in slots.content.decode()
