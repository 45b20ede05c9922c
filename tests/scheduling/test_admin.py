"""The tenant admin for scheduling and bookings: own rows only, friendly errors, read-only bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django_scopes import scope, scopes_disabled
from psycopg.types.range import Range

from accounts.models import Role, Tenant
from bookings.models import Booking, BookingAssignment, BookingEvent, BookingStatus
from scheduling.models import (
    Absence,
    AllocationStrategy,
    AppointmentType,
    ExternalBusy,
    LocationMode,
    Priority,
    QuestionKind,
    ResourceKind,
    ServiceBlock,
    ServiceBlockAppointmentType,
    ServiceBlockOfficer,
    WorkingInterval,
    WorkingPattern,
)
from tests.factories import OfficerFactory, SkillFactory
from tests.scheduling.factories import (
    AppointmentTypeFactory,
    CategoryFactory,
    ResourceFactory,
    ServiceBlockFactory,
    WorkingPatternFactory,
)


@pytest.fixture
def admin_client(tenant: Tenant, client_for, member_of) -> Client:
    return client_for(tenant, member_of(tenant, Role.ADMINISTRATOR))


def management(prefix: str, total: int = 0, initial: int = 0) -> dict[str, str]:
    return {f"{prefix}-TOTAL_FORMS": str(total), f"{prefix}-INITIAL_FORMS": str(initial)}


def appointment_type_post(category: int, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Gas safety check",
        "slug": "gas-safety-check",
        "category": category,
        "description": "",
        "is_active": "on",
        "duration_minutes": 45,
        "buffer_before_minutes": 10,
        "buffer_after_minutes": 10,
        "granularity_minutes": 15,
        "min_notice_minutes": 1440,
        "horizon_days": 60,
        "cancellation_cutoff_hours": 24,
        "location_mode": LocationMode.CUSTOMER_ADDRESS,
        "office_address": "",
        "online_bookable": "on",
        "capacity": 1,
        "default_priority": Priority.NORMAL,
        "urgent_target_hours": 48,
        "documents_to_bring": "",
        "allocation_strategy": AllocationStrategy.LEAST_LOADED,
        "named_officer": "",
        **management("staffing"),
        **management("resource_needs"),
        **management("questions"),
    }
    data.update(overrides)
    return data


def form_errors(response) -> dict[str, list[str]]:
    return response.context["adminform"].form.errors


def pattern_post(officer: int | str = "", resource: int | str = "", **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "officer": officer,
        "resource": resource,
        "valid_from": "2026-01-01",
        "valid_until": "",
        **management("intervals"),
    }
    data.update(overrides)
    return data


def intervals(*rows: tuple[int, str, str]) -> dict[str, object]:
    data: dict[str, object] = management("intervals", total=len(rows))
    for index, (weekday, start, end) in enumerate(rows):
        data |= {f"intervals-{index}-weekday": weekday, f"intervals-{index}-start": start}
        data |= {f"intervals-{index}-end": end}
    return data


# --- appointment types ---------------------------------------------------------------------------------


def test_administrator_adds_an_appointment_type_with_its_needs_and_questions(tenant, admin_client) -> None:
    category = CategoryFactory(tenant=tenant, name="Inspection")
    skill = SkillFactory(tenant=tenant, name="Gas safety")
    data = appointment_type_post(
        category.pk,
        **management("staffing", total=1),
        **{"staffing-0-count": 2, "staffing-0-skill": skill.pk},
        **management("resource_needs", total=1),
        **{"resource_needs-0-count": 1, "resource_needs-0-kind": ResourceKind.VEHICLE},
        **management("questions", total=1),
        **{
            "questions-0-position": 1,
            "questions-0-label": "Which appliances?",
            "questions-0-help_text": "",
            "questions-0-kind": QuestionKind.CHOICE,
            "questions-0-choices": "Boiler\nCooker",
            "questions-0-required": "on",
        },
    )

    response = admin_client.post("/admin/scheduling/appointmenttype/add/", data)

    assert response.status_code == 302, form_errors(response)
    with scope(tenant=tenant):
        kind = AppointmentType.objects.get(slug="gas-safety-check")
        staffing = kind.staffing.get()
        resource_need = kind.resource_needs.get()
        question = kind.questions.get()
    assert kind.tenant == tenant and kind.category == category
    assert (staffing.count, staffing.skill, staffing.tenant) == (2, skill, tenant)
    assert (resource_need.kind, resource_need.tenant) == (ResourceKind.VEHICLE, tenant)
    assert question.choice_list() == ["Boiler", "Cooker"] and question.tenant == tenant


def test_administrator_sees_only_their_own_appointment_types(tenant, other_tenant, admin_client) -> None:
    AppointmentTypeFactory(tenant=tenant, name="Food hygiene inspection")
    theirs = AppointmentTypeFactory(tenant=other_tenant, name="Secret southern visit")

    page = admin_client.get("/admin/scheduling/appointmenttype/").content.decode()

    assert "Food hygiene inspection" in page
    assert "Secret southern visit" not in page
    assert admin_client.get(f"/admin/scheduling/appointmenttype/{theirs.pk}/change/").status_code == 302


def test_another_tenants_category_skill_and_officer_cannot_be_chosen(
    tenant, other_tenant, admin_client
) -> None:
    their_category = CategoryFactory(tenant=other_tenant)
    their_skill = SkillFactory(tenant=other_tenant)
    their_officer = OfficerFactory(tenant=other_tenant)
    data = appointment_type_post(
        their_category.pk,
        allocation_strategy=AllocationStrategy.NAMED_OFFICER,
        named_officer=their_officer.pk,
        **management("staffing", total=1),
        **{"staffing-0-count": 1, "staffing-0-skill": their_skill.pk},
    )

    response = admin_client.post("/admin/scheduling/appointmenttype/add/", data)

    assert response.status_code == 200
    errors = form_errors(response)
    assert "Select a valid choice" in str(errors["category"])
    assert "Select a valid choice" in str(errors["named_officer"])
    staffing_formset = response.context["inline_admin_formsets"][0].formset
    assert "Select a valid choice" in str(staffing_formset.errors[0]["skill"])
    with scopes_disabled():
        assert not AppointmentType.objects.filter(slug="gas-safety-check").exists()


def test_the_form_offers_only_the_tenants_own_choices(tenant, other_tenant, admin_client) -> None:
    CategoryFactory(tenant=tenant, name="Our category")
    CategoryFactory(tenant=other_tenant, name="Their category")
    SkillFactory(tenant=other_tenant, name="Their skill")

    page = admin_client.get("/admin/scheduling/appointmenttype/add/").content.decode()

    assert "Our category" in page
    assert "Their category" not in page and "Their skill" not in page


# --- working patterns ----------------------------------------------------------------------------------


def test_overlapping_intervals_on_one_day_are_refused_with_the_times(tenant, admin_client) -> None:
    officer = OfficerFactory(tenant=tenant)
    data = pattern_post(officer.pk) | intervals(
        (0, "09:00", "12:00"), (0, "11:00", "13:00"), (1, "09:00", "17:00")
    )

    response = admin_client.post("/admin/scheduling/workingpattern/add/", data)

    assert response.status_code == 200
    assert "The times on Monday overlap: 09:00–12:00 and 11:00–13:00." in response.content.decode()
    with scope(tenant=tenant):
        assert not WorkingPattern.objects.exists()
        assert not WorkingInterval.objects.exists()


def test_intervals_that_touch_are_fine_and_intervals_must_end_after_they_start(tenant, admin_client) -> None:
    officer = OfficerFactory(tenant=tenant)
    backwards = pattern_post(officer.pk) | intervals((2, "13:00", "12:00"))
    response = admin_client.post("/admin/scheduling/workingpattern/add/", backwards)
    assert response.status_code == 200
    assert "The end time must be after the start time." in response.content.decode()

    touching = pattern_post(officer.pk) | intervals((0, "09:00", "12:30"), (0, "12:30", "17:00"))
    assert admin_client.post("/admin/scheduling/workingpattern/add/", touching).status_code == 302
    with scope(tenant=tenant):
        pattern = WorkingPattern.objects.get()
        assert [str(i) for i in pattern.intervals.all()] == ["Monday 09:00–12:30", "Monday 12:30–17:00"]
    assert pattern.tenant == tenant


def test_a_pattern_overlapping_the_officers_other_pattern_is_a_form_error(tenant, admin_client) -> None:
    officer = OfficerFactory(tenant=tenant)
    WorkingPatternFactory(tenant=tenant, officer=officer, valid_from=date(2026, 1, 1), valid_until=None)

    response = admin_client.post(
        "/admin/scheduling/workingpattern/add/", pattern_post(officer.pk, valid_from="2026-06-01")
    )

    assert response.status_code == 200
    assert "already has a working pattern from" in str(form_errors(response)["valid_from"])
    assert "is violated" not in response.content.decode()  # the friendly message replaces the generic one
    with scope(tenant=tenant):
        assert WorkingPattern.objects.count() == 1

    another_officer = OfficerFactory(tenant=tenant)
    response = admin_client.post(
        "/admin/scheduling/workingpattern/add/", pattern_post(another_officer.pk, valid_from="2026-06-01")
    )
    assert response.status_code == 302


def test_a_pattern_can_follow_an_ended_one_and_be_edited_in_place(tenant, admin_client) -> None:
    room = ResourceFactory(tenant=tenant)
    old = WorkingPatternFactory(tenant=tenant, officer=None, resource=room, valid_until=date(2026, 5, 31))
    new = pattern_post(resource=room.pk, valid_from="2026-06-01")
    assert admin_client.post("/admin/scheduling/workingpattern/add/", new).status_code == 302

    edit = pattern_post(resource=room.pk, valid_from="2026-01-01", valid_until="2026-05-30")
    assert admin_client.post(f"/admin/scheduling/workingpattern/{old.pk}/change/", edit).status_code == 302


def test_a_pattern_names_exactly_one_officer_or_resource(tenant, admin_client) -> None:
    officer = OfficerFactory(tenant=tenant)
    room = ResourceFactory(tenant=tenant)

    neither = admin_client.post("/admin/scheduling/workingpattern/add/", pattern_post())
    both = admin_client.post("/admin/scheduling/workingpattern/add/", pattern_post(officer.pk, room.pk))

    assert "Choose the officer or the resource" in str(form_errors(neither)["officer"])
    assert "not both" in str(form_errors(both)["resource"])
    assert "is violated" not in neither.content.decode() + both.content.decode()
    backwards = admin_client.post(
        "/admin/scheduling/workingpattern/add/",
        pattern_post(officer.pk, valid_from="2026-06-01", valid_until="2026-05-31"),
    )
    assert "must end on or after the day it starts" in str(form_errors(backwards)["valid_until"])
    assert "is violated" not in backwards.content.decode()
    with scope(tenant=tenant):
        assert not WorkingPattern.objects.exists()


# --- absences, service blocks, external busy time ------------------------------------------------------


def test_absence_times_are_shown_and_read_in_the_tenants_zone(tenant, admin_client) -> None:
    officer = OfficerFactory(tenant=tenant)
    with scope(tenant=tenant):
        absence = Absence.objects.create(
            tenant=tenant,
            officer=officer,
            starts_at=datetime(2026, 7, 1, 8, 0, tzinfo=UTC),
            ends_at=datetime(2026, 7, 1, 12, 0, tzinfo=UTC),
        )
    page = admin_client.get(f"/admin/scheduling/absence/{absence.pk}/change/").content.decode()
    assert 'value="09:00:00"' in page  # 08:00 UTC is 09:00 British Summer Time

    data = {
        "officer": officer.pk,
        "resource": "",
        "kind": "training",
        "starts_at_0": "2026-07-02",
        "starts_at_1": "09:00",
        "ends_at_0": "2026-07-02",
        "ends_at_1": "08:00",
        "note": "",
    }
    response = admin_client.post("/admin/scheduling/absence/add/", data)
    assert "The absence must end after it starts." in str(form_errors(response)["ends_at"])

    data["ends_at_1"] = "17:00"
    assert admin_client.post("/admin/scheduling/absence/add/", data).status_code == 302
    with scope(tenant=tenant):
        added = Absence.objects.get(kind="training")
    assert added.starts_at == datetime(2026, 7, 2, 8, 0, tzinfo=UTC)


def test_the_service_block_add_page_has_a_working_recurrence_widget(tenant, admin_client) -> None:
    response = admin_client.get("/admin/scheduling/serviceblock/add/")

    assert response.status_code == 200
    page = response.content.decode()
    assert 'class="recurrence-widget' in page
    # The widget needs admin jQuery, its own scripts, and gettext/pgettext from the JavaScript catalog,
    # which the change form loads from admin/jsi18n/ before the media.
    for script in [
        "admin/js/jquery.init.js",
        "recurrence/js/recurrence.js",
        "recurrence/js/recurrence-widget.js",
        "recurrence/js/recurrence-widget.init.js",
    ]:
        assert script in page
    assert page.index('src="/admin/jsi18n/"') < page.index("recurrence/js/recurrence.js")
    catalog = admin_client.get("/admin/jsi18n/")
    assert catalog.status_code == 200 and b"django.pgettext" in catalog.content


TYPES, OFFICERS = "serviceblockappointmenttype_set", "serviceblockofficer_set"
SERVICE_BLOCK_LINKS = {ServiceBlockAppointmentType, ServiceBlockOfficer}


def service_block_post(types: list[int], officers: list[int] = (), **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Tuesday mornings",
        "start": "09:00",
        "end": "12:30",
        "recurrence": "RRULE:FREQ=WEEKLY;BYDAY=TU",
        "is_active": "on",
        **management(TYPES, len(types)),
        **{f"{TYPES}-{n}-appointment_type": pk for n, pk in enumerate(types)},
        **management(OFFICERS, len(officers)),
        **{f"{OFFICERS}-{n}-officer": pk for n, pk in enumerate(officers)},
    }
    data.update(overrides)
    return data


def inline_errors(response) -> list:
    return [
        error
        for formset in response.context["inline_admin_formsets"]
        for error in [*formset.formset.non_form_errors(), *formset.formset.errors]
        if error
    ]


def test_administrator_adds_a_recurring_service_block(tenant, other_tenant, admin_client) -> None:
    kind = AppointmentTypeFactory(tenant=tenant)
    their_kind = AppointmentTypeFactory(tenant=other_tenant)
    officer, their_officer = OfficerFactory(tenant=tenant), OfficerFactory(tenant=other_tenant)
    page = admin_client.get("/admin/scheduling/serviceblock/add/").content.decode()
    assert kind.name in page and their_kind.name not in page

    refused = admin_client.post(
        "/admin/scheduling/serviceblock/add/", service_block_post([their_kind.pk], [their_officer.pk])
    )
    assert refused.status_code == 200
    assert "Select a valid choice" in str(inline_errors(refused))
    none = admin_client.post("/admin/scheduling/serviceblock/add/", service_block_post([]))
    assert none.status_code == 200 and "Please submit at least 1 form" in str(inline_errors(none))
    with scope(tenant=tenant):
        assert not ServiceBlock.objects.exists()

    added = admin_client.post(
        "/admin/scheduling/serviceblock/add/", service_block_post([kind.pk], [officer.pk])
    )
    assert added.status_code == 302, inline_errors(added)
    with scope(tenant=tenant):
        block = ServiceBlock.objects.get()
        assert list(block.appointment_types.all()) == [kind]
        assert list(block.officers.all()) == [officer]
        links = list(ServiceBlockAppointmentType.objects.all()) + list(ServiceBlockOfficer.objects.all())
    assert block.tenant == tenant and {link.tenant for link in links} == {tenant}
    march = datetime(2026, 3, 1), datetime(2026, 3, 14)
    occurrences = block.recurrence.between(*march, dtstart=march[0], inc=True)
    assert [d.date() for d in occurrences] == [date(2026, 3, 3), date(2026, 3, 10)]


def test_service_blocks_filter_by_appointment_type(tenant, other_tenant, admin_client) -> None:
    kind, other_kind = AppointmentTypeFactory(tenant=tenant), AppointmentTypeFactory(tenant=tenant)
    ServiceBlockFactory(tenant=tenant, name="Food mornings", appointment_types=[kind])
    ServiceBlockFactory(tenant=tenant, name="Licensing afternoons", appointment_types=[other_kind])
    their_kind = AppointmentTypeFactory(tenant=other_tenant, name="Their secret type")
    response = admin_client.get(f"/admin/scheduling/serviceblock/?appointment_types__id__exact={kind.pk}")
    page = response.content.decode()
    assert response.status_code == 200
    assert "Food mornings" in page and "Licensing afternoons" not in page
    assert their_kind.name not in page


def test_service_block_change_page_shows_and_changes_its_links(tenant, admin_client) -> None:
    kind, other_kind = AppointmentTypeFactory(tenant=tenant), AppointmentTypeFactory(tenant=tenant)
    officer = OfficerFactory(tenant=tenant)
    block = ServiceBlockFactory(tenant=tenant, appointment_types=[kind], officers=[officer])
    url = f"/admin/scheduling/serviceblock/{block.pk}/change/"
    assert admin_client.get(url).status_code == 200
    with scope(tenant=tenant):
        type_link = ServiceBlockAppointmentType.objects.get()
        officer_link = ServiceBlockOfficer.objects.get()
    data = service_block_post([], name=block.name)
    data.update(
        {
            **management(TYPES, 2, 1),
            f"{TYPES}-0-id": type_link.pk,
            f"{TYPES}-0-service_block": block.pk,
            f"{TYPES}-0-appointment_type": kind.pk,
            f"{TYPES}-1-appointment_type": other_kind.pk,
            **management(OFFICERS, 1, 1),
            f"{OFFICERS}-0-id": officer_link.pk,
            f"{OFFICERS}-0-service_block": block.pk,
            f"{OFFICERS}-0-officer": officer.pk,
            f"{OFFICERS}-0-DELETE": "on",
        }
    )
    response = admin_client.post(url, data)
    assert response.status_code == 302, inline_errors(response)
    with scope(tenant=tenant):
        assert set(block.appointment_types.all()) == {kind, other_kind}
        assert not block.officers.exists()


def test_external_busy_time_is_read_only(tenant, admin_client) -> None:
    assert admin_client.get("/admin/scheduling/externalbusy/").status_code == 200
    assert admin_client.get("/admin/scheduling/externalbusy/add/").status_code == 403


# --- bookings ------------------------------------------------------------------------------------------


@pytest.fixture
def booking(tenant: Tenant) -> Booking:
    officer = OfficerFactory(tenant=tenant)
    kind = AppointmentTypeFactory(tenant=tenant, name="Food hygiene inspection")
    starts_at = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
    with scope(tenant=tenant):
        booking = Booking.objects.create(
            tenant=tenant,
            reference="NS-ABC123",
            appointment_type=kind,
            status=BookingStatus.CONFIRMED,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            session_key="NS-ABC123",
        )
        BookingAssignment.objects.create(
            tenant=tenant,
            booking=booking,
            officer=officer,
            occupied=Range(starts_at, starts_at + timedelta(minutes=30)),
            session_key="NS-ABC123",
        )
        BookingEvent.objects.create(
            tenant=tenant, booking=booking, action="confirmed", reason="Booked by phone"
        )
    return booking


def test_bookings_can_be_looked_at_but_not_added_changed_or_deleted(tenant, admin_client, booking) -> None:
    assert "NS-ABC123" in admin_client.get("/admin/bookings/booking/").content.decode()
    page = admin_client.get(f"/admin/bookings/booking/{booking.pk}/change/").content.decode()
    assert "Booked by phone" in page and 'name="_save"' not in page

    assert admin_client.get("/admin/bookings/booking/add/").status_code == 403
    change = admin_client.post(
        f"/admin/bookings/booking/{booking.pk}/change/", {"status": BookingStatus.CANCELLED, "notes": "x"}
    )
    assert change.status_code == 403
    assert (
        admin_client.post(f"/admin/bookings/booking/{booking.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    with scope(tenant=tenant):
        booking.refresh_from_db()
        assert booking.status == BookingStatus.CONFIRMED
        assert booking.events.count() == 1


def test_customer_admin_finds_customers_and_explains_duplicates(tenant, admin_client) -> None:
    data = {"full_name": "Ada Lovelace", "email": "ada@example.org", "phone": "", "postcode": "NS1 2AB"}
    data |= {"preferred_language": "en-gb", "contact_by_email": "on"}
    assert admin_client.post("/admin/bookings/customer/add/", data).status_code == 302

    again = admin_client.post("/admin/bookings/customer/add/", data | {"email": "ADA@example.org"})
    assert "Another customer already has this email address." in str(form_errors(again)["email"])
    nothing = admin_client.post("/admin/bookings/customer/add/", data | {"email": ""})
    assert "Give an email address or a mobile number" in str(form_errors(nothing)["email"])

    found = admin_client.get("/admin/bookings/customer/", {"q": "NS1 2AB"}).content.decode()
    assert "Ada Lovelace" in found


# --- who may use these pages ---------------------------------------------------------------------------

PAGES = [
    "/admin/scheduling/category/",
    "/admin/scheduling/appointmenttype/",
    "/admin/scheduling/appointmenttype/add/",
    "/admin/scheduling/workingpattern/add/",
    "/admin/scheduling/absence/",
    "/admin/scheduling/holiday/",
    "/admin/scheduling/resource/",
    "/admin/scheduling/serviceblock/add/",
    "/admin/scheduling/externalbusy/",
    "/admin/bookings/customer/",
    "/admin/bookings/booking/",
]


def test_administrators_reach_every_page(admin_client) -> None:
    for url in PAGES:
        assert admin_client.get(url).status_code == 200, url


@pytest.mark.parametrize("role", [Role.OFFICER, Role.CUSTOMER_SERVICE, Role.MANAGER])
def test_other_roles_reach_none_of_them(tenant, client_for, member_of, role: Role) -> None:
    client = client_for(tenant, member_of(tenant, role))
    for url in PAGES:
        response = client.get(url)
        assert response.status_code == 302 and "/admin/login/" in response.url, url


def test_every_scheduling_and_booking_model_is_in_the_tenant_admin() -> None:
    from django.apps import apps

    from accounts.admin import tenant_admin_site

    expected = {
        m
        for app in ["scheduling", "bookings"]
        for m in apps.get_app_config(app).get_models()
        if m not in {WorkingInterval, BookingAssignment, BookingEvent, *SERVICE_BLOCK_LINKS}  # edited inline
        and m._meta.model_name not in {"staffingrequirement", "resourcerequirement", "question"}
        and not m._meta.auto_created
    }
    missing = {m._meta.label for m in expected if not tenant_admin_site.is_registered(m)}
    assert not missing, f"not in the tenant admin: {missing}"


def test_working_hours_column_adds_up_the_week(tenant, admin_client) -> None:
    pattern = WorkingPatternFactory(tenant=tenant)
    with scope(tenant=tenant):
        for day in range(5):
            WorkingInterval.objects.create(
                tenant=tenant, pattern=pattern, weekday=day, start=time(9), end=time(12, 30)
            )
            WorkingInterval.objects.create(
                tenant=tenant, pattern=pattern, weekday=day, start=time(13, 30), end=time(17)
            )
    page = admin_client.get("/admin/scheduling/workingpattern/").content.decode()
    assert '<td class="field-hours_a_week">35</td>' in page


def test_moving_the_lunch_break_in_an_existing_pattern_saves(tenant, admin_client) -> None:
    # Saved row by row, the new morning (09:00–14:00) would overlap the old afternoon (13:30–17:00).
    pattern = WorkingPatternFactory(tenant=tenant)
    with scope(tenant=tenant):
        morning = WorkingInterval.objects.create(
            tenant=tenant, pattern=pattern, weekday=0, start=time(9), end=time(12, 30)
        )
        afternoon = WorkingInterval.objects.create(
            tenant=tenant, pattern=pattern, weekday=0, start=time(13, 30), end=time(17)
        )
    data = pattern_post(pattern.officer.pk) | intervals((0, "09:00", "14:00"), (0, "14:00", "17:00"))
    data |= management("intervals", total=2, initial=2)
    data |= {"intervals-0-id": morning.pk, "intervals-0-pattern": pattern.pk}
    data |= {"intervals-1-id": afternoon.pk, "intervals-1-pattern": pattern.pk}

    response = admin_client.post(f"/admin/scheduling/workingpattern/{pattern.pk}/change/", data)

    assert response.status_code == 302
    with scope(tenant=tenant):
        assert [str(i) for i in pattern.intervals.all()] == ["Monday 09:00–14:00", "Monday 14:00–17:00"]


# --- query budgets -------------------------------------------------------------------------------------


def add_one_of_everything(tenant: Tenant, n: int) -> None:
    officer = OfficerFactory(tenant=tenant)
    pattern = WorkingPatternFactory(tenant=tenant, officer=officer)
    kind = AppointmentTypeFactory(tenant=tenant, named_officer=officer)
    starts_at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(days=n)
    with scope(tenant=tenant):
        WorkingInterval.objects.create(tenant=tenant, pattern=pattern, weekday=0, start=time(9), end=time(17))
        Absence.objects.create(
            tenant=tenant, officer=officer, starts_at=starts_at, ends_at=starts_at + timedelta(hours=2)
        )
        ExternalBusy.objects.create(
            tenant=tenant, officer=officer, starts_at=starts_at, ends_at=starts_at + timedelta(hours=1)
        )
        Booking.objects.create(
            tenant=tenant,
            reference=f"NS-{n:06d}",
            appointment_type=kind,
            status=BookingStatus.CONFIRMED,
            starts_at=starts_at,
            ends_at=starts_at + timedelta(minutes=30),
            session_key=f"NS-{n:06d}",
        )


def queries_for(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200, url
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/scheduling/workingpattern/",
        "/admin/scheduling/absence/",
        "/admin/scheduling/externalbusy/",
        "/admin/scheduling/appointmenttype/",
        "/admin/scheduling/appointmenttype/add/",
        "/admin/scheduling/serviceblock/add/",
        "/admin/scheduling/workingpattern/add/",
        "/admin/bookings/booking/",
    ],
)
def test_admin_pages_do_not_query_once_per_row(tenant, admin_client, url: str) -> None:
    add_one_of_everything(tenant, 0)
    queries_for(admin_client, url)  # warms per-process caches (content types, permissions)
    few = queries_for(admin_client, url)
    for n in range(1, 6):
        add_one_of_everything(tenant, n)
    assert queries_for(admin_client, url) == few


def test_the_booking_page_does_not_query_once_per_event_or_assignment(tenant, admin_client, booking) -> None:
    url = f"/admin/bookings/booking/{booking.pk}/change/"
    queries_for(admin_client, url)
    few = queries_for(admin_client, url)
    with scope(tenant=tenant):
        for n in range(4):
            BookingAssignment.objects.create(
                tenant=tenant,
                booking=booking,
                officer=OfficerFactory(tenant=tenant),
                occupied=Range(booking.starts_at, booking.ends_at),
                session_key=booking.session_key,
            )
            actor = OfficerFactory(tenant=tenant).user
            BookingEvent.objects.create(tenant=tenant, booking=booking, actor=actor, action=f"note {n}")
    assert queries_for(admin_client, url) == few
