"""Demo history: about six months of past work before the seeded fortnight, so that the manager dashboards
(`/staff/reports/`) show real-looking figures to a newcomer who signs in as manager@<tenant>.example.

A few thousand bookings a tenant would take minutes through the booking services, so history is written in
bulk, as the services would have left it once each appointment was over: the booking with the contact
details it was made with, its officers' and rooms' assignments (inactive: nothing past occupies anyone any
more), its audit events (held, confirmed, then rescheduled, displaced, cancelled, completed or no-show), the
messages it caused with their final delivery states, and part of the customers' survey answers. The plan
keeps to the configuration the engine uses: working patterns, public holidays, absences, service blocks,
staffing and room requirements, each type's grid, and no officer or room is given two appointments at once.

Figures a manager looks for are in it: a weekly rhythm (quieter Fridays), a mild upward trend, lead times
from same-day to about six weeks, a few no-shows, cancellations with their reasons as staff typed them,
urgent bookings that displaced others, moves, survey scores, message failures and fallbacks, and the days to
the next free slot of each public type as measured each day. The report summaries are then rebuilt.

Everything is drawn from a fixed seed per tenant and relative to today in the tenant's zone. References start
with "DH-" and message dedupe keys with "demo-history:", which nothing else writes; a tenant that already has
history is left alone.
"""

from __future__ import annotations

import functools
import random
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from io import StringIO
from typing import Any

from django.apps import apps
from django.contrib.postgres.fields import RangeField
from django.core.management import call_command
from django.db import connection
from django.db.models import JSONField, Model
from django.utils import timezone
from psycopg.types.json import Jsonb
from psycopg.types.range import Range

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
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus
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

from .diaries import (
    BUSINESSES,
    COMPLETED_NOTES,
    FIRST_NAMES,
    FOOD,
    JOINT,
    LICENSING,
    LICENSING_TOPICS,
    NO_SHOW_NOTES,
    PHONE,
    PHONE_TOPICS,
    POSTCODE_LETTERS,
    SAFETY,
    STREETS,
    SURNAMES,
    TOWNS,
    WORKPLACES,
)

HISTORY_DAYS = 182
SEED = 20260601
REFERENCE_PREFIX = "DH-"
DEDUPE_PREFIX = "demo-history:"
REFERENCE_ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
LICENSING_SKILL = "Licensing"

# Appointments per officer and working day, Monday to Friday, before the trend: Fridays are quieter.
WEEKDAY_LOAD = [5.2, 5.0, 5.3, 4.9, 3.6]
# The trend: from this share of the weekday load six months ago to the last, linearly.
TREND = (0.78, 1.08)

