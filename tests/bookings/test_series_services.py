"""Recurring series: creation all-or-nothing or best-effort, the rolling horizon, cancelling and moving
occurrences, with the engine and the database checking every one."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bookings.models import Booking, BookingSeries, BookingStatus, ConflictCause, ConflictItem
from bookings.series_dates import Repeat, exdates, rule_dates, series_rule
from bookings.services import (
    SeriesError,
    booking_create,
    conflict_resolve,
    occurrence_book,
    occurrence_cancel,
    occurrence_move,
    series_create,
    series_materialise,
    series_roll_forward,
)
from notifications.models import Message, MessageStatus
from tests import builders as b
from tests.builders import NOW

LONDON = ZoneInfo("Europe/London")
TUESDAY = date(2027, 3, 2)  # London is on GMT until 28 March 2027


def local(day: date, hour: int, minute: int = 0) -> datetime:
    """A London wall-clock time."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=LONDON)


def utc(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def tuesdays(n: int, first: date = TUESDAY) -> list[date]:
    return [first + timedelta(weeks=k) for k in range(n)]


@pytest.fixture
def world(in_tenant):
    tenant = in_tenant
    ann = b.officer(tenant)
    return tenant, b.appointment_type(tenant), ann, b.customer(tenant)


def create(kind, customer, *, count=6, first=TUESDAY, at=time(10), now=NOW, repeat=Repeat.WEEKLY, **kw):
    return series_create(
        appointment_type=kind,
        customer=customer,
        recurrence=series_rule(repeat, first, count=count),
        first_date=first,
        start_time=at,
        now=now,
        **kw,
    )


def clash(kind, start, n=9):
    """Someone else takes the only officer at `start`."""
    return booking_create(
        appointment_type=kind, starts_at=start, customer=b.customer(kind.tenant, n), now=NOW
    )


def occurrences(series) -> list[tuple[date, datetime, str]]:
    return list(
        series.occurrences.order_by("occurrence_date").values_list("occurrence_date", "starts_at", "status")
    )


def test_a_weekly_series_books_every_date_as_an_ordinary_booking(world) -> None:
    _tenant, kind, ann, customer = world
    result = create(kind, customer, officer=ann, location="1 High Street")

    series = result.series
    assert result.conflicts == [] and result.other_officer == []
    assert occurrences(series) == [(d, local(d, 10), "confirmed") for d in tuesdays(6)]
    for booking in result.booked:
        assert booking.customer == customer and booking.location == "1 High Street"
        assert list(booking.assignments.values_list("officer_id", flat=True)) == [ann.pk]
    assert series.materialised_until == tuesdays(6)[-1]


def test_each_occurrence_gets_its_confirmation_and_reminders(world) -> None:
    _tenant, kind, _ann, customer = world
    result = create(kind, customer, count=3)

    for booking in result.booked:
        topic = f"booking:{booking.reference}"
        assert Message.objects.filter(topic=topic, kind="confirmation").count() == 1
        due = set(
            Message.objects.filter(topic=topic, kind="reminder", status=MessageStatus.PENDING).values_list(
                "due_at", flat=True
            )
        )
        assert due == {booking.starts_at - timedelta(hours=h) for h in kind.reminder_hours}
        assert due


def test_ten_local_stays_ten_local_across_the_spring_and_autumn_changes(world) -> None:
    _tenant, kind, _ann, customer = world
    spring = create(kind, customer, first=date(2027, 3, 23), count=3)
    assert [b.starts_at for b in spring.booked] == [
        utc(date(2027, 3, 23), 10),  # GMT
        utc(date(2027, 3, 30), 9),  # BST: 10:00 local
        utc(date(2027, 4, 6), 9),
    ]
    autumn_now = datetime(2027, 10, 1, 9, tzinfo=UTC)
    autumn = create(kind, b.customer(kind.tenant, 2), first=date(2027, 10, 26), count=2, now=autumn_now)
    assert [b.starts_at for b in autumn.booked] == [utc(date(2027, 10, 26), 9), utc(date(2027, 11, 2), 10)]


def test_all_or_nothing_with_one_clash_saves_nothing_and_offers_alternatives(world) -> None:
    _tenant, kind, _ann, customer = world
    clash(kind, local(date(2027, 3, 9), 10))

    result = create(kind, customer, mode="all_or_nothing")

    assert result.series is None and result.booked == []
    assert not BookingSeries.objects.exists()
    assert not Booking.objects.filter(customer=customer).exists()
    assert not Message.objects.filter(recipient=f"customer:{customer.pk}").exists()
    [conflict] = result.conflicts
    assert conflict.occurrence_date == date(2027, 3, 9) and conflict.starts_at == local(date(2027, 3, 9), 10)
    assert 1 <= len(conflict.alternatives) <= 3
    assert local(date(2027, 3, 9), 10) not in conflict.alternatives
    # Each alternative really is free: booking it works.
    clash(kind, conflict.alternatives[0], n=10)


def test_best_effort_books_the_rest_and_takes_the_clash_out_of_the_rule(world) -> None:
    _tenant, kind, _ann, customer = world
    clash(kind, local(date(2027, 3, 9), 10))

    result = create(kind, customer, mode="best_effort")

    series = BookingSeries.objects.get()
    assert result.series == series
    assert [c.occurrence_date for c in result.conflicts] == [date(2027, 3, 9)]
    assert [o[0] for o in occurrences(series)] == [d for d in tuesdays(6) if d != date(2027, 3, 9)]
    assert exdates(series.recurrence) == {date(2027, 3, 9)}
    assert date(2027, 3, 9) not in rule_dates(series.recurrence, series.first_date)


def test_a_busy_preferred_officer_is_replaced_and_the_result_says_so(world) -> None:
    tenant, kind, ann, customer = world
    bob = b.officer(tenant)
    booking_create(
        appointment_type=kind,
        starts_at=local(date(2027, 3, 9), 10),
        customer=b.customer(tenant, 9),
        officer_ids=[ann.pk],
        now=NOW,
    )
    result = create(kind, customer, officer=ann, count=3)

    assert result.conflicts == []
    [other] = result.other_officer
    assert other.occurrence_date == date(2027, 3, 9)
    assert list(other.assignments.values_list("officer_id", flat=True)) == [bob.pk]


@pytest.mark.parametrize(
    ("first", "count", "message"),
    [
        (date(2027, 2, 16), 3, "has passed"),
        (TUESDAY, 105, "at most 104"),
    ],
)
def test_bad_requests_are_refused_and_save_nothing(world, first, count, message) -> None:
    _tenant, kind, _ann, customer = world
    with pytest.raises(SeriesError, match=message):
        create(kind, customer, first=first, count=count)
    assert not BookingSeries.objects.exists() and not Booking.objects.exists()


def test_a_first_date_the_rule_does_not_give_and_an_endless_rule_are_refused(world) -> None:
    _tenant, kind, _ann, customer = world
    tuesday_rule = series_rule(Repeat.WEEKLY, TUESDAY, count=3)
    with pytest.raises(SeriesError, match="one of the dates"):
        series_create(
            appointment_type=kind,
            customer=customer,
            recurrence=tuesday_rule,
            first_date=date(2027, 3, 1),
            start_time=time(10),
            now=NOW,
        )
    endless = series_rule(Repeat.WEEKLY, TUESDAY, count=3)
    endless.rrules[0].count = None
    with pytest.raises(SeriesError, match="ends"):
        series_create(
            appointment_type=kind,
            customer=customer,
            recurrence=endless,
            first_date=TUESDAY,
            start_time=time(10),
            now=NOW,
        )
    assert not BookingSeries.objects.exists()


def test_the_same_request_twice_makes_one_series(world) -> None:
    _tenant, kind, _ann, customer = world
    first = create(kind, customer, count=3, idempotency_key="series-key-1")
    again = create(kind, customer, count=3, idempotency_key="series-key-1")
    assert again.series == first.series
    assert BookingSeries.objects.count() == 1 and Booking.objects.count() == 3


def test_cancelling_one_takes_its_date_out(world) -> None:
    _tenant, kind, _ann, customer = world
    series = create(kind, customer).series
    third = series.occurrences.get(occurrence_date=tuesdays(6)[2])

    cancelled = occurrence_cancel(booking=third, scope="one", reason="Holiday", now=NOW)

    assert [c.pk for c in cancelled] == [third.pk]
    series.refresh_from_db()
    assert exdates(series.recurrence) == {tuesdays(6)[2]} and series.sequence == 1
    assert [o[2] for o in occurrences(series)] == ["confirmed"] * 2 + ["cancelled"] + ["confirmed"] * 3


def test_cancelling_this_and_following_ends_the_rule_the_day_before(world) -> None:
    _tenant, kind, _ann, customer = world
    series = create(kind, customer).series
    fourth = series.occurrences.get(occurrence_date=tuesdays(6)[3])

    occurrence_cancel(booking=fourth, scope="following", now=NOW)

    series.refresh_from_db()
    assert [o[2] for o in occurrences(series)] == ["confirmed"] * 3 + ["cancelled"] * 3
    assert rule_dates(series.recurrence, series.first_date) == tuesdays(3)
    assert series.is_active


def test_cancelling_all_leaves_the_past_alone_and_stops_the_series(world) -> None:
    _tenant, kind, _ann, customer = world
    series = create(kind, customer).series
    later = local(tuesdays(6)[1], 12)  # the first two have happened

    occurrence_cancel(booking=series.occurrences.get(occurrence_date=TUESDAY), scope="all", now=later)

    series.refresh_from_db()
    assert [o[2] for o in occurrences(series)] == ["confirmed"] * 2 + ["cancelled"] * 4
    assert not series.is_active
    assert series_materialise(series=series, until=date(2027, 12, 31), now=later).booked == []


def test_moving_one_keeps_it_an_occurrence_of_its_date(world) -> None:
    _tenant, kind, _ann, customer = world
    series = create(kind, customer).series
    second = series.occurrences.get(occurrence_date=tuesdays(6)[1])

    result = occurrence_move(booking=second, scope="one", starts_at=local(tuesdays(6)[1], 14), now=NOW)

    assert result.conflicts == []
    second.refresh_from_db()
    assert (second.occurrence_date, second.starts_at, second.series_id) == (
        tuesdays(6)[1],
        local(tuesdays(6)[1], 14),
        series.pk,
    )


def test_moving_this_and_following_with_one_clash_moves_nothing(world) -> None:
    _tenant, kind, _ann, customer = world
    series = create(kind, customer).series
    clash(kind, local(tuesdays(6)[4], 14))
    before = occurrences(series)

    result = occurrence_move(
        booking=series.occurrences.get(occurrence_date=tuesdays(6)[2]),
        scope="following",
        start_time=time(14),
        now=NOW,
    )

    assert [c.occurrence_date for c in result.conflicts] == [tuesdays(6)[4]]
    assert result.conflicts[0].alternatives
    assert occurrences(series) == before
    series.refresh_from_db()
    assert series.start_time == time(10) and series.sequence == 0


def test_moving_this_and_following_moves_them_and_the_series_time(world) -> None:
    _tenant, kind, _ann, customer = world
    series = create(kind, customer, count=10).series  # runs into British Summer Time
    result = occurrence_move(
        booking=series.occurrences.get(occurrence_date=tuesdays(10)[2]),
        scope="following",
        start_time=time(14),
        now=NOW,
    )

    assert result.conflicts == [] and len(result.booked) == 8
    starts = {o[0]: o[1] for o in occurrences(series)}
    assert starts[tuesdays(10)[1]] == local(tuesdays(10)[1], 10)
    assert starts[tuesdays(10)[2]] == local(tuesdays(10)[2], 14)
    assert starts[tuesdays(10)[9]] == utc(tuesdays(10)[9], 13)  # 14:00 BST
    series.refresh_from_db()
    assert series.start_time == time(14)


def test_materialising_rolls_forward_and_is_idempotent(world, settings) -> None:
    settings.SERIES_HORIZON_DAYS = 21
    _tenant, kind, _ann, customer = world
    series = create(kind, customer, count=10).series  # horizon: up to 14 March
    assert [o[0] for o in occurrences(series)] == tuesdays(2)

    later = NOW + timedelta(weeks=3)
    first = series_materialise(series=series, until=date(2027, 12, 31), now=later)
    second = series_materialise(series=series, until=date(2027, 12, 31), now=later)

    assert [b.occurrence_date for b in first.booked] == tuesdays(10)[2:5]
    assert second.booked == [] and second.conflicts == []
    assert [o[0] for o in occurrences(series)] == tuesdays(5)
    # The daily task two weeks on: the next two Tuesdays, once.
    assert series_roll_forward(now=later + timedelta(weeks=2)) == 2
    assert series_roll_forward(now=later + timedelta(weeks=2)) == 0
    assert [o[0] for o in occurrences(series)] == tuesdays(7)


def test_a_clash_when_rolling_forward_goes_to_the_conflict_queue_and_out_of_the_rule(world, settings) -> None:
    settings.SERIES_HORIZON_DAYS = 21
    _tenant, kind, _ann, customer = world
    series = create(kind, customer, count=6).series
    clash(kind, local(tuesdays(6)[3], 10))

    result = series_materialise(series=series, until=date(2027, 12, 31), now=NOW + timedelta(weeks=2))
    again = series_materialise(series=series, until=date(2027, 12, 31), now=NOW + timedelta(weeks=2))

    assert [c.occurrence_date for c in result.conflicts] == [tuesdays(6)[3]]
    assert again.booked == [] and again.conflicts == []
    item = ConflictItem.objects.get()
    assert item.cause == ConflictCause.SERIES and item.resolved_at is None
    placeholder = item.booking
    assert (placeholder.status, placeholder.series_id, placeholder.occurrence_date) == (
        BookingStatus.NEEDS_REBOOKING,
        series.pk,
        tuesdays(6)[3],
    )
    assert not placeholder.assignments.exists()
    series.refresh_from_db()
    assert exdates(series.recurrence) == {tuesdays(6)[3]}

    # Settled by moving the placeholder to a free time: the date is part of the series again.
    occurrence_move(booking=placeholder, scope="one", starts_at=local(tuesdays(6)[3], 14), now=NOW)
    series.refresh_from_db()
    item.refresh_from_db()
    assert exdates(series.recurrence) == set() and item.resolved_at is not None


def test_booking_an_alternative_for_a_skipped_date_puts_it_back(world) -> None:
    _tenant, kind, _ann, customer = world
    clash(kind, local(date(2027, 3, 9), 10))
    result = create(kind, customer, mode="best_effort")
    [conflict] = result.conflicts

    booking = occurrence_book(
        series=result.series,
        occurrence_date=conflict.occurrence_date,
        starts_at=conflict.alternatives[0],
        now=NOW,
    )

    assert (booking.occurrence_date, booking.starts_at) == (date(2027, 3, 9), conflict.alternatives[0])
    result.series.refresh_from_db()
    assert exdates(result.series.recurrence) == set()
    with pytest.raises(SeriesError, match="booked already"):
        occurrence_book(
            series=result.series,
            occurrence_date=conflict.occurrence_date,
            starts_at=conflict.alternatives[-1],
            now=NOW,
        )


def test_a_clash_settled_in_the_conflict_queue_is_put_back_in_the_rule(world, settings) -> None:
    settings.SERIES_HORIZON_DAYS = 21
    _tenant, kind, _ann, customer = world
    series = create(kind, customer, count=6).series
    clash(kind, local(tuesdays(6)[3], 10))
    series_materialise(series=series, until=date(2027, 12, 31), now=NOW + timedelta(weeks=2))
    item = ConflictItem.objects.get()

    conflict_resolve(item=item, actor=None, starts_at=local(tuesdays(6)[3], 14), now=NOW + timedelta(weeks=2))
    series_materialise(series=series, until=date(2027, 12, 31), now=NOW + timedelta(weeks=2, days=1))

    series.refresh_from_db()
    assert exdates(series.recurrence) == set()
    live = series.occurrences.get(occurrence_date=tuesdays(6)[3])
    assert (live.status, live.starts_at) == (BookingStatus.CONFIRMED, local(tuesdays(6)[3], 14))
    assert series.occurrences.filter(occurrence_date=tuesdays(6)[3]).count() == 1


def test_the_daily_task_rolls_each_tenants_series_forward_once(world, other_tenant, settings) -> None:
    from unittest import mock

    import time_machine

    from bookings.tasks import series_materialise, series_materialise_all

    settings.SERIES_HORIZON_DAYS = 21
    tenant, kind, _ann, customer = world
    series = create(kind, customer, count=10).series
    with time_machine.travel(NOW + timedelta(weeks=3), tick=False):
        assert series_materialise.apply(kwargs={"tenant_id": tenant.pk}).get() == 3
        assert series_materialise.apply(kwargs={"tenant_id": tenant.pk}).get() == 0
    assert [o[0] for o in occurrences(series)] == tuesdays(5)
    with mock.patch.object(series_materialise, "apply_async") as send:
        assert series_materialise_all() == 2
    assert {c.kwargs["kwargs"]["tenant_id"] for c in send.call_args_list} == {tenant.pk, other_tenant.pk}
