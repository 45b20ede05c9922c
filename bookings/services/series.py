"""Recurring series: creating one, rolling it forward, cancelling or moving its occurrences.

A series is a rule of local dates (`bookings.series_dates`) at one local start time; each occurrence is an
ordinary booking (`Booking.series`, `Booking.occurrence_date`) placed through `booking_create`, so the
engine and the database constraints check every one and each gets its own confirmation, reminders and
calendar invitation, as any booking does. Occurrences are booked a rolling horizon ahead
(SERIES_HORIZON_DAYS, and never further than the type may be booked); `series_materialise` books the next
ones and the daily beat task runs it for every active series.

A date taken out of the series is an EXDATE of its rule: an occurrence cancelled alone, or a date that
could not be booked (best-effort creation; a clash found when rolling forward, which also goes to the
conflict queue on a "needs rebooking" placeholder booking). An EXDATE is never booked again by the rule;
booking that date at another time (an alternative offered for it, or the conflict settled by moving the
placeholder) puts it back, as an occurrence moved within the series.

Moving "this and following" or "all" keeps one series with per-occurrence overrides rather than splitting
it into two: the series' start time becomes the new one, so occurrences booked from now on come at the new
time, and every occurrence is a booking with its own time anyway, so the ones left before the change (or
moved alone) are overrides of the rule's time, exactly what RECURRENCE-ID means in a calendar. Splitting
would need a second series, a second rule and a second set of UIDs for the same appointments, for nothing
the bookings do not already say. Moves are all-or-nothing: one occurrence that cannot move, nothing moves.

Every change to the rule raises `series.sequence` (calendar feeds show the series with it). Past
occurrences are never touched. Every booking change is audited by the booking services it goes through.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from recurrence import Recurrence

from accounts.models import Officer, User
from accounts.tenancy import same_tenant_check
from bookings import series_dates
from bookings.availability import nearest_alternatives
from bookings.contacts import ContactDetails
from bookings.errors import BookingError, SlotUnavailable
from bookings.models import (
    ACTIVE_STATUSES,
    Booking,
    BookingSeries,
    BookingStatus,
    Channel,
    ConflictCause,
    ConflictItem,
    Customer,
)
from scheduling.models import AppointmentType

from .conflict_items import conflicts_open
from .history import booking_event_record, booking_snapshot
from .idempotency import idempotency_for, idempotency_record, replayed
from .lifecycle import booking_cancel, booking_create, booking_reschedule
from .references import reference_new

ALL_OR_NOTHING = "all_or_nothing"
BEST_EFFORT = "best_effort"
MODES = (ALL_OR_NOTHING, BEST_EFFORT)
SCOPES = ("one", "following", "all")
ALTERNATIVES_SHOWN = 3
# Occurrences that still hold (or wait for) a time: what cancelling and moving act on.
OPEN_STATUSES = (*ACTIVE_STATUSES, BookingStatus.NEEDS_REBOOKING)


class SeriesError(BookingError):
    """A series request the service refuses; nothing was changed."""


@dataclass(frozen=True)
class Conflict:
    """An occurrence that could not be booked (or moved) at its time, with nearby free starts."""

    occurrence_date: date
    starts_at: datetime
    reason: str
    alternatives: list[datetime] = field(default_factory=list)


@dataclass
class SeriesResult:
    """What a series operation did: the bookings made or moved, the dates that clashed, and the bookings
    that went to another officer than the series' preferred one (said, never silent). `dates` are all
    the dates the operation looked at, booked or not."""

    series: BookingSeries | None
    booked: list[Booking] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    other_officer: list[Booking] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)


def series_create(
    *,
    appointment_type: AppointmentType,
    customer: Customer,
    recurrence: Recurrence,
    first_date: date,
    start_time: time,
    officer: Officer | None = None,
    mode: str = ALL_OR_NOTHING,
    location: str = "",
    notes: str = "",
    actor: User | None = None,
    now: datetime | None = None,
    idempotency_key: str = "",
) -> SeriesResult:
    """Creates a series and books its occurrences up to the rolling horizon, in one transaction.

    all_or_nothing: one clash and nothing is saved; the result lists every clash with alternatives.
    best_effort: what fits is booked, each clash becomes an EXDATE and is reported; with nothing booked at
    all, nothing is saved. A rule with no dates or more than SERIES_MAX_OCCURRENCES, an endless rule, a
    first date in the past or not the rule's first date raise SeriesError. With an idempotency key, a
    repeated request returns the series the first one made. Each occurrence queues its own confirmation
    and reminders (booking_create).
    """
    now = now or timezone.now()
    same_tenant_check(appointment_type, customer, *([officer] if officer else []))
    if mode not in MODES:
        raise SeriesError(_("Choose all-or-nothing or best-effort."))
    zone = appointment_type.tenant.zone
    dates = _checked_dates(recurrence, first_date, now.astimezone(zone).date())
    idempotency = idempotency_for(
        idempotency_key,
        "series.create",
        appointment_type=appointment_type.pk,
        customer=customer.pk,
        recurrence=str(Recurrence(rrules=recurrence.rrules, exdates=recurrence.exdates)),
        first_date=first_date,
        start_time=start_time,
        officer=officer.pk if officer else None,
        mode=mode,
        location=location,
        notes=notes,
    )
    if replay := replayed(idempotency, now=now):
        return _replay(replay)
    horizon = _horizon(appointment_type, now)
    try:
        with transaction.atomic():
            series = BookingSeries.objects.create(
                tenant=appointment_type.tenant,
                appointment_type=appointment_type,
                customer=customer,
                recurrence=series_dates.with_exdates(
                    _with_dtstart(recurrence, first_date), series_dates.exdates(recurrence)
                ),
                first_date=first_date,
                start_time=start_time.replace(second=0, microsecond=0),
                officer=officer,
                location=location,
                notes=notes,
                materialised_until=min(horizon, dates[-1]),
                created_by=actor,
                created_at=now,
                updated_at=now,
            )
            result = SeriesResult(series=series, dates=[d for d in dates if d <= horizon])
            for day in result.dates:
                _book_or_report(series, day, result, actor=actor, now=now)
                if idempotency and len(result.booked) == 1 and result.booked[0].occurrence_date == day:
                    # Recorded at once: a concurrent copy of this request waits here, then fails and replays.
                    idempotency_record(idempotency, booking=result.booked[0], now=now)
            if result.conflicts and (mode == ALL_OR_NOTHING or not result.booked):
                transaction.set_rollback(True)
            elif result.conflicts:
                _rule_change(series, series_dates.with_exdates(series.recurrence, _days(result)), now)
    except IntegrityError:
        if replay := replayed(idempotency, now=now):
            return _replay(replay)
        raise
    if result.conflicts and (mode == ALL_OR_NOTHING or not result.booked):
        # Rolled back. The same request sent twice at once: the other copy took the times, and its series
        # is this one.
        if replay := replayed(idempotency, now=now):
            return _replay(replay)
        return SeriesResult(series=None, conflicts=result.conflicts, dates=result.dates)
    return result


def series_materialise(*, series: BookingSeries, until: date, now: datetime | None = None) -> SeriesResult:
    """Books the series' occurrences not booked yet, up to `until` (and the horizon); idempotent.

    A date that clashes now goes to the conflict queue (cause "series") on a placeholder booking that needs
    rebooking, and becomes an EXDATE. Dates with any booking of the series already are left alone, so
    running it twice books nothing twice. Inactive series are left alone.
    """
    now = now or timezone.now()
    with transaction.atomic():
        series = _locked(series)
        result = SeriesResult(series=series)
        if not series.is_active:
            return result
        appointment_type = series.appointment_type
        today = now.astimezone(appointment_type.tenant.zone).date()
        last = min(until, _horizon(appointment_type, now))
        done = series.materialised_until
        start = max(done + timedelta(days=1) if done else series.first_date, today)
        _rebooked_put_back(series, now)
        if start > last:
            return result
        taken = set(series.occurrences.values_list("occurrence_date", flat=True))
        wanted = series_dates.rule_dates(series.recurrence, series.first_date, start=start, end=last)
        result.dates = [day for day in wanted if day not in taken]
        for day in result.dates:
            _book_or_report(series, day, result, actor=None, now=now)
        for conflict in result.conflicts:
            _placeholder(series, conflict, now)
        if result.conflicts:
            _rule_change(series, series_dates.with_exdates(series.recurrence, _days(result)), now)
        series.materialised_until = max(last, series.materialised_until or last)
        series.save(update_fields=["materialised_until"])
        return result


def series_roll_forward(*, now: datetime | None = None) -> int:
    """Rolls every active series of the active tenant forward to the horizon; returns how many it booked."""
    now = now or timezone.now()
    booked = 0
    for series in BookingSeries.objects.filter(is_active=True).select_related("appointment_type__tenant"):
        horizon = _horizon(series.appointment_type, now)
        if series.materialised_until is None or series.materialised_until < horizon:
            booked += len(series_materialise(series=series, until=horizon, now=now).booked)
    return booked


def occurrence_book(
    *,
    series: BookingSeries,
    occurrence_date: date,
    starts_at: datetime,
    actor: User | None = None,
    now: datetime | None = None,
) -> Booking:
    """Books a date of the series that has no live booking at another time (an alternative offered for a
    clash), as that date's occurrence; the date is part of the series again. A second request for the
    same date is refused by the one-live-booking-per-date constraint."""
    now = now or timezone.now()
    same_tenant_check(series)
    with transaction.atomic():
        series = _locked(series)
        if not series.is_active:
            raise SeriesError(_("This series has ended."))
        in_rule = series_dates.rule_dates(
            series_dates.without_exdates(series.recurrence, [occurrence_date]),
            series.first_date,
            start=occurrence_date,
            end=occurrence_date,
        )
        if not in_rule:
            raise SeriesError(_("That date is not one of the series' dates."))
        if series.occurrences.filter(occurrence_date=occurrence_date, status__in=OPEN_STATUSES).exists():
            raise SeriesError(_("That date is booked already."))
        booking = _book(series, occurrence_date, starts_at, actor=actor, now=now)
        if occurrence_date in series_dates.exdates(series.recurrence):
            _rule_change(series, series_dates.without_exdates(series.recurrence, [occurrence_date]), now)
        return booking


def occurrence_cancel(
    *,
    booking: Booking,
    scope: str,
    reason: str = "",
    actor: User | None = None,
    now: datetime | None = None,
) -> list[Booking]:
    """Cancels one occurrence (its date becomes an EXDATE), this and the following ones (the rule ends
    the day before), or all (every future one; the series stops). Past occurrences are never touched;
    each cancelled booking's customer is told by `booking_cancel`. Returns the bookings cancelled."""
    now = now or timezone.now()
    same_tenant_check(booking)
    if scope not in SCOPES:
        raise SeriesError(_("Choose one, this and following, or all."))
    with transaction.atomic():
        series = _series_of(booking)
        day = booking.occurrence_date
        assert day is not None  # an occurrence always has its date (a check constraint)
        if scope == "one":
            if booking.starts_at <= now:
                raise SeriesError(_("This appointment has passed; it cannot be cancelled."))
            targets = [booking]
        else:
            future = series.occurrences.filter(status__in=OPEN_STATUSES, starts_at__gt=now)
            targets = list(future.filter(occurrence_date__gte=day) if scope == "following" else future)
        cancelled = [
            booking_cancel(booking=target, reason=reason, actor=actor, now=now)
            for target in sorted(targets, key=lambda b: b.starts_at)
        ]
        _settle_series_conflicts(cancelled, actor, now, _("Cancelled from the series page."))
        if scope == "one":
            _rule_change(series, series_dates.with_exdates(series.recurrence, [day]), now)
        elif scope == "following" and day > series.first_date:
            _rule_change(series, series_dates.ended_before(series.recurrence, day), now)
        else:
            series.is_active = False
            _rule_change(series, series.recurrence, now, also=["is_active"])
        return cancelled