# Reasons as staff type them: the same few, in varying case and spacing, now and then none.
CANCELLATION_REASONS = [
    ("Customer asked to cancel", 30),
    ("customer asked to cancel", 6),
    ("Customer asked to cancel ", 3),
    ("Customer asked to cancel - feeling unwell", 2),
    ("Business closed", 10),
    ("business closed", 3),
    ("Business closed down", 2),
    ("Officer unavailable", 9),
    ("officer unavailable ", 2),
    ("Booked by mistake", 7),
    ("booked by mistake", 2),
    ("Duplicate booking", 6),
    ("duplicate  booking", 2),
    ("Premises being refurbished", 2),
    ("", 8),
]
DISPLACEMENT_REASONS = [
    "Urgent visit: serious accident reported at a workplace",
    "Urgent visit: suspected food poisoning outbreak",
    "Urgent visit: dangerous structure reported",
    "Urgent visit: rats seen in a food preparation area",
]
URGENT_NOTES = {
    FOOD: "Complaint of illness after eating there; visit the same day if possible.",
    SAFETY: "Reported injury (RIDDOR); the site is to be seen before work restarts.",
    PHONE: "Caller reports a gas smell at a takeaway; advice needed urgently.",
}
SURVEY_SCORES = [(5, 52), (4, 30), (3, 9), (2, 5), (1, 4)]
SURVEY_COMMENTS = {
    5: [
        "Very helpful, thank you.",
        "The officer explained everything clearly.",
        "On time and friendly.",
        "Quick and easy to book online.",
        "Really useful advice for our new menu.",
        "Excellent, thank you!",
    ],
    4: [
        "Good visit, a bit rushed at the end.",
        "Helpful. Would have liked the report sooner.",
        "Fine overall.",
        "Good advice, the call came ten minutes late.",
    ],
    3: [
        "OK, but I had to wait in for most of the morning.",
        "Advice was fine, the booking page was confusing.",
        "Average.",
    ],
    2: [
        "The officer arrived late and did not apologise.",
        "Had to explain everything twice.",
    ],
    1: [
        "Nobody told me the time had changed.",
        "Came all the way in and the room was double booked.",
        "Unhelpful.",
    ],
}
EMAIL_ERRORS = ["550 5.1.1 Mailbox unavailable", "552 5.2.2 Mailbox full", "550 5.7.1 Message rejected"]
SMS_ERRORS = ["30003: Unreachable destination handset", "30005: Unknown destination handset"]
CASE_KINDS = {
    FOOD: [("FH", CaseKind.INSPECTION)] * 3 + [("CMP", CaseKind.COMPLAINT)],
    SAFETY: [("CMP", CaseKind.COMPLAINT), ("ENF", CaseKind.ENFORCEMENT), ("FH", CaseKind.INSPECTION)],
    JOINT: [("CMP", CaseKind.COMPLAINT), ("ENF", CaseKind.ENFORCEMENT)],
    LICENSING: [("LA", CaseKind.LICENCE_APPLICATION)],
    PHONE: [("ADV", CaseKind.ADVICE)],
}
CASE_SHARE = {FOOD: 0.7, SAFETY: 0.8, JOINT: 0.9, LICENSING: 0.7, PHONE: 0.2}


@dataclass
class History:
    """What was seeded, for the command's message and the tests."""

    bookings: int = 0
    customers: int = 0
    messages: int = 0
    surveys: int = 0
    snapshots: int = 0


def seed_history(tenant: Tenant, *, now: datetime | None = None, days: int = HISTORY_DAYS) -> History:
    """Seeds `days` of past work before the tenant's earliest booking (or today), then rebuilds the report
    summaries of those days. Runs inside the tenant's scope after `seed_scheduling` (and the diaries, which
    it leaves alone); a tenant that already has history is left alone, so running it twice changes nothing.
    """
    if Booking.objects.filter(reference__startswith=REFERENCE_PREFIX).exists():
        return History()
    now = now or timezone.now()
    seeder = _Seeder(tenant, now, days)
    result = seeder.run()
    # Summaries count local days back from the present, whatever `now` was given.
    today = timezone.now().astimezone(tenant.zone).date()
    call_command(
        "refresh_reports",
        days=max(0, (today - seeder.first_day).days) + 1,
        tenant=tenant.slug,
        stdout=StringIO(),
    )
    return result


@dataclass
class _Calendar:
    """One officer's (or room's) taken ranges on the day being planned."""

    taken: list[tuple[datetime, datetime]] = field(default_factory=list)

    def free(self, lo: datetime, hi: datetime) -> bool:
        return all(hi <= t_lo or t_hi <= lo for t_lo, t_hi in self.taken)


@dataclass
class _Visit:
    booking: Booking
    officers: list[Officer]
    resources: list[int]
    events: list[tuple[str, datetime, dict, dict, str, int | None]] = field(default_factory=list)
    done_at: datetime | None = None
    cancelled_at: datetime | None = None
    displaced_at: datetime | None = None
    moved_from: datetime | None = None


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


