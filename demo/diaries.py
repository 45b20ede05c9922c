"""Demo diaries: a fortnight of real-looking appointments for a freshly seeded tenant (see `seed_demo`).

Every booking goes through the booking services (history, outbox messages, the database's refusal of double
booking) at a slot `available_slots` offers, so the diaries respect working patterns, absences, holidays
and service blocks. Everything is relative to today in the tenant's zone and drawn from a fixed seed, so
the same day always gives the same diaries.

What a newcomer finds: every officer has 4–6 appointments on each working day of this week and next (from
the first weekday on, when today falls on a weekend); the days already past are completed, with outcome
notes, a few no-shows and one completed visit that needs a follow-up; a joint visit (two officers) today and
another next week; case references on many bookings; and one officer's training day next week added after
their bookings were made, so the conflict queue has something to show.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone

from accounts.models import Officer, Tenant
from bookings.availability import available_slots
from bookings.contacts import address_join
from bookings.errors import SlotUnavailable
from bookings.models import Booking, BookingStatus, CaseKind, Channel, ConflictItem, Customer
from bookings.services import booking_case_link, booking_create, booking_outcome_record, customer_create
from demo.places import DemoPostcodes
from scheduling.models import Absence, AbsenceKind, AppointmentType, LocationMode

SEED = 20260109

FOOD = "Food hygiene inspection"
SAFETY = "Health and safety visit"
JOINT = "Joint health and safety visit"
LICENSING = "Licensing consultation"
PHONE = "Phone advice call"

FIRST_NAMES = [
    "Amelia",
    "Oliver",
    "Isla",
    "Harry",
    "Ava",
    "Jack",
    "Mia",
    "George",
    "Sophie",
    "Noah",
    "Grace",
    "Leo",
    "Ruby",
    "Arthur",
    "Evie",
    "Muhammad",
    "Freya",
    "Oscar",
    "Aisha",
    "Thomas",
    "Chloe",
    "Dylan",
    "Niamh",
    "Rhys",
    "Hannah",
    "Kwame",
    "Zara",
    "Tomasz",
    "Megan",
    "Rohan",
    "Siobhan",
    "Callum",
    "Yasmin",
    "Ewan",
    "Bethan",
    "Wei",
    "Fatima",
    "Declan",
    "Lily",
    "Ibrahim",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Williams",
    "Taylor",
    "Brown",
    "Davies",
    "Evans",
    "Wilson",
    "Thomas",
    "Johnson",
    "Roberts",
    "Robinson",
    "Thompson",
    "Wright",
    "Walker",
    "White",
    "Edwards",
    "Hughes",
    "Green",
    "Hall",
    "Khan",
    "Patel",
    "Lewis",
    "Harris",
    "Clarke",
    "Jackson",
    "Wood",
    "Turner",
    "Okafor",
    "Nowak",
    "Murphy",
    "Campbell",
    "Ali",
    "Chen",
    "Begum",
    "Kowalski",
    "Price",
    "Morris",
    "Bennett",
    "Shaw",
]
STREETS = [
    "High Street",
    "Market Place",
    "Station Road",
    "Church Lane",
    "Victoria Road",
    "Mill Lane",
    "King Street",
    "Queen's Parade",
    "Bridge Street",
    "North Road",
    "Park Avenue",
    "The Green",
    "West End",
    "Chapel Row",
    "Albert Terrace",
    "Castle Hill",
    "London Road",
    "Westgate",
    "Northgate",
    "Silver Street",
]
# Towns and the outward codes of their postcodes, per demo tenant (anything else gets the first list): the
# fictional towns of the demo gazetteers (`demo/data/`), whose postcodes customers are given.
TOWNS = {
    "northshire": [
        ("Thornby", ["NS1", "NS2"]),
        ("Millbeck", ["NS3"]),
        ("Eastwick Moor", ["NS4"]),
        ("Hawksley", ["NS5"]),
        ("Ashby Cross", ["NS6"]),
    ],
    "southvale": [
        ("Llanwen", ["SV1", "SV2"]),
        ("Brynteg", ["SV3"]),
        ("Pontmawr", ["SV4"]),
        ("Castell Coed", ["SV5"]),
        ("Aberwen", ["SV6"]),
    ],
}
BUSINESSES = [
    ("The Olive Tree", "Restaurant or café"),
    ("Golden Dragon", "Takeaway"),
    ("Corner Shop Express", "Shop or supermarket"),
    ("Bean There Coffee", "Restaurant or café"),
    ("Pizza Napoli", "Takeaway"),
    ("The Red Lion", "Restaurant or café"),
    ("Spice Garden", "Restaurant or café"),
    ("Fresh Fields Farm Shop", "Shop or supermarket"),
    ("Smokin' Wheels BBQ", "Mobile food van or stall"),
    ("Little Acorns Childminding", "Home caterer or childminder"),
    ("Cake Corner Bakery", "Shop or supermarket"),
    ("Harbour Fish Bar", "Takeaway"),
    ("Mama's Kitchen", "Home caterer or childminder"),
    ("The Tea Rooms", "Restaurant or café"),
    ("Kebab King", "Takeaway"),
    ("Village Stores", "Shop or supermarket"),
]
WORKPLACES = [
    "Northgate Builders Merchants",
    "Riverside Care Home",
    "Quickfit Tyres",
    "Parkview Warehouse",
    "Station Garage",
    "Hilltop Joinery",
    "Castle Leisure Centre",
    "Elm Tree Nursery",
    "Abbey Print Works",
]
ACCESS_NOTES = [
    "Use the rear entrance from the car park; ask for the manager.",
    "Busy at lunchtime: the owner asked for a visit outside 12:00–14:00 if possible.",
    "Parking on the street is limited; the pool car fits in the yard behind the shop.",
    "Dog on the premises, kept in the back office during visits.",
    "Ring the bell at the side gate; the front door is not used.",
    "",
    "",
]
ACCESSIBILITY = [
    "Uses a wheelchair: step-free access by the side door, please.",
    "Hard of hearing: please face them and speak clearly.",
    "Would like a British Sign Language interpreter.",
    "Has a guide dog.",
    "Dyslexic: please explain anything written, and send it by email afterwards.",
]
PHONE_TOPICS = [
    "Starting a food business from home: what registration is needed?",
    "Neighbour's extractor fan: smells and noise in the evenings.",
    "Questions about allergen labelling for a new menu.",
    "Wants advice on a temporary event notice for a village fete.",
    "Pest problem in the shared bin store of a block of flats.",
    "Asking how to appeal a food hygiene rating.",
    "Planning a street party: does it need a licence?",
]
LICENSING_TOPICS = [
    "New premises licence for a micro-pub.",
    "Varying the hours on an existing premises licence.",
    "Personal licence application: first-time applicant.",
    "Street trading consent for a coffee van.",
    "Transfer of a premises licence after buying the business.",
]
COMPLETED_NOTES = {
    FOOD: [
        "Premises clean and well organised; temperature records up to date. Rating 5 expected.",
        "Generally good. Hand-wash basin in the kitchen blocked by stock; moved during the visit. Rating 4.",
        "Allergen information not available for two dishes; written advice left. Rating 3.",
        "Good practice throughout; new staff trained on the cleaning schedule.",
    ],
    SAFETY: [
        "Accident site seen; guard refitted to the saw bench. Letter of advice to follow.",
        "Ladders and racking checked; no action needed.",
        "Risk assessment out of date; the manager will send a new one within 14 days.",
    ],
    JOINT: ["Joint visit done; findings agreed with the owner on site. Reports to follow from both teams."],
    LICENSING: [
        "Application form gone through; plan of the premises still needed.",
        "Advised on conditions for late opening; applicant will apply next month.",
        "All documents seen; application can be submitted online.",
    ],
    PHONE: [
        "Advice given; links to the guidance emailed.",
        "Caller will send photos; no visit needed for now.",
        "Explained the process and the fee.",
    ],
}
NO_SHOW_NOTES = {
    FOOD: "Premises closed on arrival; card left asking the owner to call.",
    SAFETY: "Nobody on site who could show us round; card left.",
    JOINT: "Premises closed on arrival; card left.",
    LICENSING: "Applicant did not come; tried to call, no answer.",
    PHONE: "Called twice, no answer; voicemail left.",
}
FOLLOW_UP_NOTE = (
    "Evidence of mice in the dry store; pest control booked by the owner. Revisit within two weeks "
    "to check the treatment has worked. Rating withheld until then."
)
ABSENCE_NOTE = "Food standards refresher course (added after bookings were made)"


@dataclass
class Diaries:
    """What was seeded, for the command's message and the tests."""

    bookings: int = 0
    customers: int = 0