def occurrence_move(
    *,
    booking: Booking,
    scope: str,
    starts_at: datetime | None = None,
    start_time: time | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> SeriesResult:
    """Moves one occurrence (to `starts_at`, or to `start_time` on its own date), or this and the following
    ones, or all future ones, to the local `start_time` on their own dates.

    Every move goes through `booking_reschedule` (checked, audited, the customer told) in one transaction:
    if one cannot move, nothing moves and the result lists each clash with alternatives. Moving several
    makes `start_time` the series' time for occurrences still to be booked. A date that had been taken out
    (a clash settled here) is part of the series again, and its open conflict-queue item is settled.
    """
    now = now or timezone.now()
    same_tenant_check(booking)
    if scope not in SCOPES:
        raise SeriesError(_("Choose one, this and following, or all."))
    if scope != "one" and start_time is None:
        raise SeriesError(_("Give the new time."))
    if starts_at is None and start_time is None:
        raise SeriesError(_("Give the new time."))
    with transaction.atomic():
        series = _series_of(booking)
        zone = series.appointment_type.tenant.zone
        day = booking.occurrence_date
        assert day is not None
        if scope == "one":
            targets = [booking]
        else:
            future = series.occurrences.filter(
                status__in=(BookingStatus.CONFIRMED, BookingStatus.NEEDS_REBOOKING), starts_at__gt=now
            )
            targets = list(future.filter(occurrence_date__gte=day) if scope == "following" else future)
        result = SeriesResult(series=series, dates=sorted(t.occurrence_date for t in targets))  # type: ignore[misc]
        for target in sorted(targets, key=lambda b: b.starts_at):
            when = starts_at if scope == "one" and starts_at is not None else None
            when = when or series_dates.occurrence_start(target.occurrence_date, start_time, zone)  # type: ignore[arg-type]
            try:
                with transaction.atomic():
                    result.booked.append(
                        booking_reschedule(booking=target, starts_at=when, actor=actor, now=now)
                    )
            except SlotUnavailable as error:
                result.conflicts.append(_conflict(target.occurrence_date, when, error, [target.pk]))  # type: ignore[arg-type]
            except BookingError as error:
                result.conflicts.append(Conflict(target.occurrence_date, when, error.message))  # type: ignore[arg-type]
        if result.conflicts:
            transaction.set_rollback(True)
            return SeriesResult(series=series, conflicts=result.conflicts, dates=result.dates)
        back = [d for d in result.dates if d in series_dates.exdates(series.recurrence)]
        _settle_series_conflicts(result.booked, actor, now, _("Booked from the series page."))
        if scope != "one":
            series.start_time = start_time.replace(second=0, microsecond=0)  # type: ignore[union-attr]
            _rule_change(
                series, series_dates.without_exdates(series.recurrence, back), now, also=["start_time"]
            )
        elif back:
            _rule_change(series, series_dates.without_exdates(series.recurrence, back), now)
        return result


# --- pieces -----------------------------------------------------------------------------------------------


def _checked_dates(recurrence: Recurrence, first_date: date, today: date) -> list[date]:
    if first_date < today:
        raise SeriesError(_("The first date has passed. Choose today or a later date."))
    if not recurrence.rrules:
        raise SeriesError(_("Say how the appointment repeats."))
    if not series_dates.rule_is_bounded(recurrence):
        raise SeriesError(_("Say when the series ends: a last date or a number of appointments."))
    limit = settings.SERIES_MAX_OCCURRENCES
    try:
        dates = series_dates.rule_dates(recurrence, first_date)
    except (ValueError, OverflowError) as error:
        raise SeriesError(_("This rule cannot be used: %(error)s") % {"error": error}) from error
    if not dates:
        raise SeriesError(_("This rule gives no dates. Check the first date and the end."))
    if len(dates) > limit:
        raise SeriesError(
            _("A series may have at most %(limit)d appointments; this one has %(count)d.")
            % {"limit": limit, "count": len(dates)}
        )
    if dates[0] != first_date:
        raise SeriesError(_("The first date must be one of the dates the series repeats on."))
    return dates


def _horizon(appointment_type: AppointmentType, now: datetime) -> date:
    """The last local date occurrences are booked up to: the series horizon, within the type's own."""
    days = min(settings.SERIES_HORIZON_DAYS, appointment_type.horizon_days)
    return (now + timedelta(days=days)).astimezone(appointment_type.tenant.zone).date() - timedelta(days=1)


def _book_or_report(
    series: BookingSeries, day: date, result: SeriesResult, *, actor: User | None, now: datetime
) -> None:
    starts_at = series_dates.occurrence_start(day, series.start_time, series.appointment_type.tenant.zone)
    try:
        booking = _book(series, day, starts_at, actor=actor, now=now)
    except SlotUnavailable as error:
        result.conflicts.append(_conflict(day, starts_at, error))
    except BookingError as error:
        result.conflicts.append(Conflict(day, starts_at, error.message))
    else:
        result.booked.append(booking)
        if series.officer_id and not _taken_by(booking, series.officer_id):
            result.other_officer.append(booking)


def _book(
    series: BookingSeries, day: date, starts_at: datetime, *, actor: User | None, now: datetime
) -> Booking:
    """One occurrence through `booking_create`: with the preferred officer when free, any eligible one
    otherwise (the caller reports which)."""
    details: dict[str, Any] = {
        "appointment_type": series.appointment_type,
        "starts_at": starts_at,
        "customer": series.customer,
        "channel": Channel.STAFF,
        "location": series.location,
        "notes": series.notes,
        "actor": actor,
        "now": now,
    }
    try:
        with transaction.atomic():
            if series.officer_id:
                try:
                    booking = booking_create(officer_ids=[series.officer_id], **details)
                except SlotUnavailable:
                    booking = booking_create(**details)
            else:
                booking = booking_create(**details)
            booking.series = series
            booking.occurrence_date = day
            booking.save(update_fields=["series", "occurrence_date"])
    except IntegrityError as error:
        raise SeriesError(_("That date of the series is booked already.")) from error
    return booking


def _taken_by(booking: Booking, officer_id: int) -> bool:
    return booking.assignments.filter(is_active=True, officer_id=officer_id).exists()


def _conflict(day: date, starts_at: datetime, error: SlotUnavailable, ignore: Iterable[int] = ()) -> Conflict:
    alternatives = [slot.start for slot in error.alternatives]
    if not alternatives:
        return Conflict(day, starts_at, error.message)
    closest = sorted(alternatives, key=lambda start: abs((start - starts_at).total_seconds()))
    return Conflict(day, starts_at, error.message, sorted(closest[:ALTERNATIVES_SHOWN]))


def alternatives_for(
    series: BookingSeries, day: date, *, now: datetime | None = None, limit: int = ALTERNATIVES_SHOWN
) -> list[datetime]:
    """Free starts nearest the series' time on `day` (for a date taken out of the series)."""
    now = now or timezone.now()
    around = series_dates.occurrence_start(day, series.start_time, series.appointment_type.tenant.zone)
    if around <= now:
        return []
    slots = nearest_alternatives(series.appointment_type, around, now=now, limit=limit)
    return [slot.start for slot in slots]


def _placeholder(series: BookingSeries, conflict: Conflict, now: datetime) -> Booking:
    """A booking that needs rebooking, standing for an occurrence that clashed when rolling forward, so
    the conflict queue (which works on bookings) can offer the remedies; it holds no time."""
    appointment_type = series.appointment_type
    contact = ContactDetails.of_customer(series.customer)
    reference = reference_new()
    booking = Booking.objects.create(
        tenant=series.tenant,
        reference=reference,
        appointment_type=appointment_type,
        customer=series.customer,
        status=BookingStatus.NEEDS_REBOOKING,
        starts_at=conflict.starts_at,
        ends_at=conflict.starts_at + appointment_type.duration,
        priority=appointment_type.default_priority,
        session_key=reference,
        location=series.location,
        notes=series.notes,
        channel=Channel.STAFF,
        series=series,
        occurrence_date=conflict.occurrence_date,
        **contact.booking_fields(now),
        created_at=now,
        updated_at=now,
    )
    booking_event_record(
        booking, "series_clash", actor=None, now=now, after=booking_snapshot(booking), reason=conflict.reason
    )
    conflicts_open(
        bookings=[booking],
        cause=ConflictCause.SERIES,
        officer_id=series.officer_id,
        detail=conflict.reason,
        now=now,
    )
    return booking


def _rebooked_put_back(series: BookingSeries, now: datetime) -> None:
    """Dates taken out for a clash that staff have since booked (the conflict queue moved the placeholder)
    are part of the series again, as an occurrence moved within it."""
    out = series_dates.exdates(series.recurrence)
    if not out:
        return
    live = set(
        series.occurrences.filter(status__in=ACTIVE_STATUSES, occurrence_date__in=out).values_list(
            "occurrence_date", flat=True
        )
    )
    if live:
        _rule_change(series, series_dates.without_exdates(series.recurrence, live), now)


def _settle_series_conflicts(
    bookings: list[Booking], actor: User | None, now: datetime, resolution: str
) -> None:
    ConflictItem.objects.open().filter(
        booking__in=[b.pk for b in bookings], cause=ConflictCause.SERIES
    ).update(resolved_at=now, resolved_by=actor, resolution=resolution)


def _rule_change(
    series: BookingSeries, recurrence: Recurrence, now: datetime, *, also: Iterable[str] = ()
) -> None:
    series.recurrence = recurrence
    series.sequence += 1
    series.updated_at = now
    series.save(update_fields=["recurrence", "sequence", "updated_at", *also])


def _days(result: SeriesResult) -> list[date]:
    return [conflict.occurrence_date for conflict in result.conflicts]


def _with_dtstart(recurrence: Recurrence, first_date: date) -> Recurrence:
    return Recurrence(
        dtstart=series_dates.as_rule_datetime(first_date),
        rrules=recurrence.rrules,
        exrules=recurrence.exrules,
        rdates=recurrence.rdates,
        exdates=recurrence.exdates,
    )


def _locked(series: BookingSeries) -> BookingSeries:
    return (
        BookingSeries.objects.select_for_update(of=("self",))
        .select_related("appointment_type__tenant", "customer", "tenant")
        .get(pk=series.pk)
    )


def _series_of(booking: Booking) -> BookingSeries:
    if booking.series_id is None:
        raise SeriesError(_("This booking is not part of a series."))
    return _locked(booking.series)  # type: ignore[arg-type]


def _replay(booking: Booking) -> SeriesResult:
    series = booking.series
    assert series is not None  # the key is recorded on an occurrence
    booked = list(series.occurrences.filter(status__in=ACTIVE_STATUSES).order_by("starts_at"))
    return SeriesResult(series=series, booked=booked, dates=[b.occurrence_date for b in booked])  # type: ignore[misc]