class _Customers:
    """Residents and businesses who booked: mostly new, now and then someone who booked before. Written only
    when used; created a little before their first booking."""

    def __init__(self, tenant: Tenant, rng: random.Random) -> None:
        self.tenant = tenant
        self.rng = rng
        self.towns = TOWNS.get(tenant.slug, TOWNS["northshire"])
        existing = list(Customer.objects.values_list("email", "phone"))
        self.emails = {e.lower() for e, _p in existing if e}
        taken = {p for _e, p in existing if p}
        numbers = [n for n in range(1000) if f"+447700900{n:03d}" not in taken]
        rng.shuffle(numbers)
        self.numbers = iter(numbers)
        self.regulars: dict[str, list[Customer]] = defaultdict(list)
        self.business: dict[int, tuple[str, str]] = {}
        self.first_booked: dict[int, datetime] = {}

    def pick(self, type_name: str, made: datetime) -> Customer:
        regulars = self.regulars[type_name]
        if regulars and self.rng.random() < 0.22:
            customer = self.rng.choice(regulars)
            if self.first_booked[id(customer)] < made:
                return customer
        customer = self._new(type_name, made)
        regulars.append(customer)
        return customer

    def _new(self, type_name: str, made: datetime) -> Customer:
        rng = self.rng
        business: tuple[str, str] | None = None
        if type_name == FOOD:
            business = rng.choice(BUSINESSES)
        elif type_name in (SAFETY, JOINT):
            business = (rng.choice(WORKPLACES), "")
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        town, outwards = rng.choice(self.towns)
        inward = f"{rng.randint(1, 9)}{rng.choice(POSTCODE_LETTERS)}{rng.choice(POSTCODE_LETTERS)}"
        postcode = f"{rng.choice(outwards)} {inward}"
        line_1 = f"{rng.randint(1, 120)} {rng.choice(STREETS)}"
        if business:
            line_1 = f"{business[0]}, {line_1}"
        domain = rng.choice(["example.org", "example.com", "example.net"])
        base = f"{first}.{last}".lower().replace("'", "")
        email, n = f"{base}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}@{domain}"
        self.emails.add(email)
        number = next(self.numbers, None) if rng.random() < 0.35 else None
        customer = Customer(
            tenant=self.tenant,
            full_name=f"{first} {last}",
            email=email,
            phone=f"+447700900{number:03d}" if number is not None else "",
            address_line_1=line_1,
            town=town,
            postcode=postcode,
            contact_by_email=True,
            contact_by_sms=number is not None and rng.random() < 0.55,
            consent_given_at=made,
            accessibility_needs="" if rng.random() > 0.05 else "Uses a wheelchair: step-free access, please.",
            created_at=made - timedelta(minutes=rng.randint(0, 3)),
        )
        if business:
            self.business[id(customer)] = business
        self.first_booked[id(customer)] = made
        return customer

    def used(self, visits: list[_Visit]) -> list[Customer]:
        seen: dict[int, Customer] = {}
        for visit in visits:
            customer = visit.booking.customer
            if customer is not None and customer.pk is None:
                seen.setdefault(id(customer), customer)
        return list(seen.values())