def seed_diaries(tenant: Tenant, *, now: datetime | None = None) -> Diaries:
    """Fills the diaries of the tenant's officers (this week and next). Runs inside the tenant's scope after
    `seed_scheduling`; a tenant that already has bookings is left alone."""
    if Booking.objects.exists():
        return Diaries()
    return _Seeder(tenant, now or timezone.now()).run()


def demo_days(today: date) -> tuple[date, list[date]]:
    """The day a newcomer sees first (today, or the next weekday at a weekend) and the weekdays to fill:
    that day's week and the next, reaching back far enough that at least two weekdays are already past."""
    anchor = today
    while anchor.weekday() >= 5:
        anchor += timedelta(days=1)
    start = anchor - timedelta(days=anchor.weekday())
    end = start + timedelta(days=12)  # the Friday of the following week
    while len([d for d in _weekdays(start, today)]) < 2:
        start -= timedelta(days=1)
    return anchor, list(_weekdays(start, end + timedelta(days=1)))


def _weekdays(start: date, end: date) -> Iterator[date]:
    day = start
    while day < end:
        if day.weekday() < 5:
            yield day
        day += timedelta(days=1)


class _Seeder:
    def __init__(self, tenant: Tenant, now: datetime) -> None:
        self.tenant = tenant
        self.now = now
        self.zone = tenant.zone
        self.rng = random.Random(f"{SEED}:{tenant.slug}")
        self.result = Diaries()
        self.types = {t.name: t for t in AppointmentType.objects.prefetch_related("questions")}
        officers = list(Officer.objects.select_related("user").prefetch_related("skills").order_by("pk"))
        self.officers = officers
        self.skills = {o.pk: {s.name for s in o.skills.all()} for o in officers}
        self.towns = TOWNS.get(tenant.slug, TOWNS["northshire"])
        self.postcodes = DemoPostcodes()
        numbers = list(range(1000))
        self.rng.shuffle(numbers)
        self.phone_numbers = iter(numbers)
        self.emails: set[str] = set()
        self.case_numbers: dict[str, int] = {}
        self.regulars: list[Customer] = []

    # --- the plan -------------------------------------------------------------------------------------

    def run(self) -> Diaries:
        today = self.now.astimezone(self.zone).date()
        anchor, days = demo_days(today)
        joint_days = {anchor: self._joint_pair(first=True)}
        later = [d for d in days if d >= anchor + timedelta(days=(7 - anchor.weekday()))]
        if later:
            joint_days[later[min(2, len(later) - 1)]] = self._joint_pair(first=False)
        past: list[Booking] = []
        for day in days:
            taken: dict[int, int] = {}
            if day in joint_days and (pair := joint_days[day]):
                booking = self._book_one(day, JOINT, pair, after=time(10, 0))
                if booking:
                    for officer_id in pair:
                        taken[officer_id] = 1
                    if day < today:
                        past.append(booking)
            for officer in self.officers:
                for booking in self._fill_day(officer, day, already=taken.get(officer.pk, 0)):
                    if day < today:
                        past.append(booking)
        self._outcomes(past)
        self._absence_over_bookings(days, anchor)
        return self.result

    def _joint_pair(self, *, first: bool) -> tuple[int, ...] | None:
        """A food hygiene and a health and safety officer; officer 1 first, so the newcomer sees it."""
        food = [o.pk for o in self.officers if "Food hygiene" in self.skills[o.pk]]
        safety = [o.pk for o in self.officers if "Health and safety" in self.skills[o.pk]]
        if JOINT not in self.types or not food or not safety:
            return None
        a = food[0] if first else food[-1]
        others = [o for o in safety if o != a]
        if not others:
            return None
        return (a, others[-1])

    def _menu(self, officer: Officer, *, short: bool) -> list[str]:
        """The types of one officer's day, most substantial first (they need the longest gaps); fewer
        visits on a short day (a service block or a joint visit takes part of it)."""
        skills = self.skills[officer.pk]
        n = self.rng.randint(4, 6)
        if "Food hygiene" in skills:
            field = [FOOD] * (1 if short else self.rng.choice([2, 3]))
        elif "Health and safety" in skills:
            field = [SAFETY] * (1 if short else self.rng.choice([2, 3]))
        elif "Licensing" in skills:
            field = [LICENSING] * (2 if short else self.rng.choice([3, 4]))
        else:
            field = []
        field = [name for name in field if name in self.types]
        return field + [PHONE] * max(0, n - len(field))

    def _fill_day(self, officer: Officer, day: date, *, already: int) -> list[Booking]:
        """Books the officer's day in order from the morning. Each type's free slots that day are asked of
        `available_slots` once; the day's own new bookings are then taken out locally (one officer's
        diary: nobody else books it meanwhile), and the services check every booking again anyway."""
        booked: list[Booking] = []
        taken: list[tuple[datetime, datetime]] = []
        offered: dict[str, list] = {}
        if PHONE in self.types:
            offered[PHONE] = self._slots(self.types[PHONE], day, (officer.pk,))
        # Minutes the officer is open for anything (calls are 20 minutes on a 20-minute grid).
        open_minutes = 20 * len(offered.get(PHONE, [])) - 90 * already
        names = self._menu(officer, short=open_minutes < 300)
        names = names[: max(0, len(names) - already)]
        # Short calls fill the gaps until the day has at least four appointments.
        names += [PHONE] * max(0, 4 - already - len(names))
        cursor = time(9, 0)
        for name in names:
            appointment_type = self.types.get(name)
            if appointment_type is None:
                continue
            if name not in offered:
                offered[name] = self._slots(appointment_type, day, (officer.pk,))
            free = [s for s in offered[name] if not _clashes(appointment_type, s.start, taken)]
            later = [s for s in free if s.start.astimezone(self.zone).time() >= cursor]
            choices = (self.rng.sample(later[:2], len(later[:2])) if later else []) + free[:3]
            for slot in choices:
                try:
                    booking = self._create(appointment_type, slot.start, (officer.pk,), self._booked_at(day))
                except SlotUnavailable:
                    continue
                booked.append(booking)
                taken.append(_occupied(appointment_type, slot.start))
                end = booking.ends_at.astimezone(self.zone)
                cursor = (end + timedelta(minutes=self.rng.choice([0, 0, 30]))).time()
                break
        return booked

    def _slots(self, appointment_type: AppointmentType, day: date, officer_ids: tuple[int, ...]) -> list:
        day_start = datetime.combine(day, time.min, self.zone)
        slots = available_slots(
            appointment_type,
            day_start,
            day_start + timedelta(days=1),
            now=self._earliest_booked_at(day),
            apply_notice=False,
            officer_ids=officer_ids,
        )
        return [s for s in slots if len({o for seat in s.officer_seats for o in seat}) >= len(officer_ids)]

    def _book_one(self, day: date, name: str, officer_ids: tuple[int, ...], *, after: time) -> Booking | None:
        appointment_type = self.types.get(name)
        if appointment_type is None:
            return None
        slots = self._slots(appointment_type, day, officer_ids)
        later = [s for s in slots if s.start.astimezone(self.zone).time() >= after]
        for slot in later[:1] + slots[:3]:
            try:
                return self._create(appointment_type, slot.start, officer_ids, self._booked_at(day))
            except SlotUnavailable:
                continue
        return None

    def _earliest_booked_at(self, day: date) -> datetime:
        return min(datetime.combine(day, time(9, 0), self.zone) - timedelta(days=13), self.now)

    def _booked_at(self, day: date) -> datetime:
        """When the booking was made: a few days ahead of it, never after now."""
        made = datetime.combine(day, time(9, 0), self.zone) - timedelta(
            days=self.rng.randint(2, 12), minutes=self.rng.randint(0, 7 * 60)
        )
        return min(made, self.now - timedelta(minutes=self.rng.randint(5, 240)))

    # --- one booking ----------------------------------------------------------------------------------

    def _create(
        self, appointment_type: AppointmentType, start: datetime, officer_ids: tuple[int, ...], made: datetime
    ) -> Booking:
        name = appointment_type.name
        customer, address, business = self._customer(name, made)
        answers: dict[str, str] = {}
        notes = ""
        channel = Channel.STAFF
        case: tuple[str, str] | None = None
        if name == FOOD:
            kind = business[1] if business else "Other"
            answers = {
                "What kind of food business is it?": kind,
                "How many staff work there?": str(self.rng.randint(1, 14)),
            }
            notes = " ".join(
                p for p in [f"Business: {business[0]}." if business else "", self._access()] if p
            )
            channel = self.rng.choice([Channel.PORTAL, Channel.PORTAL, Channel.STAFF])
            if self.rng.random() < 0.6:
                case = self._case("FH", CaseKind.INSPECTION)
            elif self.rng.random() < 0.5:
                case = self._case("CMP", CaseKind.COMPLAINT)
        elif name in (SAFETY, JOINT):
            questions = list(appointment_type.questions.all())
            if questions and questions[0].choice_list():
                answers = {questions[0].label: self.rng.choice(questions[0].choice_list())}
            notes = " ".join(
                p for p in [f"Workplace: {business[0]}." if business else "", self._access()] if p
            )
            kinds = [("CMP", CaseKind.COMPLAINT), ("ENF", CaseKind.ENFORCEMENT), ("FH", CaseKind.INSPECTION)]
            case = self._case(*self.rng.choice(kinds)) if self.rng.random() < 0.8 else None
        elif name == LICENSING:
            notes = self.rng.choice(LICENSING_TOPICS)
            channel = self.rng.choice([Channel.PORTAL, Channel.STAFF])
            if self.rng.random() < 0.7:
                case = self._case("LA", CaseKind.LICENCE_APPLICATION)
        else:
            notes = self.rng.choice(PHONE_TOPICS)
            channel = self.rng.choice([Channel.PORTAL, Channel.STAFF, Channel.STAFF])
            if self.rng.random() < 0.25:
                case = self._case("ADV", CaseKind.ADVICE)
        on_site = appointment_type.location_mode == LocationMode.CUSTOMER_ADDRESS
        location = address if on_site else appointment_type.office_address
        booking = booking_create(
            appointment_type=appointment_type,
            starts_at=start,
            customer=customer,
            actor=None,
            now=made,
            channel=channel,
            officer_ids=officer_ids,
            apply_notice=False,
            answers=answers,
            location=location,
            notes=notes,
        )
        point = self.postcodes.point(customer.postcode) if on_site else None
        if point is not None and booking.latitude is None:
            # Where the visit is, for routes and travel-aware slots (the postcode's point in the gazetteer).
            booking.latitude, booking.longitude = point.latitude, point.longitude
            Booking.objects.filter(pk=booking.pk).update(latitude=point.latitude, longitude=point.longitude)
        if case:
            booking = booking_case_link(
                booking=booking, reference=case[0], kind=case[1], actor=None, now=made
            )
        self.result.bookings += 1
        return booking

    def _access(self) -> str:
        return self.rng.choice(ACCESS_NOTES)

    def _case(self, prefix: str, kind: str) -> tuple[str, str]:
        year = self.now.astimezone(self.zone).year
        number = self.case_numbers.get(prefix) or self.rng.randint(40, 300)
        self.case_numbers[prefix] = number + self.rng.randint(1, 9)
        return f"{prefix}-{year}-{number:04d}", kind

    def _customer(self, type_name: str, made: datetime) -> tuple[Customer, str, tuple[str, str] | None]:
        """A new customer mostly; now and then someone who has booked before."""
        business: tuple[str, str] | None = None
        if type_name == FOOD:
            business = self.rng.choice(BUSINESSES)
        elif type_name in (SAFETY, JOINT):
            business = (self.rng.choice(WORKPLACES), "")
        if self.regulars and type_name in (PHONE, LICENSING) and self.rng.random() < 0.15:
            customer = self.rng.choice(self.regulars)
            return customer, _address_of(customer), business
        first, last = self.rng.choice(FIRST_NAMES), self.rng.choice(SURNAMES)
        town, outwards = self.rng.choice(self.towns)
        postcode = self.postcodes.pick(self.rng, outwards)
        line_1 = f"{self.rng.randint(1, 120)} {self.rng.choice(STREETS)}"
        if business:
            line_1 = f"{business[0]}, {line_1}"
        email = self._email(first, last)
        phone_number = next(self.phone_numbers, None)
        by_sms = phone_number is not None and self.rng.random() < 0.4
        customer = customer_create(
            tenant=self.tenant,
            actor=None,
            now=made,
            full_name=f"{first} {last}",
            email=email,
            phone=f"+447700900{phone_number:03d}" if phone_number is not None else "",
            address_line_1=line_1,
            town=town,
            postcode=postcode,
            contact_by_email=True,
            contact_by_sms=by_sms,
            consent_given_at=made,
            accessibility_needs=self.rng.choice(ACCESSIBILITY) if self.rng.random() < 0.15 else "",
        )
        self.result.customers += 1
        self.regulars.append(customer)
        return customer, _address_of(customer), business

    def _email(self, first: str, last: str) -> str:
        domain = self.rng.choice(["example.org", "example.com"])
        base = f"{first}.{last}".lower().replace("'", "")
        email, n = f"{base}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{base}{n}@{domain}"
        self.emails.add(email)
        return email

    # --- what already happened, and what changed since ------------------------------------------------

    def _outcomes(self, past: list[Booking]) -> None:
        """Past appointments are completed, with notes, a few no-shows, and one inspection needing a
        follow-up (the latest completed food inspection, so it is easy to find)."""
        follow_up = next((b for b in reversed(past) if b.appointment_type.name == FOOD), None)
        for booking in past:
            name = booking.appointment_type.name
            done_at = booking.ends_at + timedelta(minutes=self.rng.randint(10, 90))
            if booking is not follow_up and self.rng.random() < 0.08:
                booking_outcome_record(
                    booking=booking,
                    outcome=BookingStatus.NO_SHOW,
                    notes=NO_SHOW_NOTES.get(name, ""),
                    follow_up_needed=False,
                    actor=None,
                    now=done_at,
                )
                continue
            booking_outcome_record(
                booking=booking,
                outcome=BookingStatus.COMPLETED,
                notes=FOLLOW_UP_NOTE if booking is follow_up else self.rng.choice(COMPLETED_NOTES[name]),
                follow_up_needed=booking is follow_up,
                actor=None,
                now=done_at,
            )

    def _absence_over_bookings(self, days: list[date], anchor: date) -> None:
        """A training day next week for the second officer, added after their bookings were made (a plain
        model save, so whatever listens for new absences sees it)."""
        if len(self.officers) < 2:
            return
        next_week = [d for d in days if d >= anchor + timedelta(days=7 - anchor.weekday())]
        if not next_week:
            return
        day = next_week[min(3, len(next_week) - 1)]
        Absence.objects.create(
            tenant=self.tenant,
            officer=self.officers[1],
            kind=AbsenceKind.TRAINING,
            starts_at=datetime.combine(day, time(9, 0), self.zone),
            ends_at=datetime.combine(day, time(17, 0), self.zone),
            note=ABSENCE_NOTE,
        )
        # The training was booked over the last few days, not this second: the queue's ages look lived in.
        for n, item in enumerate(ConflictItem.objects.open().order_by("pk")):
            ConflictItem.objects.filter(pk=item.pk).update(
                detected_at=self.now - timedelta(hours=3 + 17 * n, minutes=11 * n)
            )


def _occupied(appointment_type: AppointmentType, start: datetime) -> tuple[datetime, datetime]:
    return start - appointment_type.buffer_before, (
        start + appointment_type.duration + appointment_type.buffer_after
    )


def _clashes(
    appointment_type: AppointmentType, start: datetime, taken: list[tuple[datetime, datetime]]
) -> bool:
    lo, hi = _occupied(appointment_type, start)
    return any(lo < t_hi and t_lo < hi for t_lo, t_hi in taken)


def _address_of(customer: Customer) -> str:
    return address_join(customer.address_line_1, customer.address_line_2, customer.town, customer.postcode)
