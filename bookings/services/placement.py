"""Placing a booking on the calendar: checking the start, finding its slot, taking officers and resources.

The database has the last word: the exclusion constraints on BookingAssignment refuse an overlapping
active assignment, whichever code path writes. Everything here either prepares that insert or turns its
refusal into SlotUnavailable with the nearest alternatives.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Hashable
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, OperationalError, connection
from django.db.models import Model
from django.db.models.sql import InsertQuery
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer
from bookings.availability import (
    Allocation,
    AvailableSlot,
    NoAllocation,
    allocate,
    nearest_alternatives,
    needs_loads,
    slots_at,
    week_of,
)
from bookings.availability.slots import session_key_for
from bookings.availability.travel import travel_applies, travel_conflicts
from bookings.errors import BookingError, InvalidTransition, SlotUnavailable
from bookings.models import Booking, BookingAssignment, BookingEvent, BookingStatus
from scheduling.availability.intervals import Interval
from scheduling.availability.supply import to_epoch
from scheduling.models import AppointmentType, Resource
from scheduling.routing.problem import Point

# Exclusion violation; unique violation (seat of a group session); deadlock, as a backstop to the row locks.
CONFLICT_SQLSTATES = {"23P01", "23505", "40P01"}


class NotFree(Exception):
    """No slot at that start right now (seen before touching the database)."""


# Everything a lost race can raise while placing: callers turn these into SlotUnavailable.
PLACEMENT_CONFLICTS = (IntegrityError, OperationalError, NoAllocation, NotFree)


def place(
    booking: Booking,
    starts_at: datetime,
    *,
    now: datetime,
    officer_ids: Collection[int] | None = None,
    apply_notice: bool = True,
    event: Callable[[list[BookingAssignment]], BookingEvent] | None = None,
) -> list[BookingAssignment]:
    """Finds the slot, allocates officers and resources, and writes the booking and its assignments
    (returned), and `event(assignments)` with them in the same statement when given.

    Must run inside a savepoint: the assignments' insert is where a concurrent booking is refused.

    A visit at the customer's address with a point (`booking.latitude`/`longitude`, kept on the booking)
    goes only to an officer who can travel there from the previous commitment and on to the next one in
    time; that is checked again once the officers' rows are locked, so a neighbouring booking committed
    meanwhile cannot leave an impossible day (NotFree, as any lost race).
    """
    appointment_type = booking.appointment_type
    occupied = (
        starts_at - appointment_type.buffer_before,
        starts_at + appointment_type.duration + appointment_type.buffer_after,
    )
    ignore = [booking.pk] if booking.pk else []
    point = booking_point(booking)
    slot, lapsed, loads = _slot_at(appointment_type, starts_at, now, ignore, officer_ids, apply_notice, point)
    allocation = allocate(appointment_type, slot, loads=loads)
    if _in_the_way(lapsed, allocation, occupied):
        in_the_way = BookingAssignment.objects.filter(is_active=True, occupied__overlap=occupied)
        holds_expire_lapsed(
            Booking.objects.filter(
                status=BookingStatus.HELD, hold_expires_at__lte=now, pk__in=in_the_way.values("booking_id")
            ),
            now,
        )
    names = _lock_calendars(allocation.officer_ids, allocation.resource_ids)
    if point is not None and travel_applies(appointment_type, point):
        late = travel_conflicts(
            appointment_type,
            point,
            slot.start,
            slot.end,
            allocation.officer_ids,
            now=now,
            ignore_booking_ids=ignore,
        )
        if late:
            raise NotFree

    booking.starts_at = slot.start
    booking.ends_at = slot.end
    booking.allocation_reason = allocation.reason_with(names)
    if slot.session_key:
        booking.session_key = slot.session_key
        booking.seat = _free_seat(slot.session_key, appointment_type.capacity, ignore)
    elif appointment_type.is_group_session:
        booking.session_key, booking.seat = session_key_for(appointment_type, slot.start), 1
    else:
        booking.session_key, booking.seat = booking.reference, 1
    booking.save()
    assignments = [
        BookingAssignment(
            tenant_id=booking.tenant_id,
            booking=booking,
            occupied=occupied,
            session_key=booking.session_key,
            **{taken: calendar_id},
        )
        for taken, ids in (("officer_id", allocation.officer_ids), ("resource_id", allocation.resource_ids))
        for calendar_id in ids
    ]
    if event is None:
        return BookingAssignment.objects.bulk_create(assignments)
    rows_insert(assignments, [event(assignments)])
    return assignments


def booking_point(booking: Booking) -> Point | None:
    """Where the booking's visit happens, when known."""
    if booking.latitude is None or booking.longitude is None:
        return None
    return Point(booking.latitude, booking.longitude)


