"""Who takes a slot when several officers could: the type's strategy, with a reason a person can read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import DurationField, ExpressionWrapper, Func, Max, Sum
from django.utils.translation import gettext as _

from bookings.models import BookingAssignment
from scheduling.availability.engine import assign
from scheduling.models import AllocationStrategy, AppointmentType

from .slots import AvailableSlot


@dataclass(frozen=True)
class Allocation:
    """Who takes the slot, and why (`reason`, to follow the chosen officers' names)."""

    officer_ids: tuple[int, ...]
    resource_ids: tuple[int, ...]
    reason: str

    def reason_with(self, names: dict[int, str]) -> str:
        """The reason a person can read, naming the chosen officers (names are read with their row locks)."""
        chosen = ", ".join(names.get(o, str(o)) for o in self.officer_ids)
        return f"{chosen}: {self.reason}"[:300]


class NoAllocation(Exception):
    """The slot's candidates cannot fill every seat (it was taken meanwhile)."""


def allocate(
    appointment_type: AppointmentType, slot: AvailableSlot, *, loads: dict[int, int] | None = None
) -> Allocation:
    """Distinct officers and resources for every seat of `slot`, ordered by the type's strategy.

    `loads` (seconds booked per officer in the week of the slot, see `week_of`), when the caller read them
    with the booked time, spare the least-loaded strategy its own query."""
    candidates = sorted({o for seat in slot.officer_seats for o in seat})
    strategy = appointment_type.allocation_strategy
    if slot.session_key is not None:
        order, reason = candidates, _("joins the group session already running then")
    elif strategy == AllocationStrategy.NAMED_OFFICER:
        order, reason = candidates, _("the service is always taken by this officer")
    elif strategy == AllocationStrategy.ROUND_ROBIN:
        order, reason = _round_robin(appointment_type, candidates)
    else:
        order, reason = _least_loaded(appointment_type, candidates, slot.start, loads)
    if slot.officer_travel and slot.session_key is None and strategy != AllocationStrategy.NAMED_OFFICER:
        # A visit at the customer's address goes to whoever it adds least travel to; the type's own
        # strategy breaks ties.
        order, reason = _least_travel(dict(slot.officer_travel), order)

    rank = {officer_id: index for index, officer_id in enumerate(order)}
    officer_seats = [sorted(seat, key=rank.__getitem__) for seat in slot.officer_seats]
    officers = assign(officer_seats) if officer_seats else ()
    resources = assign(slot.resource_seats) if slot.resource_seats else ()
    if officers is None or resources is None:
        raise NoAllocation
    return Allocation(officer_ids=tuple(officers), resource_ids=tuple(resources), reason=reason)


def _least_travel(added: dict[int, int], order: list[int]) -> tuple[list[int], str]:
    rank = {officer_id: index for index, officer_id in enumerate(order)}
    by_travel = sorted(order, key=lambda o: (added.get(o, 0), rank[o]))
    minutes = round(added.get(by_travel[0], 0) / 60) if by_travel else 0
    return by_travel, _("least added travel (%(minutes)d min)") % {"minutes": minutes}


def week_of(appointment_type: AppointmentType, start: datetime) -> tuple[datetime, datetime]:
    """The local week (Monday to Monday) whose load the least-loaded strategy compares."""
    local = start.astimezone(appointment_type.tenant.zone)
    monday = (local - timedelta(days=local.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    return monday, monday + timedelta(days=7)


def needs_loads(appointment_type: AppointmentType) -> bool:
    return appointment_type.allocation_strategy not in (
        AllocationStrategy.NAMED_OFFICER,
        AllocationStrategy.ROUND_ROBIN,
    )


def _least_loaded(
    appointment_type: AppointmentType, candidates: list[int], start: datetime, loads: dict[int, int] | None
) -> tuple[list[int], str]:
    week = week_of(appointment_type, start)
    monday = week[0]
    if loads is None:
        loads = {
            officer_id: int(total.total_seconds())
            for officer_id, total in BookingAssignment.objects.filter(
                officer_id__in=candidates, is_active=True, occupied__overlap=week
            )
            .values("officer_id")
            .annotate(
                total=Sum(
                    ExpressionWrapper(
                        Func("occupied", function="upper") - Func("occupied", function="lower"),
                        output_field=DurationField(),
                    )
                )
            )
            .values_list("officer_id", "total")
        }
    booked = {officer_id: timedelta(seconds=seconds) for officer_id, seconds in loads.items()}
    order = sorted(candidates, key=lambda o: (booked.get(o, timedelta()), o))
    hours = booked.get(order[0], timedelta()).total_seconds() / 3600 if order else 0
    reason = _("least loaded in the week of %(monday)s (%(hours).1f h booked)") % {
        "monday": monday.strftime("%-d %B %Y"),
        "hours": hours,
    }
    return order, reason


def _round_robin(appointment_type: AppointmentType, candidates: list[int]) -> tuple[list[int], str]:
    last = dict(
        BookingAssignment.objects.filter(
            officer_id__in=candidates, booking__appointment_type=appointment_type
        )
        .values("officer_id")
        .annotate(last=Max("pk"))
        .values_list("officer_id", "last")
    )
    # Never-assigned officers first, then whoever took this service longest ago.
    order = sorted(candidates, key=lambda o: (o in last, last.get(o, 0), o))
    reason = (
        _("next in turn for this service") if order and order[0] in last else _("first turn at this service")
    )
    return order, reason
