"""Staff pages for recurring series: set one up from an appointment, see its dates, book an alternative
for a clash, cancel or move occurrences; permissions, other tenants and double submissions."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.urls import reverse
from django_scopes import scope

from accounts.models import Role
from bookings.models import Booking, BookingSeries, BookingStatus
from bookings.series_dates import Repeat, exdates, series_rule
from bookings.services import booking_create, series_create, series_materialise
from tests import builders as b
from tests.builders import NOW

pytestmark = pytest.mark.usefixtures("frozen")

TUESDAY = date(2027, 3, 2)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(tenant):
    officer = b.officer(tenant)
    kind = b.appointment_type(tenant)
    return tenant, kind, officer, b.customer(tenant)


@pytest.fixture
def desk(tenant, member_of, client_for):
    return client_for(tenant, member_of(tenant, Role.CUSTOMER_SERVICE))


def at10(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 10, tzinfo=UTC)  # London is on GMT in early March


def form_data(kind, officer=None, **overrides) -> dict[str, str]:
    return {
        "appointment_type": str(kind.pk),
        "first_date": "2027-03-02",
        "start_time": "10:00",
        "repeat": Repeat.WEEKLY,
        "ends": "count",
        "count": "4",
        "until": "",
        "officer": str(officer.pk) if officer else "",
        "mode": "all_or_nothing",
        "location": "",
        "notes": "",
        "submission": "3f1c0d9e8b7a4c2d",
        **overrides,
    }


def new_url(customer) -> str:
    return reverse("bookings:series-new") + f"?customer={customer.pk}"


def make_series(tenant, kind, customer, count=4, mode="all_or_nothing"):
    with scope(tenant=tenant):
        return series_create(
            appointment_type=kind,
            customer=customer,
            recurrence=series_rule(Repeat.WEEKLY, TUESDAY, count=count),
            first_date=TUESDAY,
            start_time=datetime(2027, 1, 1, 10).time(),
            mode=mode,
            now=NOW,
        )


def test_repeat_this_appointment_prefills_from_the_booking(world, desk) -> None:
    tenant, kind, officer, customer = world
    with scope(tenant=tenant):
        booking = booking_create(appointment_type=kind, starts_at=at10(date(2027, 2, 23)), customer=customer)
    page = desk.get(f"/staff/bookings/{booking.pk}/")
    link = reverse("bookings:series-new") + f"?booking={booking.pk}"
    assert link in page.content.decode()

    response = desk.get(link)
    assert response.status_code == 200
    form = response.context["form"]
    assert form.initial["first_date"] == date(2027, 3, 2) and form.initial["officer"] == officer.pk
    assert form.initial["start_time"].hour == 10 and form.initial["appointment_type"] == kind.pk
    # As a browser's date and time inputs accept them (a localised 02/03/2027 shows an empty field).
    assert 'value="2027-03-02"' in response.content.decode()
    assert 'value="10:00"' in response.content.decode()


def test_creating_a_series_shows_each_date_booked(world, desk) -> None:
    tenant, kind, officer, customer = world
    response = desk.post(new_url(customer), form_data(kind, officer))

    assert response.status_code == 303
    with scope(tenant=tenant):
        series = BookingSeries.objects.get()
        assert series.occurrences.filter(status=BookingStatus.CONFIRMED).count() == 4
    page = desk.get(response["Location"])
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [row.day for row in rows] == [date(2027, 3, d) for d in (2, 9, 16, 23)]
    assert all(row.live is not None for row in rows)
    assert officer.user.full_name in page.content.decode()


def test_a_double_submission_makes_one_series(world, desk) -> None:
    tenant, kind, officer, customer = world
    first = desk.post(new_url(customer), form_data(kind, officer))
    second = desk.post(new_url(customer), form_data(kind, officer))

    assert first.status_code == second.status_code == 303
    assert first["Location"].split("?")[0] == second["Location"].split("?")[0]
    with scope(tenant=tenant):
        assert BookingSeries.objects.count() == 1 and Booking.objects.count() == 4


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"count": "105"}, "count"),
        ({"count": ""}, "count"),
        ({"start_time": "25:00"}, "start_time"),
        ({"first_date": "2027-02-01"}, "first_date"),
        ({"ends": "until", "until": "2027-02-01"}, "until"),
        ({"location": "x" * 1000}, "location"),
        ({"repeat": "daily"}, "repeat"),
    ],
)
def test_bad_input_is_a_form_error_and_saves_nothing(world, desk, overrides, field) -> None:
    tenant, kind, _officer, customer = world
    response = desk.post(new_url(customer), form_data(kind, **overrides))
    assert response.status_code == 422
    assert field in response.context["form"].errors
    with scope(tenant=tenant):
        assert not BookingSeries.objects.exists()


def test_all_or_nothing_with_a_clash_books_nothing_and_says_why(world, desk) -> None:
    tenant, kind, _officer, customer = world
    with scope(tenant=tenant):
        booking_create(
            appointment_type=kind, starts_at=at10(date(2027, 3, 9)), customer=b.customer(tenant, 2)
        )

    response = desk.post(new_url(customer), form_data(kind))

    assert response.status_code == 409
    body = response.content.decode()
    assert "Some dates clash" in body and "Tue 9 Mar 2027" in body
    with scope(tenant=tenant):
        assert not BookingSeries.objects.exists()
        assert not Booking.objects.filter(customer=customer).exists()


def test_best_effort_then_booking_an_offered_alternative(world, desk) -> None:
    tenant, kind, _officer, customer = world
    with scope(tenant=tenant):
        booking_create(
            appointment_type=kind, starts_at=at10(date(2027, 3, 9)), customer=b.customer(tenant, 2)
        )
    response = desk.post(new_url(customer), form_data(kind, mode="best_effort"))
    assert response.status_code == 303

    page = desk.get(response["Location"])
    [skipped] = [row for row in page.context["rows"] if row.day == date(2027, 3, 9)]
    assert skipped.skipped and skipped.live is None and 1 <= len(skipped.alternatives) <= 3
    series_id = page.context["series"].pk

    start = skipped.alternatives[0]
    booked = desk.post(
        reverse("bookings:series-book", args=[series_id]),
        {"occurrence_date": "2027-03-09", "start": str(int(start.timestamp()))},
    )
    assert booked.status_code == 303
    with scope(tenant=tenant):
        series = BookingSeries.objects.get()
        occurrence = series.occurrences.get(occurrence_date=date(2027, 3, 9))
        assert occurrence.starts_at == start and exdates(series.recurrence) == set()


def test_cancel_this_and_following_after_a_confirmation_page(world, desk) -> None:
    tenant, kind, _officer, customer = world
    series = make_series(tenant, kind, customer).series
    with scope(tenant=tenant):
        third = series.occurrences.get(occurrence_date=date(2027, 3, 16))
    url = reverse("bookings:series-cancel", args=[series.pk])

    confirm = desk.get(url + f"?occurrence={third.pk}&scope=following")
    assert confirm.status_code == 200 and confirm.context["form"].initial["occurrence"] == third.pk
    assert desk.post(url, {"occurrence": third.pk, "scope": "following"}).status_code == 422  # no reason

    done = desk.post(url, {"occurrence": third.pk, "scope": "following", "reason": "Moving away"})

    assert done.status_code == 303
    with scope(tenant=tenant):
        statuses = list(series.occurrences.order_by("occurrence_date").values_list("status", flat=True))
    assert statuses == ["confirmed", "confirmed", "cancelled", "cancelled"]


def test_moving_following_with_a_clash_moves_nothing(world, desk) -> None:
    tenant, kind, _officer, customer = world
    series = make_series(tenant, kind, customer).series
    with scope(tenant=tenant):
        second = series.occurrences.get(occurrence_date=date(2027, 3, 9))
        booking_create(
            appointment_type=kind,
            starts_at=datetime(2027, 3, 23, 14, tzinfo=UTC),
            customer=b.customer(tenant, 2),
        )
        before = list(series.occurrences.values_list("pk", "starts_at"))

    response = desk.post(
        reverse("bookings:series-move", args=[series.pk]),
        {"occurrence": second.pk, "scope": "following", "start_time": "14:00"},
    )

    assert response.status_code == 409
    assert "Tue 23 Mar 2027" in response.content.decode()
    with scope(tenant=tenant):
        assert list(series.occurrences.values_list("pk", "starts_at")) == before


def test_moving_one_occurrence(world, desk) -> None:
    tenant, kind, _officer, customer = world
    series = make_series(tenant, kind, customer).series
    with scope(tenant=tenant):
        second = series.occurrences.get(occurrence_date=date(2027, 3, 9))

    response = desk.post(
        reverse("bookings:series-move", args=[series.pk]),
        {"occurrence": second.pk, "scope": "one", "start_time": "15:00", "new_date": "2027-03-10"},
    )

    assert response.status_code == 303
    with scope(tenant=tenant):
        second.refresh_from_db()
    assert second.starts_at == datetime(2027, 3, 10, 15, tzinfo=UTC) and second.occurrence_date == date(
        2027, 3, 9
    )


def test_officers_may_not_use_series_pages(world, member_of, client_for) -> None:
    tenant, kind, _officer, customer = world
    series = make_series(tenant, kind, customer).series
    officer_client = client_for(tenant, member_of(tenant, Role.OFFICER))
    assert officer_client.get(new_url(customer)).status_code == 403
    assert officer_client.post(new_url(customer), form_data(kind)).status_code == 403
    assert officer_client.get(reverse("bookings:series", args=[series.pk])).status_code == 403
    with scope(tenant=tenant):
        assert BookingSeries.objects.count() == 1


def test_another_tenants_series_is_not_found(world, other_tenant, desk) -> None:
    _tenant, _kind, _officer, _customer = world
    b.officer(other_tenant)
    theirs = make_series(other_tenant, b.appointment_type(other_tenant), b.customer(other_tenant, 3)).series
    for name in ("bookings:series", "bookings:series-cancel", "bookings:series-move"):
        assert desk.get(reverse(name, args=[theirs.pk])).status_code == 404
    assert desk.post(reverse("bookings:series-book", args=[theirs.pk]), {}).status_code == 404


def test_the_series_page_has_a_query_budget(world, desk, django_assert_max_num_queries) -> None:
    tenant, kind, _officer, customer = world
    series = make_series(tenant, kind, customer, count=12).series
    with django_assert_max_num_queries(30):
        response = desk.get(reverse("bookings:series", args=[series.pk]))
    assert response.status_code == 200 and len(response.context["rows"]) == 12


def test_a_series_clash_shows_in_the_conflict_queue(world, desk, settings) -> None:
    settings.SERIES_HORIZON_DAYS = 14
    tenant, kind, _officer, customer = world
    series = make_series(tenant, kind, customer, count=4).series
    with scope(tenant=tenant):
        booking_create(
            appointment_type=kind, starts_at=at10(date(2027, 3, 16)), customer=b.customer(tenant, 2)
        )
        series_materialise(series=series, until=date(2027, 12, 31), now=NOW + timedelta(weeks=2))
        placeholder = series.occurrences.get(occurrence_date=date(2027, 3, 16))

    page = desk.get(reverse("bookings:conflicts"))

    assert page.status_code == 200
    body = page.content.decode()
    assert placeholder.reference in body and "Recurring appointment could not be booked" in body


def test_monthly_on_the_nth_weekday_from_the_form(world, desk) -> None:
    _tenant, kind, _officer, customer = world
    data = form_data(kind, repeat=Repeat.MONTHLY_NTH_WEEKDAY, first_date="2027-03-09", count="3")
    response = desk.post(new_url(customer), data)
    assert response.status_code == 303

    page = desk.get(response["Location"])
    assert [row.day for row in page.context["rows"]] == [
        date(2027, 3, 9),
        date(2027, 4, 13),
        date(2027, 5, 11),
    ]
    assert "2nd Tuesday" in page.content.decode()
    # 10:00 local each time: GMT in March, BST from April.
    starts = [row.live.starts_at for row in page.context["rows"]]
    assert starts == [
        at10(date(2027, 3, 9)),
        *(datetime(2027, m, d, 9, tzinfo=UTC) for m, d in ((4, 13), (5, 11))),
    ]
