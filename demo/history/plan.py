"""The plan of the history: which appointments, when, with whom, and what became of them."""

from __future__ import annotations

import random
import uuid
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from typing import Any

from django.apps import apps

from accounts.models import Membership, Officer, Role, Tenant
from bookings.availability.slots import session_key_for
from bookings.models import (
    Booking,
    BookingAssignment,
    BookingEvent,
    BookingStatus,
    CaseKind,
    Channel,
    Customer,
    SurveyResponse,
)
from demo.diaries import (
    COMPLETED_NOTES,
    FOOD,
    LICENSING,
    LICENSING_TOPICS,
    NO_SHOW_NOTES,
    PHONE,
    PHONE_TOPICS,
)
from scheduling.models import (
    Absence,
    AllocationStrategy,
    AppointmentType,
    Holiday,
    LocationMode,
    Priority,
    QuestionKind,
    Resource,
    ServiceBlock,
    ServiceBlockOfficer,
    WorkingInterval,
)

from .constants import (
    CANCELLATION_REASONS,
    CASE_KINDS,
    CASE_SHARE,
    DISPLACEMENT_REASONS,
    LICENSING_SKILL,
    REFERENCE_ALPHABET,
    REFERENCE_PREFIX,
    SEED,
    SURVEY_COMMENTS,
    SURVEY_SCORES,
    TREND,
    URGENT_NOTES,
    WEEKDAY_LOAD,
)
from .customers import (
    _Customers,
)
from .messages import (
    _Messages,
)
from .rows import (
    History,
    _Calendar,
    _copy,
    _on_grid,
    _row,
    _Visit,
    _weighted,
)