class _Messages:
    """The messages history caused, as the dispatcher left them: mostly delivered, some only sent (no
    receipt), a few bounced or failed, and their fallbacks on the customer's other contact detail."""

    def __init__(self, tenant: Tenant, rng: random.Random, zone: Any) -> None:
        self.tenant = tenant
        self.rng = rng
        self.zone = zone
        self.rows: list[dict[str, Any]] = []
        self.modes: dict[int, str] = {}
        self.fallbacks: list[tuple[dict[str, Any], dict[str, Any]]] = []

    def write(self, visits: list[_Visit]) -> int:
        for visit in visits:
            self._booking(visit)
        _copy(Message, self.rows)
        keys = [original["dedupe_key"] for original, _fallback in self.fallbacks]
        ids = dict(Message.objects.filter(dedupe_key__in=keys).values_list("dedupe_key", "pk"))
        for original, fallback in self.fallbacks:
            fallback["fallback_of_id"] = ids[original["dedupe_key"]]
        _copy(Message, [fallback for _original, fallback in self.fallbacks])
        return len(self.rows) + len(self.fallbacks)

    def _booking(self, visit: _Visit) -> None:
        booking = visit.booking
        if booking.customer is None:
            return
        context = self._context(booking, visit.moved_from)
        addresses = []
        if booking.contact_by_email and booking.contact_email:
            fallback = booking.contact_phone if booking.contact_phone and not booking.contact_by_sms else ""
            addresses.append(
                (
                    MessageChannel.EMAIL,
                    booking.contact_email,
                    MessageChannel.SMS if fallback else "",
                    fallback,
                )
            )
        if booking.contact_by_sms and booking.contact_phone:
            addresses.append((MessageChannel.SMS, booking.contact_phone, "", ""))
        told = [(MessageKind.CONFIRMATION, booking.created_at)]
        for action, at, *_rest in visit.events:
            kind = {
                "rescheduled": MessageKind.RESCHEDULED,
                "cancelled": MessageKind.CANCELLED,
                "displaced": MessageKind.DISPLACED,
            }.get(action)
            if kind:
                told.append((kind, at))
        withdrawn = visit.cancelled_at or visit.displaced_at
        for channel, to, fallback_channel, fallback_to in addresses:
            for n, (kind, at) in enumerate(told):
                self._add(
                    booking, kind, channel, to, context, f"{n}", at, at, None, fallback_channel, fallback_to
                )
            for hours in sorted(set(booking.appointment_type.reminder_hours), reverse=True):
                due = booking.starts_at - timedelta(hours=hours)
                if due <= booking.created_at:
                    continue
                if withdrawn and withdrawn < due:
                    self._add(
                        booking,
                        MessageKind.REMINDER,
                        channel,
                        to,
                        context,
                        f"{hours}h",
                        booking.created_at,
                        due,
                        booking.starts_at,
                        "",
                        "",
                        status=MessageStatus.CANCELLED,
                        status_at=withdrawn,
                    )
                else:
                    self._add(
                        booking,
                        MessageKind.REMINDER,
                        channel,
                        to,
                        context,
                        f"{hours}h",
                        booking.created_at,
                        due,
                        booking.starts_at,
                        fallback_channel,
                        fallback_to,
                    )
            if (
                booking.status == BookingStatus.COMPLETED
                and booking.appointment_type.survey_enabled
                and visit.done_at
            ):
                self._add(
                    booking,
                    MessageKind.SURVEY,
                    channel,
                    to,
                    context,
                    "survey",
                    visit.done_at,
                    visit.done_at,
                    visit.done_at + timedelta(days=14),
                    "",
                    "",
                )

    def _context(self, booking: Booking, moved_from: datetime | None) -> dict[str, str]:
        start, end = booking.starts_at.astimezone(self.zone), booking.ends_at.astimezone(self.zone)
        previous = moved_from.astimezone(self.zone) if moved_from else None
        appointment_type = booking.appointment_type
        if appointment_type.pk not in self.modes:
            self.modes[appointment_type.pk] = str(appointment_type.get_location_mode_display())
        mode = self.modes[appointment_type.pk]
        return {
            "customer_name": booking.contact_name,
            "reference": booking.reference,
            "service": booking.appointment_type.name,
            "date": _long_date(start),
            "time": f"{start:%H:%M}",
            "end_time": f"{end:%H:%M}",
            "location": f"{mode}: {booking.location}" if booking.location else mode,
            "officer": "",
            "council": self.tenant.name,
            "council_phone": "",
            "manage_url": "",
            "previous_date": _long_date(previous) if previous else "",
            "previous_time": f"{previous:%H:%M}" if previous else "",
        }

    def _add(
        self,
        booking: Booking,
        kind: str,
        channel: str,
        to: str,
        context: dict[str, str],
        key: str,
        created_at: datetime,
        due_at: datetime,
        expires_at: datetime | None,
        fallback_channel: str,
        fallback_to: str,
        *,
        status: str | None = None,
        status_at: datetime | None = None,
    ) -> None:
        rng = self.rng
        sent_at = due_at + timedelta(seconds=rng.randint(2, 90))
        if status is None:
            weights = (
                [
                    (MessageStatus.DELIVERED, 88),
                    (MessageStatus.SENT, 7),
                    (MessageStatus.BOUNCED, 3),
                    (MessageStatus.FAILED, 2),
                ]
                if channel == MessageChannel.EMAIL
                else [(MessageStatus.DELIVERED, 85), (MessageStatus.SENT, 9), (MessageStatus.FAILED, 6)]
            )
            status = _weighted(rng, weights)
            status_at = sent_at + timedelta(seconds=rng.randint(1, 600))
        reached = status in (MessageStatus.SENT, MessageStatus.DELIVERED, MessageStatus.BOUNCED)
        error = ""
        if status in (MessageStatus.BOUNCED, MessageStatus.FAILED):
            error = rng.choice(EMAIL_ERRORS if channel == MessageChannel.EMAIL else SMS_ERRORS)
        message = {
            "tenant_id": self.tenant.pk,
            "kind": kind,
            "channel": channel,
            "to": to,
            "topic": f"booking:{booking.reference}",
            "recipient": f"customer:{booking.customer.pk}",
            "dedupe_key": f"{DEDUPE_PREFIX}{booking.public_id}:{kind}:{key}:{channel}",
            "context": context,
            "status": status,
            "status_at": status_at or created_at,
            "created_at": created_at,
            "due_at": due_at,
            "expires_at": expires_at,
            "attempts": 0
            if status == MessageStatus.CANCELLED
            else 6
            if status == MessageStatus.FAILED
            else 1,
            "last_error": error,
            "sent_at": sent_at if reached else None,
            "provider_id": f"demo-{rng.getrandbits(80):020x}" if reached else "",
            "segments": (2 if kind == MessageKind.CONFIRMATION else 1)
            if channel == MessageChannel.SMS and reached
            else None,
            "fallback_channel": fallback_channel,
            "fallback_to": fallback_to,
        }
        self.rows.append(message)
        if status in (MessageStatus.BOUNCED, MessageStatus.FAILED) and fallback_channel:
            at = (status_at or created_at) + timedelta(seconds=rng.randint(5, 120))
            fallback = {
                **message,
                "channel": fallback_channel,
                "to": fallback_to,
                "dedupe_key": f"{message['dedupe_key']}:fallback",
                "status": MessageStatus.DELIVERED if rng.random() < 0.9 else MessageStatus.SENT,
                "status_at": at + timedelta(seconds=rng.randint(2, 60)),
                "created_at": at,
                "due_at": at,
                "attempts": 1,
                "last_error": "",
                "sent_at": at,
                "provider_id": f"demo-{rng.getrandbits(80):020x}",
                "segments": 1 if fallback_channel == MessageChannel.SMS else None,
                "fallback_channel": "",
                "fallback_to": "",
            }
            self.fallbacks.append((message, fallback))