def rows_insert(first: list[Model], then: list[Model]) -> None:
    """Inserts two models' rows in one statement (the first in a data-modifying WITH), in that order, as
    their own inserts would write them (field defaults and pre_save included). `then` gets its ids back.
    Neither may depend on the other's ids: an audit row beside the rows it describes."""
    with_sql, with_params = _insert_sql(first, returning=False)
    sql, params = _insert_sql(then, returning=True)
    with connection.cursor() as cursor:
        cursor.execute(f"WITH written AS ({with_sql}) {sql}", (*with_params, *params))
        ids = [row[0] for row in cursor.fetchall()]
    for row, pk in zip(then, ids, strict=True):
        row.pk = pk
        row._state.adding = False


def _insert_sql(rows: list[Model], *, returning: bool) -> tuple[str, tuple[Any, ...]]:
    model = type(rows[0])
    fields = [field for field in model._meta.concrete_fields if field is not model._meta.auto_field]
    query = InsertQuery(model)
    query.insert_values(fields, rows)
    compiler = query.get_compiler(connection=connection)
    compiler.returning_fields = [model._meta.pk] if returning else None
    [(sql, params)] = compiler.as_sql()
    return sql, tuple(params)


def _lock_calendars(officer_ids: Collection[int], resource_ids: Collection[int]) -> dict[int, str]:
    """Serialises bookings of the same officers and resources; answers the officers' names.

    Exclusion constraints check concurrent inserts against each other, so two transactions inserting
    clashing assignments can deadlock waiting for one another. Taking the officers' and resources' rows in
    a fixed order first makes the second writer wait, then meet the first one's committed assignment.
    """
    names = dict(
        Officer.objects.select_for_update(of=("self",))
        .filter(pk__in=officer_ids)
        .order_by("pk")
        .values_list("pk", "user__full_name")
    )
    list(Resource.objects.select_for_update().filter(pk__in=resource_ids).order_by("pk").values_list("pk"))
    return names


def _slot_at(
    appointment_type: AppointmentType,
    starts_at: datetime,
    now: datetime,
    ignore: list[int],
    officer_ids: Collection[int] | None,
    apply_notice: bool,
    point: Point | None = None,
) -> tuple[AvailableSlot, dict[Hashable, list[Interval]], dict[int, int] | None]:
    matching, lapsed, loads = slots_at(
        appointment_type,
        starts_at,
        now=now,
        ignore_booking_ids=ignore,
        officer_ids=officer_ids,
        apply_notice=apply_notice,
        # The least-loaded strategy compares the week's load: read it with the booked time.
        load_week=week_of(appointment_type, starts_at) if needs_loads(appointment_type) else None,
        point=point,
    )
    if not matching:
        raise NotFree
    # Join a running group session before opening a new one.
    return max(matching, key=lambda slot: slot.session_key is not None), lapsed, loads


def _in_the_way(
    lapsed: dict[Hashable, list[Interval]], allocation: Allocation, occupied: tuple[datetime, datetime]
) -> bool:
    """Whether a lapsed hold still occupies a chosen calendar at the time wanted (its assignment would
    refuse the insert, and a group session's seat would look taken, until the hold is expired)."""
    lo, hi = to_epoch(occupied[0]), to_epoch(occupied[1])
    keys = [("officer", o) for o in allocation.officer_ids]
    keys += [("resource", r) for r in allocation.resource_ids]
    return any(start < hi and lo < end for key in keys for start, end in lapsed.get(key, ()))


