"""Demo scheduling configuration for a freshly seeded tenant (see `manage.py seed_demo`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import recurrence
from django.utils import timezone
from django.utils.text import slugify

from accounts.models import Officer, Skill, Tenant
from demo.places import OFFICE, place_of
from scheduling.models import (
    Absence,
    AbsenceKind,
    AllocationStrategy,
    AppointmentType,
    Holiday,
    LocationMode,
    Priority,
    Question,
    QuestionKind,
    Resource,
    ResourceKind,
    ResourceRequirement,
    ServiceBlock,
    StaffingRequirement,
    WorkingInterval,
    WorkingPattern,
)
from scheduling.services import categories_create_defaults, supply_version_bump

PATTERNS_FROM = date(2026, 1, 1)
WEEKDAYS = range(5)
OFFICER_HOURS = [(time(9, 0), time(12, 30)), (time(13, 30), time(17, 0))]
ROOM_HOURS = [(time(8, 30), time(17, 30))]

BANK_HOLIDAYS = [
    (date(2026, 12, 25), "Christmas Day"),
    (date(2026, 12, 28), "Boxing Day (substitute day)"),
    (date(2027, 1, 1), "New Year's Day"),
    (date(2027, 4, 2), "Good Friday"),
    (date(2027, 4, 5), "Easter Monday"),
    (date(2027, 5, 3), "Early May bank holiday"),
    (date(2027, 5, 31), "Spring bank holiday"),
    (date(2027, 8, 30), "Summer bank holiday"),
]

FOOD_BUSINESS_KINDS = [
    "Restaurant or café",
    "Takeaway",
    "Shop or supermarket",
    "Mobile food van or stall",
    "Home caterer or childminder",
    "Other",
]

SAFETY_VISIT_REASONS = [
    "Accident or dangerous occurrence",
    "Complaint about working conditions",
    "Routine inspection",
    "Advice on a new workplace",
]


def seed_scheduling(tenant: Tenant, *, now: datetime | None = None) -> None:
    """Resources, working patterns, holidays, an absence, appointment types and a service block.

    Runs inside the tenant's scope, after its officers and skills exist. A tenant that already has
    appointment types is left alone, so running it twice changes nothing.
    """
    if AppointmentType.objects.exists():
        return
    now = now or timezone.now()
    rooms = [
        Resource.objects.create(tenant=tenant, name=n, kind=ResourceKind.ROOM) for n in ["Room 1", "Room 2"]
    ]
    Resource.objects.create(tenant=tenant, name="Pool car", kind=ResourceKind.VEHICLE)

    officers = list(Officer.objects.order_by("pk"))
    office = place_of(tenant, OFFICE)
    for index, officer in enumerate(officers):
        # Every other officer starts and ends the day at the office; the others at home (their home base).
        base = {}
        if office is not None and index % 2 == 0:
            point = office.point
            base = {
                "start_label": OFFICE,
                "start_latitude": point.latitude,
                "start_longitude": point.longitude,
            }
        _weekly_pattern(tenant, OFFICER_HOURS, officer=officer, **base)
    for room in rooms:
        _weekly_pattern(tenant, ROOM_HOURS, resource=room)

    Holiday.objects.bulk_create([Holiday(tenant=tenant, date=day, name=name) for day, name in BANK_HOLIDAYS])
    supply_version_bump(tenant_id=tenant.pk)  # bulk writes send no signals

    if len(officers) >= 4:
        first_day = now.astimezone(tenant.zone).date() + timedelta(days=14)
        Absence.objects.create(
            tenant=tenant,
            officer=officers[3],
            kind=AbsenceKind.LEAVE,
            starts_at=datetime.combine(first_day, time.min, tenant.zone),
            ends_at=datetime.combine(first_day + timedelta(days=7), time.min, tenant.zone),
            note="Annual leave",
        )

    food_inspection = _appointment_types(tenant)
    block = ServiceBlock.objects.create(
        tenant=tenant,
        name="Tuesday mornings: food inspections",
        start=time(9, 0),
        end=time(12, 30),
        recurrence=recurrence.Recurrence(rrules=[recurrence.Rule(recurrence.WEEKLY, byday=[recurrence.TU])]),
    )
    block.appointment_types.set([food_inspection], through_defaults={"tenant": tenant})


def _weekly_pattern(tenant: Tenant, hours: list[tuple[time, time]], **owner: object) -> None:
    pattern = WorkingPattern.objects.create(tenant=tenant, valid_from=PATTERNS_FROM, **owner)
    WorkingInterval.objects.bulk_create(
        WorkingInterval(tenant=tenant, pattern=pattern, weekday=day, start=start, end=end)
        for day in WEEKDAYS
        for start, end in hours
    )
    supply_version_bump(tenant_id=tenant.pk)


def _appointment_types(tenant: Tenant) -> AppointmentType:
    """The six demo types; returns the food hygiene inspection, which the service block is for."""
    categories = {c.name: c for c in categories_create_defaults(tenant=tenant)}
    skills = {
        name: Skill.objects.get_or_create(tenant=tenant, name=name)[0]
        for name in ["Food hygiene", "Health and safety", "Licensing"]
    }

    def create(name: str, category: str, **fields: object) -> AppointmentType:
        return AppointmentType.objects.create(
            tenant=tenant, name=name, slug=slugify(name), category=categories[category], **fields
        )

    def staffing(appointment_type: AppointmentType, *skill_names: str) -> None:
        for skill_name in skill_names:
            StaffingRequirement.objects.create(
                tenant=tenant, appointment_type=appointment_type, skill=skills[skill_name], count=1
            )

    food = create(
        "Food hygiene inspection",
        "Inspection",
        description="An inspection of a food business's premises, practices and records.",
        location_mode=LocationMode.CUSTOMER_ADDRESS,
        duration_minutes=60,
        buffer_before_minutes=15,
        buffer_after_minutes=15,
        granularity_minutes=30,
        online_bookable=True,
    )
    staffing(food, "Food hygiene")
    Question.objects.create(
        tenant=tenant,
        appointment_type=food,
        label="What kind of food business is it?",
        kind=QuestionKind.CHOICE,
        choices="\n".join(FOOD_BUSINESS_KINDS),
        position=10,
    )
    Question.objects.create(
        tenant=tenant,
        appointment_type=food,
        label="How many staff work there?",
        kind=QuestionKind.SHORT_TEXT,
        position=20,
    )

    safety = create(
        "Health and safety visit",
        "Inspection",
        description="A visit to a workplace about an accident, a complaint or a routine check.",
        location_mode=LocationMode.CUSTOMER_ADDRESS,
        duration_minutes=60,
        buffer_before_minutes=15,
        buffer_after_minutes=15,
        granularity_minutes=30,
        online_bookable=False,
    )
    staffing(safety, "Health and safety")
    Question.objects.create(
        tenant=tenant,
        appointment_type=safety,
        label="What is the visit about?",
        kind=QuestionKind.CHOICE,
        choices="\n".join(SAFETY_VISIT_REASONS),
        position=10,
    )

    joint = create(
        "Joint health and safety visit",
        "Inspection",
        description="A visit by a food hygiene officer and a health and safety officer together.",
        location_mode=LocationMode.CUSTOMER_ADDRESS,
        duration_minutes=90,
        online_bookable=False,
        default_priority=Priority.HIGH,
        urgent_target_hours=24,
    )
    staffing(joint, "Food hygiene", "Health and safety")

    licensing = create(
        "Licensing consultation",
        "Consultation",
        description="Advice on applying for or changing a licence, with a licensing officer.",
        location_mode=LocationMode.OFFICE,
        office_address="Council Offices",
        duration_minutes=45,
        online_bookable=True,
        allocation_strategy=AllocationStrategy.ROUND_ROBIN,
        documents_to_bring="Photo ID\nProof of address",
    )
    staffing(licensing, "Licensing")
    ResourceRequirement.objects.create(
        tenant=tenant, appointment_type=licensing, kind=ResourceKind.ROOM, count=1
    )

    create(
        "Premises licence drop-in",
        "Public service",
        description="A group session on premises licences: come along and ask questions.",
        location_mode=LocationMode.OFFICE,
        office_address="Council Offices",
        duration_minutes=30,
        capacity=6,
        online_bookable=True,
    )
    create(
        "Phone advice call",
        "Consultation",
        description="A call back from an officer with advice.",
        location_mode=LocationMode.PHONE,
        duration_minutes=20,
        granularity_minutes=20,
        online_bookable=True,
    )
    return food