class _Seeder:
    def __init__(self, tenant: Tenant, now: datetime, days: int) -> None:
        self.tenant = tenant
        self.zone = tenant.zone
        self.now = now
        self.today = now.astimezone(self.zone).date()
        self.rng = random.Random(f"{SEED}:{tenant.slug}")
        earliest = Booking.objects.order_by("starts_at").values_list("starts_at", flat=True).first()
        self.last_day = self.today - timedelta(days=1)
        if earliest is not None:
            self.last_day = min(self.last_day, earliest.astimezone(self.zone).date() - timedelta(days=1))
        self.first_day = self.today - timedelta(days=days)
        self.result = History()
        self.visits: list[_Visit] = []
        self.references: set[str] = set()
        self.week_minutes: dict[tuple[int, date], int] = defaultdict(int)
        self.case_numbers: dict[str, int] = {}
        self._load()

    # --- what the tenant is configured with -----------------------------------------------------------

    def _load(self) -> None:
        types = list(
            AppointmentType.objects.filter(is_active=True)
            .prefetch_related("questions", "staffing__skill", "resource_needs")
            .order_by("pk")
        )
        self.types = types
        self.officers = list(
            Officer.objects.filter(is_active=True)
            .select_related("user")
            .prefetch_related("skills")
            .order_by("pk")
        )
        self.skills = {o.pk: {s.pk for s in o.skills.all()} for o in self.officers}
        self.seats = {t.pk: [(r.skill_id, r.count) for r in t.staffing.all()] for t in types}
        self.needs = {t.pk: [(r.kind, r.count) for r in t.resource_needs.all()] for t in types}
        self.resources: dict[str, list[Resource]] = defaultdict(list)
        for resource in Resource.objects.filter(is_active=True).order_by("pk"):
            self.resources[resource.kind].append(resource)
        self.hours: dict[int, list[tuple[date, date | None, dict[int, list[tuple[time, time]]]]]] = (
            defaultdict(list)
        )
        intervals = WorkingInterval.objects.filter(
            pattern__officer__isnull=False, pattern__valid_from__lte=self.last_day
        ).values_list(
            "pattern__officer_id", "pattern__valid_from", "pattern__valid_until", "weekday", "start", "end"
        )
        patterns: dict[tuple[int, date, date | None], dict[int, list[tuple[time, time]]]] = defaultdict(
            lambda: defaultdict(list)
        )
        for officer_id, valid_from, valid_until, weekday, start, end in intervals:
            patterns[(officer_id, valid_from, valid_until)][weekday].append((start, end))
        for (officer_id, valid_from, valid_until), week in patterns.items():
            for spans in week.values():
                spans.sort()
            self.hours[officer_id].append((valid_from, valid_until, week))
        self.holidays = set(
            Holiday.objects.filter(date__gte=self.first_day, date__lte=self.last_day).values_list(
                "date", flat=True
            )
        )
        self.absences: dict[int, list[tuple[datetime, datetime]]] = defaultdict(list)
        window = (self._at(self.first_day, time.min), self._at(self.last_day + timedelta(days=1), time.min))
        for officer_id, starts_at, ends_at in Absence.objects.filter(
            officer__isnull=False, starts_at__lt=window[1], ends_at__gt=window[0]
        ).values_list("officer_id", "starts_at", "ends_at"):
            self.absences[officer_id].append((starts_at, ends_at))
        self.blocks = self._blocks()
        service = (
            Membership.objects.filter(role=Role.CUSTOMER_SERVICE, is_active=True)
            .order_by("pk")
            .values_list("user_id", flat=True)
            .first()
        )
        self.service_user_id = service
        self.customers = _Customers(self.tenant, self.rng)

    def _blocks(self) -> dict[date, list[tuple[time, time, set[int], set[int] | None]]]:
        """Per day, the service blocks then: window, types it is for, officers it covers (None: all)."""
        blocks: dict[date, list[tuple[time, time, set[int], set[int] | None]]] = defaultdict(list)
        after = datetime.combine(self.first_day, time.min)
        before = datetime.combine(self.last_day, time.max)
        covered: dict[int, set[int]] = defaultdict(set)
        for block_id, officer_id in ServiceBlockOfficer.objects.values_list("service_block_id", "officer_id"):
            covered[block_id].add(officer_id)
        for block in ServiceBlock.objects.filter(is_active=True).prefetch_related("appointment_types"):
            type_ids = {t.pk for t in block.appointment_types.all()}
            dtstart = block.recurrence.dtstart or after
            for occurrence in block.recurrence.between(after, before, inc=True, dtstart=dtstart):
                blocks[occurrence.date()].append((block.start, block.end, type_ids, covered.get(block.pk)))
        return blocks

    def _at(self, day: date, at: time) -> datetime:
        return datetime.combine(day, at, self.zone)

    def _working(self, officer: Officer, day: date) -> list[tuple[datetime, datetime]]:
        if day in self.holidays:
            return []
        for valid_from, valid_until, week in self.hours.get(officer.pk, []):
            if valid_from <= day and (valid_until is None or day <= valid_until):
                spans = [(self._at(day, s), self._at(day, e)) for s, e in week.get(day.weekday(), [])]
                break
        else:
            return []
        day_start, day_end = self._at(day, time.min), self._at(day + timedelta(days=1), time.min)
        if any(lo < day_end and day_start < hi for lo, hi in self.absences.get(officer.pk, [])):
            return []  # a day with any absence is left empty: nobody books around a half-day's leave
        return spans

    # --- the plan -------------------------------------------------------------------------------------

    def run(self) -> History:
        if not self.officers or not self.types or self.last_day < self.first_day:
            return self.result
        span = max(1, (self.last_day - self.first_day).days)
        day = self.first_day
        while day <= self.last_day:
            if day.weekday() < 5:
                self._plan_day(day, (day - self.first_day).days / span)
            day += timedelta(days=1)
        self._write()
        self.result.snapshots = self._next_slot_snapshots()
        return self.result

    def _eligible(self, officer: Officer, appointment_type: AppointmentType) -> bool:
        seats = self.seats[appointment_type.pk]
        if appointment_type.allocation_strategy == AllocationStrategy.NAMED_OFFICER:
            return officer.pk == appointment_type.named_officer_id
        return not seats or any(skill is None or skill in self.skills[officer.pk] for skill, _n in seats)

    def _plan_day(self, day: date, progress: float) -> None:
        hours = {o.pk: self._working(o, day) for o in self.officers}
        working = [o for o in self.officers if hours[o.pk]]
        if not working:
            return
        calendars = {o.pk: _Calendar() for o in working}
        rooms: dict[int, _Calendar] = defaultdict(_Calendar)
        context = (day, hours, calendars, rooms)
        trend = TREND[0] + (TREND[1] - TREND[0]) * progress

        # A visit that needs two officers, about once a week, before their days fill up.
        multi = [t for t in self.types if t.capacity == 1 and sum(n for _s, n in self.seats[t.pk]) >= 2]
        for appointment_type in multi:
            if self.rng.random() < 0.22 * trend:
                team = self._team(appointment_type, working)
                if team:
                    at = self.rng.choice([time(10, 0), time(14, 0), time(9, 30)])
                    self._place(appointment_type, team, context, earliest=self._at(day, at), latest_hour=15)

        # A group session on Thursdays, led by whoever may lead it (a licensing officer for the drop-in).
        if day.weekday() == 3:
            for appointment_type in [t for t in self.types if t.capacity > 1]:
                leaders = [o for o in working if self._eligible(o, appointment_type)]
                leaders.sort(key=lambda o: (not self.skills[o.pk] & self._skill_ids(LICENSING_SKILL), o.pk))
                if leaders:
                    self._group_session(appointment_type, leaders[0], context, trend)

        for officer in working:
            load = WEEKDAY_LOAD[day.weekday()] * trend
            wanted = max(2, min(7, round(self.rng.gauss(load, 0.9))))
            for appointment_type in self._menu(officer, wanted - len(calendars[officer.pk].taken)):
                self._place(appointment_type, [officer], context, earliest=None)

    def _skill_ids(self, name: str) -> set[int]:
        return {s.pk for o in self.officers for s in o.skills.all() if s.name == name}

    def _team(self, appointment_type: AppointmentType, working: list[Officer]) -> list[Officer] | None:
        team: list[Officer] = []
        for skill, count in self.seats[appointment_type.pk]:
            pool = [o for o in working if o not in team and (skill is None or skill in self.skills[o.pk])]
            if len(pool) < count:
                return None
            team += self.rng.sample(pool, count)
        return team

    def _menu(self, officer: Officer, n: int) -> list[AppointmentType]:
        """The officer's appointments of the day, field work first (it needs the longest gaps)."""
        solo = [t for t in self.types if t.capacity == 1 and sum(c for _s, c in self.seats[t.pk]) <= 1]
        skilled = [t for t in solo if self.seats[t.pk] and self._eligible(officer, t)]
        anyone = [t for t in solo if not self.seats[t.pk] and self._eligible(officer, t)]
        menu: list[AppointmentType] = []
        for _i in range(max(0, n)):
            if skilled and (not anyone or self.rng.random() < 0.55):
                menu.append(self.rng.choice(skilled))
            elif anyone:
                menu.append(self.rng.choice(anyone))
        menu.sort(key=lambda t: -(t.duration_minutes + t.buffer_before_minutes + t.buffer_after_minutes))
        return menu

    def _allowed(
        self, appointment_type: AppointmentType, officer: Officer, day: date, lo: datetime, hi: datetime
    ) -> bool:
        """Whether a service block covering the officer then is for another type."""
        for start, end, type_ids, covered in self.blocks.get(day, []):
            if covered is not None and officer.pk not in covered:
                continue
            if appointment_type.pk not in type_ids and lo < self._at(day, end) and self._at(day, start) < hi:
                return False
        return True

    def _place(
        self,
        appointment_type: AppointmentType,
        team: list[Officer],
        context: tuple,
        *,
        earliest: datetime | None,
        latest_hour: int = 24,
    ) -> _Visit | None:
        """The first start on the type's grid from `earliest` (or after the officer's last appointment, with
        a gap now and then, else anywhere free) when every officer of the team and a room are free."""
        day, hours, calendars, rooms = context
        step = timedelta(minutes=appointment_type.granularity_minutes)
        before, after, duration = (
            appointment_type.buffer_before,
            appointment_type.buffer_after,
            appointment_type.duration,
        )
        starts: list[datetime] = []
        if earliest is None:
            ends = [hi for hi_o in (calendars[o.pk].taken for o in team) for _lo, hi in hi_o]
            cursor = max(ends) if ends else self._at(day, time(0, 0))
            cursor += timedelta(minutes=self.rng.choice([0, 0, 0, 15, 30, 60]))
            starts = [cursor, self._at(day, time(0, 0))]
        else:
            starts = [earliest]
        spans = hours[team[0].pk]
        for first in starts:
            start = _on_grid(first, appointment_type.granularity_minutes, self.zone)
            while start.hour < latest_hour and start.date() == day:
                end = start + duration
                lo, hi = start - before, end + after
                if (
                    all(any(s <= start and end <= e for s, e in hours[o.pk]) for o in team)
                    and all(calendars[o.pk].free(lo, hi) for o in team)
                    and all(self._allowed(appointment_type, o, day, start, end) for o in team)
                ):
                    resources = self._rooms(appointment_type, rooms, lo, hi)
                    if resources is not None:
                        for o in team:
                            calendars[o.pk].taken.append((lo, hi))
                        for resource_id in resources:
                            rooms[resource_id].taken.append((lo, hi))
                        return self._visit(appointment_type, team, resources, start, end, None)
                start += step
                if spans and start > spans[-1][1]:
                    break
        return None

    def _rooms(
        self, appointment_type: AppointmentType, rooms: dict[int, _Calendar], lo: datetime, hi: datetime
    ) -> list[int] | None:
        taken: list[int] = []
        for kind, count in self.needs[appointment_type.pk]:
            free = [r.pk for r in self.resources.get(kind, []) if rooms[r.pk].free(lo, hi)]
            if len(free) < count:
                return None
            taken += free[:count]
        return taken

    def _group_session(
        self, appointment_type: AppointmentType, leader: Officer, context: tuple, trend: float
    ) -> None:
        day = context[0]
        seats = max(1, min(appointment_type.capacity, round(self.rng.gauss(3.5 * trend, 1.2))))
        first = self._place(
            appointment_type, [leader], context, earliest=self._at(day, time(15, 30)), latest_hour=17
        )
        if first is None:
            return
        key = session_key_for(appointment_type, first.booking.starts_at)
        first.booking.session_key = key
        for seat in range(2, seats + 1):
            visit = self._visit(
                appointment_type, [leader], [], first.booking.starts_at, first.booking.ends_at, (key, seat)
            )
            visit.booking.allocation_reason = first.booking.allocation_reason

    # --- one appointment --------------------------------------------------------------------------------

    def _visit(
        self,
        appointment_type: AppointmentType,
        team: list[Officer],
        resources: list[int],
        start: datetime,
        end: datetime,
        session: tuple[str, int] | None,
        *,
        ordinary: bool = False,
    ) -> _Visit:
        rng = self.rng
        name = appointment_type.name
        urgent = not ordinary and name in URGENT_NOTES and rng.random() < 0.025
        channels = (
            [(Channel.PORTAL, 64), (Channel.STAFF, 28), (Channel.API, 8)]
            if appointment_type.online_bookable
            else [(Channel.STAFF, 85), (Channel.API, 15)]
        )
        channel = Channel.STAFF if urgent else _weighted(rng, channels)
        made = self._made(appointment_type, start, channel, urgent)
        customer = self.customers.pick(name, made)
        reference = self._reference()
        booking = Booking(
            tenant=self.tenant,
            reference=reference,
            public_id=uuid.UUID(int=rng.getrandbits(128), version=4),
            appointment_type=appointment_type,
            customer=customer,
            status=BookingStatus.COMPLETED,
            starts_at=start,
            ends_at=end,
            priority=Priority.URGENT if urgent else appointment_type.default_priority,
            session_key=session[0] if session else reference,
            seat=session[1] if session else 1,
            channel=channel,
            allocation_reason=self._reason(appointment_type, team, start),
            contact_name=customer.full_name,
            contact_email=customer.email,
            contact_phone=customer.phone,
            contact_by_email=customer.contact_by_email,
            contact_by_sms=customer.contact_by_sms,
            contact_consent_at=made,
            accessibility_needs=customer.accessibility_needs,
            created_by_id=self.service_user_id if channel == Channel.STAFF else None,
            created_at=made,
            updated_at=made,
        )
        self._details(booking, appointment_type, customer, urgent)
        for o in team:
            minutes = appointment_type.duration_minutes
            self.week_minutes[(o.pk, start.date() - timedelta(days=start.weekday()))] += minutes
        visit = _Visit(booking=booking, officers=list(team), resources=resources)
        self.visits.append(visit)
        return visit

    def _made(
        self, appointment_type: AppointmentType, start: datetime, channel: str, urgent: bool
    ) -> datetime:
        """When the booking was made: hours before for urgent work, same day to about six weeks otherwise."""
        rng = self.rng
        if urgent:
            return start - timedelta(minutes=rng.randint(90, 26 * 60))
        name = appointment_type.name
        if name == PHONE:
            lead = min(40, int(rng.expovariate(1 / 3.0)))
        elif appointment_type.capacity > 1:
            lead = min(30, int(rng.expovariate(1 / 6.0)))
        elif name == LICENSING:
            lead = int(rng.triangular(1, 30, 6))
        else:
            lead = int(rng.triangular(2, 42, 10))
        local = start.astimezone(self.zone)
        opening = (7, 22) if channel == Channel.PORTAL else (8, 17)
        for _attempt in range(3):
            when = datetime.combine(
                local.date() - timedelta(days=lead),
                time(rng.randint(*opening), rng.randint(0, 59)),
                self.zone,
            )
            if when <= start - timedelta(minutes=60):
                return when
            lead += 1
        return start - timedelta(hours=2)

    def _reference(self) -> str:
        while True:
            code = "".join(self.rng.choice(REFERENCE_ALPHABET) for _i in range(6))
            reference = f"{REFERENCE_PREFIX}{code[:4]}-{code[4:]}"
            if reference not in self.references:
                self.references.add(reference)
                return reference

    def _reason(self, appointment_type: AppointmentType, team: list[Officer], start: datetime) -> str:
        names = ", ".join(o.user.full_name for o in team)
        if appointment_type.allocation_strategy == AllocationStrategy.ROUND_ROBIN:
            return f"{names}: next in turn for this service"
        if appointment_type.capacity > 1 or len(team) > 1:
            return f"{names}: free at that time"
        monday = start.astimezone(self.zone).date()
        monday -= timedelta(days=monday.weekday())
        booked = self.week_minutes[(team[0].pk, start.date() - timedelta(days=start.weekday()))] / 60
        return f"{names}: least loaded in the week of {monday.day} {monday:%B %Y} ({booked:.1f} h booked)"

    def _details(
        self, booking: Booking, appointment_type: AppointmentType, customer: Customer, urgent: bool
    ) -> None:
        rng, name = self.rng, appointment_type.name
        answers: dict[str, str] = {}
        for question in appointment_type.questions.all():
            if question.kind == QuestionKind.CHOICE and question.choice_list():
                business = self.customers.business.get(id(customer))
                choices = question.choice_list()
                answers[question.label] = (
                    business[1] if business and business[1] in choices else rng.choice(choices)
                )
            elif "staff" in question.label.lower():
                answers[question.label] = str(rng.randint(1, 14))
        booking.answers = answers
        business = self.customers.business.get(id(customer))
        if name == LICENSING:
            notes = rng.choice(LICENSING_TOPICS)
        elif name == PHONE:
            notes = rng.choice(PHONE_TOPICS)
        elif business:
            notes = f"{'Business' if name == FOOD else 'Workplace'}: {business[0]}."
        else:
            notes = ""
        booking.notes = URGENT_NOTES[name] if urgent else notes
        if appointment_type.location_mode == LocationMode.CUSTOMER_ADDRESS:
            booking.location = customer.address
            if point := self.customers.postcodes.point(customer.postcode):
                booking.latitude, booking.longitude = point.latitude, point.longitude
        elif appointment_type.location_mode == LocationMode.OFFICE:
            booking.location = appointment_type.office_address
        if name in CASE_KINDS and (urgent or rng.random() < CASE_SHARE[name]):
            prefix, kind = ("CMP", CaseKind.COMPLAINT) if urgent else rng.choice(CASE_KINDS[name])
            year = booking.starts_at.astimezone(self.zone).year
            number = self.case_numbers.get(prefix) or rng.randint(300, 600)
            self.case_numbers[prefix] = number + rng.randint(1, 4)
            booking.case_reference, booking.case_kind = f"{prefix}-{year}-{number:04d}", kind

    # --- what became of each appointment ----------------------------------------------------------------

    def _outcomes(self) -> None:
        rng = self.rng
        for visit in list(self.visits):
            booking = visit.booking
            made = booking.created_at
            snapshot = self._snapshot(visit, BookingStatus.CONFIRMED)
            actor = booking.created_by_id
            visit.events += [
                ("held", made, {}, {**snapshot, "status": BookingStatus.HELD}, "", actor),
                ("confirmed", made, {**snapshot, "status": BookingStatus.HELD}, snapshot, "", actor),
            ]
            lead = booking.starts_at - made
            # Some were moved once (the customer asked, or staff did): from another day at the same hour.
            if lead > timedelta(days=3) and booking.priority < Priority.URGENT and rng.random() < 0.07:
                shift = timedelta(days=rng.choice([-7, -2, -1, 1, 2, 3, 7]))
                old = booking.starts_at + shift
                moved_at = made + (min(old, booking.starts_at) - made) * rng.uniform(0.2, 0.8)
                if made < moved_at < min(old, booking.starts_at) and old.astimezone(self.zone).weekday() < 5:
                    before = {
                        **snapshot,
                        "starts_at": old.isoformat(),
                        "ends_at": (old + (booking.ends_at - booking.starts_at)).isoformat(),
                    }
                    visit.events.append(("rescheduled", moved_at, before, snapshot, "", self.service_user_id))
                    visit.moved_from = old
                    booking.sequence += 1
            roll = rng.random()
            if booking.session_key != booking.reference:
                roll = max(roll, 0.2)  # group sessions: no displacement, few cancellations
            if roll < 0.10:
                self._cancel(visit, snapshot)
            elif roll < 0.15:
                self._attended(visit, snapshot, BookingStatus.NO_SHOW)
            else:
                self._attended(visit, snapshot, BookingStatus.COMPLETED)
        self._displacements()

    def _snapshot(self, visit: _Visit, status: str) -> dict[str, Any]:
        booking = visit.booking
        return {
            "status": status,
            "starts_at": booking.starts_at.isoformat(),
            "ends_at": booking.ends_at.isoformat(),
            "officers": sorted(o.pk for o in visit.officers),
            "resources": sorted(visit.resources),
        }

    def _cancel(self, visit: _Visit, snapshot: dict[str, Any]) -> None:
        booking, rng = visit.booking, self.rng
        last = max([booking.created_at, *[e[1] for e in visit.events]])
        at = last + (booking.starts_at - last) * rng.uniform(0.1, 0.95)
        reason = _weighted(rng, CANCELLATION_REASONS)
        booking.status = BookingStatus.CANCELLED
        booking.cancellation_reason = reason
        booking.sequence += 1
        booking.updated_at = at
        actor = None if booking.channel == Channel.PORTAL and rng.random() < 0.6 else self.service_user_id
        visit.events.append(
            (
                "cancelled",
                at,
                snapshot,
                {**snapshot, "status": BookingStatus.CANCELLED, "officers": [], "resources": []},
                reason,
                actor,
            )
        )
        visit.cancelled_at = at

    def _attended(self, visit: _Visit, snapshot: dict[str, Any], status: str) -> None:
        booking, rng = visit.booking, self.rng
        at = booking.ends_at + timedelta(minutes=rng.randint(10, 150))
        name = booking.appointment_type.name
        booking.status = status
        if status == BookingStatus.NO_SHOW:
            booking.outcome_notes = NO_SHOW_NOTES.get(name, "Customer did not come.")
        else:
            booking.outcome_notes = rng.choice(COMPLETED_NOTES.get(name, ["Done."]))
        booking.updated_at = at
        actor = visit.officers[0].user_id if visit.officers else None
        action = "completed" if status == BookingStatus.COMPLETED else "no_show"
        visit.events.append(
            (action, at, snapshot, {**snapshot, "status": status, "officers": [], "resources": []}, "", actor)
        )
        visit.done_at = at

    def _displacements(self) -> None:
        """Urgent visits took the place of booked ones now and then: each displaced booking, made before the
        urgent one for the same officer and time, still needs rebooking (a few of them)."""
        for urgent in [
            v for v in self.visits if v.booking.priority >= Priority.URGENT and len(v.officers) == 1
        ]:
            if self.rng.random() < 0.4:
                continue
            booking = urgent.booking
            team = urgent.officers
            victim = self._visit(
                booking.appointment_type,
                team,
                urgent.resources,
                booking.starts_at,
                booking.ends_at,
                None,
                ordinary=True,
            )
            displaced = victim.booking
            displaced.priority = booking.appointment_type.default_priority
            displaced.channel = _weighted(self.rng, [(Channel.PORTAL, 60), (Channel.STAFF, 40)])
            displaced.created_by_id = self.service_user_id if displaced.channel == Channel.STAFF else None
            made = min(displaced.created_at, booking.created_at - timedelta(hours=self.rng.randint(20, 200)))
            displaced.created_at = displaced.contact_consent_at = made
            customer = displaced.customer
            customer.created_at = min(customer.created_at, made - timedelta(minutes=2))
            customer.consent_given_at = min(customer.consent_given_at, made)
            snapshot = self._snapshot(victim, BookingStatus.CONFIRMED)
            reason = self.rng.choice(DISPLACEMENT_REASONS)
            actor = displaced.created_by_id
            victim.events = [
                ("held", made, {}, {**snapshot, "status": BookingStatus.HELD}, "", actor),
                ("confirmed", made, {**snapshot, "status": BookingStatus.HELD}, snapshot, "", actor),
                (
                    "displaced",
                    booking.created_at,
                    snapshot,
                    {**snapshot, "status": BookingStatus.NEEDS_REBOOKING, "officers": [], "resources": []},
                    reason,
                    self.service_user_id,
                ),
            ]
            displaced.status = BookingStatus.NEEDS_REBOOKING
            displaced.sequence = 1
            displaced.updated_at = booking.created_at
            victim.displaced_at = booking.created_at

    # --- writing ----------------------------------------------------------------------------------------

    def _write(self) -> None:
        """Writes everything with COPY (bulk inserts of this size spend seconds quoting values), then reads
        back the ids the next rows refer to."""
        self._outcomes()
        customers = self.customers.used(self.visits)
        _copy(Customer, (_row(c) for c in customers))
        customer_ids = dict(Customer.objects.values_list("email", "pk"))
        for customer in customers:
            customer.pk = customer_ids[customer.email]
        bookings = [v.booking for v in self.visits]
        _copy(Booking, ({**_row(b), "customer_id": b.customer.pk if b.customer else None} for b in bookings))
        booking_ids = dict(
            Booking.objects.filter(reference__startswith=REFERENCE_PREFIX).values_list("reference", "pk")
        )
        for booking in bookings:
            booking.pk = booking_ids[booking.reference]
        assignments, events, surveys = [], [], []
        tenant_id = self.tenant.pk
        for visit in self.visits:
            booking = visit.booking
            lo = booking.starts_at - booking.appointment_type.buffer_before
            hi = booking.ends_at + booking.appointment_type.buffer_after
            calendars = [("officer_id", o.pk) for o in visit.officers]
            calendars += [("resource_id", r) for r in visit.resources]
            for taken, calendar_id in calendars:
                assignments.append(
                    {
                        "tenant_id": tenant_id,
                        "booking_id": booking.pk,
                        "occupied": (lo, hi),
                        "session_key": booking.session_key,
                        "is_active": False,
                        taken: calendar_id,
                    }
                )
            for action, at, before, after, reason, actor in visit.events:
                events.append(
                    {
                        "tenant_id": tenant_id,
                        "booking_id": booking.pk,
                        "actor_id": actor,
                        "action": action,
                        "before": before,
                        "after": after,
                        "reason": reason[:500],
                        "created_at": at,
                    }
                )
            if survey := self._survey(visit):
                surveys.append(survey)
        _copy(BookingAssignment, assignments)
        _copy(BookingEvent, events)
        _copy(SurveyResponse, surveys)
        self.result.bookings = len(bookings)
        self.result.customers = len(customers)
        self.result.surveys = len(surveys)
        self.result.messages = _Messages(self.tenant, self.rng, self.zone).write(self.visits)

    def _survey(self, visit: _Visit) -> dict[str, Any] | None:
        booking, rng = visit.booking, self.rng
        if (
            booking.status != BookingStatus.COMPLETED
            or not booking.appointment_type.survey_enabled
            or visit.done_at is None
            or rng.random() > 0.38
        ):
            return None
        score = _weighted(rng, SURVEY_SCORES)
        comment = rng.choice(SURVEY_COMMENTS[score]) if rng.random() < (0.35 if score >= 4 else 0.8) else ""
        answered = min(visit.done_at + timedelta(hours=rng.uniform(1, 96)), self.now - timedelta(hours=1))
        return {
            "tenant_id": self.tenant.pk,
            "booking_id": booking.pk,
            "score": score,
            "comment": comment,
            "created_at": answered,
        }

    def _next_slot_snapshots(self) -> int:
        """Days to the first free slot of each public type, measured every evening: a slow random walk
        around the type's typical wait (longer for visits, a week or so for a weekly session)."""
        model = apps.get_model("reporting", "NextSlotSnapshot")
        rows = []
        for appointment_type in [t for t in self.types if t.online_bookable]:
            typical = (
                1.0
                if appointment_type.duration_minutes <= 20
                else 3.5
                if appointment_type.capacity == 1
                else 4.0
            )
            if appointment_type.buffer_before_minutes or appointment_type.buffer_after_minutes:
                typical = 5.0
            level = typical
            day = self.first_day
            while day < self.today:
                level = max(0.0, min(10.0, level + self.rng.gauss(0, 0.6) + (typical - level) * 0.15))
                days_to_next = max(0, min(10, round(level)))
                next_day = day + timedelta(days=days_to_next)
                while next_day.weekday() >= 5 or (appointment_type.capacity > 1 and next_day.weekday() != 3):
                    next_day += timedelta(days=1)
                days_to_next = min(10, (next_day - day).days)
                next_day = day + timedelta(days=days_to_next)
                measured_at = self._at(day, time(7, 30))
                rows.append(
                    model(
                        tenant=self.tenant,
                        day=day,
                        appointment_type=appointment_type,
                        measured_at=measured_at,
                        next_start=self._at(next_day, time(9, 0) if days_to_next else time(14, 0)),
                        days_to_next=days_to_next,
                    )
                )
                day += timedelta(days=1)
        # A day the product measured already keeps its own measurement.
        model.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        return len(rows)