def _free_seat(session_key: str, capacity: int, ignore: list[int]) -> int:
    taken = set(
        Booking.objects.active()
        .filter(session_key=session_key)
        .exclude(pk__in=ignore)
        .values_list("seat", flat=True)
    )
    free = [seat for seat in range(1, capacity + 1) if seat not in taken]
    if not free:
        raise NotFree
    return free[0]


def start_check(
    appointment_type: AppointmentType, starts_at: datetime, now: datetime, *, apply_notice: bool
) -> None:
    """Refuses, with a message for the person asking, a start that is naive, past, off the grid, too soon
    or too far ahead."""
    if timezone.is_naive(starts_at):
        raise BookingError(_("The time must carry a time zone."))
    if starts_at <= now:
        raise BookingError(_("That time is in the past. Choose a time from now on."))
    local = starts_at.astimezone(appointment_type.tenant.zone)
    minute_of_day = local.hour * 60 + local.minute
    if local.second or local.microsecond or minute_of_day % appointment_type.granularity_minutes:
        raise BookingError(
            _("Appointments start every %(minutes)d minutes; choose one of the times offered.")
            % {"minutes": appointment_type.granularity_minutes}
        )
    if apply_notice and starts_at < now + timedelta(minutes=appointment_type.min_notice_minutes):
        raise BookingError(_("This service needs more notice. Choose a later time."))
    if starts_at > now + timedelta(days=appointment_type.horizon_days):
        raise BookingError(
            _("This service can be booked at most %(days)d days ahead.")
            % {"days": appointment_type.horizon_days}
        )


def started_check(booking: Booking, now: datetime) -> None:
    if booking.starts_at > now:
        raise InvalidTransition(_("This appointment has not started yet."))


def holds_expire_lapsed(lapsed: Any, now: datetime) -> int:
    """Expires the given lapsed holds (skipping any another transaction is handling) and frees them."""
    bookings = list(lapsed.select_for_update(of=("self",), skip_locked=True))
    if not bookings:
        return 0
    ids = [b.pk for b in bookings]
    Booking.objects.filter(pk__in=ids).update(
        status=BookingStatus.EXPIRED, hold_expires_at=None, updated_at=now
    )
    BookingAssignment.objects.filter(booking_id__in=ids).update(is_active=False)
    BookingEvent.objects.bulk_create(
        [
            BookingEvent(
                tenant_id=b.tenant_id,
                booking=b,
                action="hold_expired",
                created_at=now,
                before={"status": BookingStatus.HELD},
                after={"status": BookingStatus.EXPIRED},
            )
            for b in bookings
        ]
    )
    return len(ids)


def assignments_release(booking: Booking) -> None:
    booking.assignments.filter(is_active=True).update(is_active=False)


def booking_locked(booking: Booking) -> Booking:
    """The booking's row, locked for the rest of the transaction, freshly read."""
    return (
        Booking.objects.select_for_update(of=("self",))
        .select_related("appointment_type__tenant")
        .get(pk=booking.pk)
    )


def reraise_unless_conflict(error: Exception) -> None:
    """Database errors that are not a lost race (a bug, a dropped connection) must not pass as one."""
    if isinstance(error, IntegrityError | OperationalError):
        cause = getattr(error, "__cause__", None)
        if getattr(cause, "sqlstate", None) not in CONFLICT_SQLSTATES:
            raise error


def unavailable(
    appointment_type: AppointmentType,
    starts_at: datetime,
    now: datetime,
    *,
    ignore: Collection[int] = (),
    gone: bool = False,
    point: Point | None = None,
) -> SlotUnavailable:
    message = (
        _("Your hold on that time ran out and someone else has booked it.")
        if gone
        else _("That time is no longer available.")
    )
    return SlotUnavailable(
        message,
        alternatives=nearest_alternatives(
            appointment_type, starts_at, now=now, ignore_booking_ids=ignore, point=point
        ),
    )