def _row(instance: Model) -> dict[str, Any]:
    return {f.attname: getattr(instance, f.attname) for f in instance._meta.concrete_fields}


def _copy(model: type[Model], rows: Iterable[dict[str, Any]]) -> int:
    """COPYs rows (field attnames to values; missing ones take the field's default) into the model's table."""
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
    table = connection.ops.quote_name(model._meta.db_table)
    adapt = [
        (lambda v: Jsonb(v) if v is not None else None)
        if isinstance(f, JSONField)
        else (lambda v: Range(v[0], v[1], "[)") if v is not None else None)
        if isinstance(f, RangeField)
        else None
        for f in fields
    ]
    written = 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            values = []
            for f, to_db in zip(fields, adapt, strict=True):
                value = row[f.attname] if f.attname in row else f.get_default()
                values.append(to_db(value) if to_db else value)
            copy.write_row(values)
            written += 1
    return written


def _weighted(rng: random.Random, choices: list[tuple[Any, int]]) -> Any:
    values, weights = zip(*choices, strict=True)
    return rng.choices(values, weights=weights)[0]


def _on_grid(at: datetime, minutes: int, zone: Any) -> datetime:
    """The first local time on the type's grid (from midnight) at or after `at`."""
    local = at.astimezone(zone)
    minute = local.hour * 60 + local.minute + (1 if local.second or local.microsecond else 0)
    grid = -(-minute // minutes) * minutes
    midnight = datetime.combine(local.date(), time.min, zone)
    return midnight + timedelta(minutes=grid)


def _long_date(at: datetime) -> str:
    return _day_name(at.date())


@functools.cache
def _day_name(day: date) -> str:
    return f"{day:%A} {day.day} {day:%B %Y}"
