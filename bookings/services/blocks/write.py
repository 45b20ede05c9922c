"""Block booking, the write phase: the plan re-checked under row locks and written in bulk."""

from __future__ import annotations

import time as clock
from dataclasses import replace
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Officer, User
from bookings.contacts import ContactDetails
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingStatus,
    Channel,
    Customer,
)
from notifications.models import Message, MessageChannel, MessageKind
from scheduling.availability.supply import to_epoch
from scheduling.models import AppointmentType, Resource

from ..history import booking_event_new, booking_snapshot
from ..idempotency import Idempotency, idempotency_for, idempotency_record, replayed
from ..messages import customer_tell
from ..placement import (
    PLACEMENT_CONFLICTS,
    holds_expire_lapsed,
    place,
    reraise_unless_conflict,
)
from ..references import reference_new, reference_taken
from .plan import (
    BLOCK_ACTION,
    REFERENCE_ATTEMPTS,
    BlockMode,
    BlockOutcome,
    BlockPlan,
    BlockResult,
    Diary,
    reach,
    type_check,
)

# --- the write phase ---------------------------------------------------------------------------------------


def block_book(
    *,
    plan: BlockPlan,
    mode: str,
    tell_customers: bool,
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
    writer: str = "bulk",
) -> BlockResult:
    """Writes a checked plan in one transaction, re-checked under the calendars' row locks: an item whose
    time was taken since the check becomes a conflict with alternatives (never a double booking).
    All-or-nothing writes nothing if any item is in conflict; best-effort writes the rest.

    Each booking is confirmed for its customer with the customer's record as its contact details, with an
    audit event ("block_booked"); with `tell_customers` its confirmation and reminders are queued.
    Repeating the call with the same `idempotency_key` and plan books nothing twice and answers with the
    first call's bookings. `writer="each"` writes item by item through `place` (for measuring).
    """
    started = clock.perf_counter()
    now = now or timezone.now()
    appointment_type = plan.appointment_type
    type_check(appointment_type)
    idempotency = idempotency_for(
        idempotency_key,
        "booking.block",
        appointment_type=appointment_type.pk,
        plan=[o.as_data() for o in plan.outcomes],
        mode=mode,
        tell=tell_customers,
    )
    if previous := _replayed(idempotency, plan, mode, now):
        return previous
    try:
        with transaction.atomic():
            if previous := _replayed(idempotency, plan, mode, now, lock=True):
                return previous
            outcomes = _recheck(plan, now)
            conflicted = any(not o.placed for o in outcomes)
            if mode == BlockMode.ALL_OR_NOTHING and conflicted:
                return BlockResult(mode, False, outcomes, clock.perf_counter() - started)
            outcomes = _write(
                appointment_type,
                outcomes,
                mode=mode,
                tell_customers=tell_customers,
                actor=actor,
                now=now,
                block=idempotency.key if idempotency else "",
                writer=writer,
            )
            if mode == BlockMode.ALL_OR_NOTHING and any(not o.placed for o in outcomes):
                transaction.set_rollback(True)
                outcomes = [replace(o, booking=None) for o in outcomes]
                return BlockResult(mode, False, outcomes, clock.perf_counter() - started)
            first = next((o.booking for o in outcomes if o.booking is not None), None)
            if first is not None:
                idempotency_record(idempotency, booking=first, now=now)
    except IntegrityError:
        if previous := _replayed(idempotency, plan, mode, now):
            return previous
        raise
    saved = any(o.booking is not None for o in outcomes)
    return BlockResult(mode, saved, outcomes, clock.perf_counter() - started)


def _replayed(
    idempotency: Idempotency | None, plan: BlockPlan, mode: str, now: datetime, *, lock: bool = False
) -> BlockResult | None:
    """The result of an earlier call with this key: its bookings (found by their audit events, which name
    the block) in the plan's places."""
    if idempotency is None:
        return None
    if lock:
        # Two copies of one request: the second waits here for the first to commit or roll back.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))",
                [f"bookings.block:{plan.appointment_type.tenant_id}:{idempotency.key}"],
            )
    first = replayed(idempotency, now=now)
    if first is None:
        return None
    events = BookingEvent.objects.filter(
        action=BLOCK_ACTION, booking_id__gte=first.pk, after__block=idempotency.key
    ).select_related("booking")
    bookings = {event.after.get("item"): event.booking for event in events}
    outcomes = [replace(o, booking=bookings.get(o.index)) for o in plan.outcomes]
    outcomes = [
        o if o.booking is not None or not o.placed else replace(o, reason=_("Not booked.")) for o in outcomes
    ]
    return BlockResult(mode, True, outcomes, 0.0, replayed=True)


def _recheck(plan: BlockPlan, now: datetime) -> list[BlockOutcome]:
    """The plan against the booked time as it is now, read under the planned calendars' row locks (taken
    in a fixed order, as `placement` takes them, so concurrent writers queue instead of deadlocking)."""
    appointment_type = plan.appointment_type
    placed = plan.placed
    officer_ids = sorted({o for item in placed for o in item.officer_ids})
    resource_ids = sorted({r for item in placed for r in item.resource_ids})
    locked_officers = set(
        Officer.objects.select_for_update(of=("self",))
        .filter(pk__in=officer_ids, is_active=True)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    locked_resources = set(
        Resource.objects.select_for_update()
        .filter(pk__in=resource_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    known = set(
        Customer.objects.filter(pk__in={o.customer_id for o in plan.outcomes}).values_list("pk", flat=True)
    )
    starts = [o.starts_at for o in placed] + [o.asked for o in plan.outcomes if o.asked]
    period = (
        (min(starts), max(starts) + timedelta(minutes=appointment_type.duration_minutes)) if starts else None
    )
    diary = Diary.read(appointment_type, reach([], period, now), now)
    outcomes = []
    for outcome in plan.outcomes:
        if not outcome.placed:
            outcomes.append(outcome)
            continue
        start = to_epoch(outcome.starts_at)
        if outcome.customer_id not in known:
            outcomes.append(_unplaced(outcome, _("No such customer.")))
        elif not (
            set(outcome.officer_ids) <= locked_officers and set(outcome.resource_ids) <= locked_resources
        ):
            outcomes.append(
                _unplaced(outcome, _("An officer or resource of the plan is no longer bookable."))
            )
        elif outcome.starts_at <= now or not diary.free_for(start, outcome.officer_ids, outcome.resource_ids):
            outcomes.append(_unplaced(outcome, _("That time was taken after the check.")))
        else:
            diary.take(start, outcome.officer_ids, outcome.resource_ids)
            outcomes.append(outcome)
    lost = {o.index for o in plan.placed} - {o.index for o in outcomes if o.placed}
    return [
        replace(o, alternatives=diary.nearest(to_epoch(o.asked))) if o.index in lost and o.asked else o
        for o in outcomes
    ]


def _unplaced(outcome: BlockOutcome, reason: str) -> BlockOutcome:
    """A planned item that cannot be written: the conflict names the time it had, alternatives to follow."""
    return replace(outcome, asked=outcome.asked or outcome.starts_at, starts_at=None, reason=reason)


def _write(
    appointment_type: AppointmentType,
    outcomes: list[BlockOutcome],
    *,
    mode: str,
    tell_customers: bool,
    actor: User | None,
    now: datetime,
    block: str,
    writer: str,
) -> list[BlockOutcome]:
    placed = [o for o in outcomes if o.placed]
    if not placed:
        return outcomes
    customers = Customer.objects.in_bulk([o.customer_id for o in placed])
    rules_span = (appointment_type.buffer_before, appointment_type.duration + appointment_type.buffer_after)
    _holds_in_the_way_expire(placed, rules_span, now)
    bookings = {
        o.index: _booking_new(appointment_type, o, customers[o.customer_id], actor, now) for o in placed
    }
    written: dict[int, Booking] = {}
    events: dict[int, BookingEvent] = {}
    if writer == "bulk":
        try:
            with transaction.atomic():
                events = _insert_bulk(placed, bookings, rules_span, actor, now, block)
                written = {index: bookings[index] for index in events}
        except (IntegrityError, OperationalError) as error:
            reraise_unless_conflict(error)  # the exclusion constraints refused: find who lost, one by one
            for booking in bookings.values():
                booking.pk, booking._state.adding = None, True
            written, events = {}, {}
    lost: set[int] = set()
    if not written:
        for outcome in placed:
            booking = bookings[outcome.index]
            if event := _insert_one(outcome, booking, actor, now, block):
                written[outcome.index], events[outcome.index] = booking, event
            else:
                lost.add(outcome.index)  # all-or-nothing goes on too, to report every item that lost
    result = []
    for outcome in outcomes:
        if outcome.index in written:
            booking = written[outcome.index]
            booking.appointment_type = appointment_type
            booking.customer = customers[outcome.customer_id]
            result.append(replace(outcome, booking=booking))
        elif outcome.index in lost:
            result.append(_unplaced(outcome, _("That time was taken after the check.")))
        else:
            result.append(outcome)
    if tell_customers and written and not (lost and mode == BlockMode.ALL_OR_NOTHING):
        if len(written) <= settings.BLOCK_TELL_INLINE_ITEMS:
            for index, booking in written.items():
                customer_tell(booking=booking, kind=MessageKind.CONFIRMATION, event=events[index], now=now)
        else:
            _tell_after_commit(appointment_type.tenant_id, [events[index].pk for index in written])
    return result


def _tell_after_commit(tenant_id: int, event_ids: list[int]) -> None:
    """A big block's confirmations are queued by workers, in chunks, once the bookings have committed:
    telling costs tens of milliseconds a booking, too long for one web request (1,000 would take ~50 s)."""

    def enqueue() -> None:
        from bookings.tasks import block_customers_tell  # the tasks import the services

        size = settings.BLOCK_TELL_CHUNK
        for start in range(0, len(event_ids), size):
            block_customers_tell.delay(tenant_id=tenant_id, event_ids=event_ids[start : start + size])

    # Robust: a broker that is down must not turn committed bookings into an error page.
    transaction.on_commit(enqueue, robust=True)


def block_customers_tell(*, event_ids: list[int], now: datetime | None = None) -> int:
    """Queues the confirmation (and reminders) of each block booking named by its "block_booked" audit
    event, as `customer_tell` does in the request for a small block. An event already told (a retried or
    repeated task) is skipped, so nothing is sent twice. Returns how many were told."""
    now = now or timezone.now()
    events = BookingEvent.objects.filter(
        pk__in=event_ids, action=BLOCK_ACTION, booking__status=BookingStatus.CONFIRMED
    ).select_related("booking__appointment_type", "booking__customer")
    told = set(
        Message.objects.filter(
            dedupe_key__in=[
                f"booking-event:{pk}:{MessageKind.CONFIRMATION}:{channel}"
                for pk in event_ids
                for channel in MessageChannel.values
            ]
        ).values_list("dedupe_key", flat=True)
    )
    count = 0
    for event in events:
        if any(key.startswith(f"booking-event:{event.pk}:") for key in told):
            continue
        with transaction.atomic():
            customer_tell(booking=event.booking, kind=MessageKind.CONFIRMATION, event=event, now=now)
        count += 1
    return count


def _holds_in_the_way_expire(
    placed: list[BlockOutcome], span: tuple[timedelta, timedelta], now: datetime
) -> None:
    """Lapsed holds are free time, but their assignments refuse an insert until they are expired."""
    lo = min(o.starts_at for o in placed) - span[0]
    hi = max(o.starts_at for o in placed) + span[1]
    officers = {o for item in placed for o in item.officer_ids}
    in_the_way = BookingAssignment.objects.filter(
        is_active=True, occupied__overlap=(lo, hi), officer_id__in=officers
    ).values("booking_id")
    holds_expire_lapsed(
        Booking.objects.filter(status=BookingStatus.HELD, hold_expires_at__lte=now, pk__in=in_the_way), now
    )


def _booking_new(
    appointment_type: AppointmentType,
    outcome: BlockOutcome,
    customer: Customer,
    actor: User | None,
    now: datetime,
) -> Booking:
    contact = ContactDetails.of_customer(customer)
    assert outcome.starts_at is not None
    return Booking(
        tenant_id=appointment_type.tenant_id,
        appointment_type=appointment_type,
        customer=customer,
        status=BookingStatus.CONFIRMED,
        starts_at=outcome.starts_at,
        ends_at=outcome.starts_at + appointment_type.duration,
        priority=appointment_type.default_priority,
        channel=Channel.STAFF,
        allocation_reason=outcome.allocation_reason,
        **contact.booking_fields(now),
        seat=1,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )


def _insert_bulk(
    placed: list[BlockOutcome],
    bookings: dict[int, Booking],
    span: tuple[timedelta, timedelta],
    actor: User | None,
    now: datetime,
    block: str,
) -> dict[int, BookingEvent]:
    """One INSERT per table; answers the events by item. References are drawn distinct, and the unique
    constraint still decides (a refused batch draws again)."""
    rows = [bookings[o.index] for o in placed]
    for attempt in range(REFERENCE_ATTEMPTS):
        drawn: set[str] = set()
        for booking in rows:
            while (reference := reference_new()) in drawn:
                pass
            drawn.add(reference)
            booking.reference = booking.session_key = reference
        try:
            with transaction.atomic():
                Booking.objects.bulk_create(rows)
            break
        except IntegrityError as error:
            if not reference_taken(error) or attempt + 1 == REFERENCE_ATTEMPTS:
                raise
            for booking in rows:
                booking.pk, booking._state.adding = None, True
    assignments: dict[int, list[BookingAssignment]] = {}
    for outcome in placed:
        booking = bookings[outcome.index]
        occupied = DateTimeTZRange(booking.starts_at - span[0], booking.starts_at + span[1])
        assignments[outcome.index] = [
            BookingAssignment(
                tenant_id=booking.tenant_id,
                booking=booking,
                occupied=occupied,
                session_key=booking.session_key,
                **{taken: calendar_id},
            )
            for taken, ids in (("officer_id", outcome.officer_ids), ("resource_id", outcome.resource_ids))
            for calendar_id in ids
        ]
    BookingAssignment.objects.bulk_create([a for o in placed for a in assignments[o.index]])
    events = {
        o.index: _event(bookings[o.index], assignments[o.index], o.index, actor, now, block) for o in placed
    }
    BookingEvent.objects.bulk_create(list(events.values()))
    return events


def _insert_one(
    outcome: BlockOutcome, booking: Booking, actor: User | None, now: datetime, block: str
) -> BookingEvent | None:
    """One item through `place` (which reads its slot again and lets the constraints refuse it), in its
    own savepoint: its audit event, or None when its time is gone."""
    assert outcome.starts_at is not None
    written: list[BookingEvent] = []

    def event(assignments: list[BookingAssignment]) -> BookingEvent:
        written.append(_event(booking, assignments, outcome.index, actor, now, block))
        return written[-1]

    for attempt in range(REFERENCE_ATTEMPTS):
        booking.reference = reference_new()
        written.clear()
        try:
            with transaction.atomic():
                place(booking, outcome.starts_at, now=now, officer_ids=outcome.officer_ids, event=event)
            return written[-1]
        except PLACEMENT_CONFLICTS as error:
            booking.pk, booking._state.adding = None, True
            if reference_taken(error) and attempt + 1 < REFERENCE_ATTEMPTS:
                continue
            reraise_unless_conflict(error)
            return None
    return None


def _event(
    booking: Booking,
    assignments: list[BookingAssignment],
    index: int,
    actor: User | None,
    now: datetime,
    block: str,
) -> BookingEvent:
    after = {**booking_snapshot(booking, assignments=assignments), "block": block, "item": index}
    return booking_event_new(
        booking, BLOCK_ACTION, actor=actor, now=now, after=after, reason=_("Block booking")
    )
