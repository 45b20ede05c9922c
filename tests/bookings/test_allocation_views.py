"""Staff pages of the inspection programme and allocation: who may use them, adding a visit (its address
looked up), proposing a plan, previewing it per officer and day, adjusting it, accepting it once; bad input,
another tenant's ids and too many plans answered cleanly."""

from __future__ import annotations

from datetime import time, timedelta
from unittest import mock

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_scopes import scope

from accounts.models import Role
from bookings import tasks
from bookings.models import (
    AllocationEvent,
    AllocationPlan,
    Booking,
    InspectionVisit,
    PlannedVisit,
    PlanStatus,
    VisitStatus,
)
from integrations.geocoding import normalise_key
from integrations.models import GazetteerEntry
from scheduling.models import WorkingPattern
from tests import builders as b
from tests.builders import MONDAY, NOW

from .test_allocation import BASE, FRIDAY, MilliDegreeMatrix, visit

pytestmark = pytest.mark.usefixtures("quick")


@pytest.fixture
def quick(settings):
    settings.TRAVEL_MATRIX = f"{MilliDegreeMatrix.__module__}.MilliDegreeMatrix"
    settings.TRAVEL_MATRIX_OPTIONS = {}
    settings.ALLOCATION_SOLVER_SECONDS = 0.2
    settings.ALLOCATION_PLAN_STALE_MINUTES = 24 * 60 * 30


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def world(tenant, frozen):
    first = b.officer(tenant, spans=[(time(9), time(12, 30)), (time(13, 30), time(17))])
    second = b.officer(tenant, spans=[(time(9), time(12, 30)), (time(13, 30), time(17))])
    with scope(tenant=tenant):
        WorkingPattern.objects.update(
            start_label="Depot", start_latitude=BASE.latitude, start_longitude=BASE.longitude
        )
        GazetteerEntry.objects.create(
            tenant=tenant,
            key=normalise_key("1 Market Place"),
            label="1 Market Place",
            latitude=54.34,
            longitude=-1.43,
        )
    kind = b.appointment_type(tenant, slug="inspection", granularity_minutes=15)
    return {"tenant": tenant, "first": first, "second": second, "kind": kind}


@pytest.fixture
def manager(world, member_of, client_for):
    return client_for(world["tenant"], member_of(world["tenant"], Role.MANAGER))


@pytest.fixture
def propose(manager, django_capture_on_commit_callbacks):
    """Asks for a plan as a scheduler does, and lets the worker compute it once the request has committed
    (the task runs in this process, as a worker would run it next)."""

    def run_here(*, kwargs: dict, **options: object) -> object:
        return tasks.allocation_plan_compute.apply(kwargs=kwargs)

    def post(form: dict):
        with (
            mock.patch.object(tasks.allocation_plan_compute, "apply_async", side_effect=run_here),
            django_capture_on_commit_callbacks(execute=True),
        ):
            return manager.post("/staff/allocation/new/", form)

    return post


PAGES = ["/staff/visits/", "/staff/visits/new/", "/staff/allocation/"]


@pytest.mark.parametrize("role", [Role.OFFICER, Role.CUSTOMER_SERVICE])
def test_officers_and_customer_service_may_not_allocate(world, member_of, client_for, role) -> None:
    client = client_for(world["tenant"], member_of(world["tenant"], role))
    for url in PAGES:
        assert client.get(url).status_code == 403, url
    assert client.post("/staff/allocation/new/", {"first_day": MONDAY, "last_day": FRIDAY}).status_code == 403
    with scope(tenant=world["tenant"]):
        assert not AllocationPlan.objects.exists()


def test_managers_and_administrators_see_the_pages(world, member_of, client_for) -> None:
    for role in (Role.MANAGER, Role.ADMINISTRATOR):
        client = client_for(world["tenant"], member_of(world["tenant"], role))
        for url in PAGES:
            response = client.get(url)
            assert response.status_code == 200, url
            assert b"Inspection programme" in response.content  # the navigation link


def visit_form(world, **changes):
    return {
        "action": "save",
        "premises": "The Old Bakery",
        "address": "1 Market Place",
        "appointment_type": world["kind"].pk,
        "duration_minutes": "60",
        "due_by": FRIDAY.isoformat(),
        "priority": "20",
        "contact_email": "bakery@example.org",
        **changes,
    }


def test_a_visit_is_added_where_its_address_is_and_an_unknown_address_is_a_form_error(world, manager) -> None:
    response = manager.post("/staff/visits/new/", visit_form(world, address="Nowhere Lane"))
    assert response.status_code == 422
    assert b"was not found in the area" in response.content
    response = manager.post("/staff/visits/new/", visit_form(world, contact_email=""))
    assert response.status_code == 422 and b"Give an email address or a mobile number" in response.content
    response = manager.post("/staff/visits/new/", visit_form(world))
    assert response.status_code == 302
    with scope(tenant=world["tenant"]):
        added = InspectionVisit.objects.get()
    assert (added.premises, added.latitude, added.longitude) == ("The Old Bakery", 54.34, -1.43)
    response = manager.post(f"/staff/visits/{added.pk}/", visit_form(world, premises="The New Bakery"))
    assert response.status_code == 302
    with scope(tenant=world["tenant"]):
        assert InspectionVisit.objects.get().premises == "The New Bakery"
    assert b"The New Bakery" in manager.get("/staff/visits/?status=open").content
    assert manager.post(f"/staff/visits/{added.pk}/", {"action": "withdraw"}).status_code == 302
    refused = manager.post(f"/staff/visits/{added.pk}/", {"action": "withdraw"})
    assert refused.status_code == 409 and b"Only an open visit" in refused.content
    with scope(tenant=world["tenant"]):
        assert InspectionVisit.objects.get().status == VisitStatus.WITHDRAWN


def test_the_visit_list_filters_by_status_and_due_date(world, manager) -> None:
    visit(world, 1, due_by=NOW.date() + timedelta(days=30))
    visit(world, 2, due_by=NOW.date() + timedelta(days=3))
    soon = manager.get("/staff/visits/?due=14").content
    assert b"Premises 2" in soon and b"Premises 1" not in soon
    assert b"Premises 1" not in manager.get("/staff/visits/?status=booked").content
    assert manager.get("/staff/visits/?status=nonsense&due=xyz&page=x").status_code == 200


def test_a_plan_is_proposed_previewed_adjusted_and_accepted_once(world, manager, propose) -> None:
    visits = [visit(world, n) for n in range(1, 5)]
    response = propose({"first_day": MONDAY, "last_day": FRIDAY})
    assert response.status_code == 303
    with scope(tenant=world["tenant"]):
        plan = AllocationPlan.objects.get()
    page = manager.get(response.url)
    assert page.status_code == 200
    for v in visits:
        assert v.premises.encode() in page.content
    assert b"km" in page.content and b"hours out" in page.content

    # Leave one out, then place it back by hand; a time taken by another visit, or over lunch, is refused.
    moved = visits[0]
    with scope(tenant=world["tenant"]):
        was = PlannedVisit.objects.get(plan=plan, visit=moved)
        other = PlannedVisit.objects.exclude(visit=moved).filter(plan=plan).first()
    assert manager.post(response.url, {"action": "remove", "visit": moved.pk}).status_code == 302
    with scope(tenant=world["tenant"]):
        assert not PlannedVisit.objects.filter(plan=plan, visit=moved).exists()
    local = was.starts_at.astimezone(world["tenant"].zone)
    form = {"action": "adjust", "visit": moved.pk, "officer": was.officer_id, "day": local.date()}
    taken = other.starts_at.astimezone(world["tenant"].zone)
    clash = {**form, "officer": other.officer_id, "day": taken.date(), "time": f"{taken:%H:%M}"}
    refused = manager.post(response.url, clash)
    assert refused.status_code == 409 and b"no time for" in refused.content
    lunch = manager.post(response.url, {**form, "time": "12:15"})
    assert lunch.status_code == 409 and b"no time for" in lunch.content
    assert manager.post(response.url, {**form, "time": f"{local:%H:%M}"}).status_code == 302

    accepted = manager.post(response.url, {"action": "accept"})
    assert accepted.status_code == 200 and b"The plan is accepted" in accepted.content
    again = manager.post(response.url, {"action": "accept"})
    assert b"accepted already" in again.content
    with scope(tenant=world["tenant"]):
        assert Booking.objects.count() == 4
        assert set(InspectionVisit.objects.values_list("status", flat=True)) == {VisitStatus.BOOKED}
        booking = InspectionVisit.objects.get(pk=moved.pk).booking
        assert list(booking.assignments.values_list("officer_id", flat=True)) == [was.officer_id]
        assert booking.starts_at == was.starts_at
    assert manager.post(response.url, {"action": "discard"}).status_code == 409


@pytest.mark.parametrize(
    "form",
    [
        {"first_day": (NOW - timedelta(days=1)).date(), "last_day": MONDAY},  # the past
        {"first_day": MONDAY, "last_day": MONDAY + timedelta(days=60)},  # too long
        {"first_day": FRIDAY, "last_day": MONDAY},  # backwards
        {"first_day": "2027-02-31", "last_day": "garbage"},
        {},
    ],
)
def test_bad_days_are_form_errors(world, manager, form) -> None:
    response = manager.post("/staff/allocation/new/", form)
    assert response.status_code == 422
    assert b"There is a problem" in response.content
    with scope(tenant=world["tenant"]):
        assert not AllocationPlan.objects.exists()


def test_bad_actions_and_another_tenants_ids(world, manager, other_tenant) -> None:
    own = visit(world, 1)
    manager.post("/staff/allocation/new/", {"first_day": MONDAY, "last_day": FRIDAY})
    with scope(tenant=world["tenant"]):
        plan = AllocationPlan.objects.get()
    url = f"/staff/allocation/{plan.pk}/"
    assert manager.post(url, {"action": "explode"}).status_code == 400
    assert manager.post(url, {"action": "adjust", "visit": "x"}).status_code == 422
    assert manager.post(url, {"action": "adjust", "visit": own.pk, "officer": "999999"}).status_code == 422
    foreign_kind = b.appointment_type(other_tenant, slug="foreign")
    with scope(tenant=other_tenant):
        foreign = InspectionVisit.objects.create(
            tenant=other_tenant,
            premises="Elsewhere",
            address="Far away",
            latitude=50.0,
            longitude=0.0,
            appointment_type=foreign_kind,
            duration_minutes=60,
            due_by=FRIDAY,
            contact_email="far@example.org",
        )
        foreign_plan = AllocationPlan.objects.create(tenant=other_tenant, first_day=MONDAY, last_day=FRIDAY)
    assert manager.post(url, {"action": "remove", "visit": foreign.pk}).status_code == 404
    assert manager.get(f"/staff/allocation/{foreign_plan.pk}/").status_code == 404
    assert manager.post(f"/staff/allocation/{foreign_plan.pk}/", {"action": "accept"}).status_code == 404
    assert manager.get(f"/staff/visits/{foreign.pk}/").status_code == 404
    with scope(tenant=other_tenant):
        assert AllocationPlan.objects.get(pk=foreign_plan.pk).status == PlanStatus.DRAFT


def test_proposing_plans_is_rate_limited(world, manager, settings) -> None:
    settings.ALLOCATION_PLAN_RATE = "1/h"
    assert (
        manager.post("/staff/allocation/new/", {"first_day": MONDAY, "last_day": FRIDAY}).status_code == 303
    )
    response = manager.post("/staff/allocation/new/", {"first_day": MONDAY, "last_day": FRIDAY})
    assert response.status_code == 429 and "Retry-After" in response
    with scope(tenant=world["tenant"]):
        assert AllocationPlan.objects.count() == 1


def test_a_programme_is_imported_from_csv_all_or_nothing(world, manager) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    good = "premises,address,type,due_by,duration_minutes,priority,contact_email\n"
    good += f"Cafe,1 Market Place,inspection,{FRIDAY},45,high,cafe@example.org\n"
    bad = good + f"Pub,Nowhere Lane,inspection,{FRIDAY},45,,pub@example.org\n"
    response = manager.post(
        "/staff/visits/import/", {"action": "import", "file": SimpleUploadedFile("p.csv", bad.encode())}
    )
    assert response.status_code == 422 and b"Row 3" in response.content
    with scope(tenant=world["tenant"]):
        assert not InspectionVisit.objects.exists()
    response = manager.post(
        "/staff/visits/import/", {"action": "import", "file": SimpleUploadedFile("p.csv", good.encode())}
    )
    assert response.status_code == 302
    with scope(tenant=world["tenant"]):
        added = InspectionVisit.objects.get()
    assert (added.premises, added.duration_minutes, added.priority) == ("Cafe", 45, 30)


def test_the_plan_page_reads_a_fixed_number_of_queries(world, manager, propose) -> None:
    counts = []
    for numbers in (range(1, 3), range(3, 11)):
        for n in numbers:
            visit(world, n)
        response = propose({"first_day": MONDAY, "last_day": FRIDAY})
        manager.get(response.url)  # the session and membership are read once warm
        with CaptureQueriesContext(connection) as queries:
            page = manager.get(response.url)
        assert page.status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_a_plan_is_computed_by_the_worker_once_and_refuses_actions_until_then(
    world, manager, django_capture_on_commit_callbacks
) -> None:
    first = visit(world, 1)
    with (
        mock.patch.object(tasks.allocation_plan_compute, "apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = manager.post("/staff/allocation/new/", {"first_day": MONDAY, "last_day": FRIDAY})
    assert response.status_code == 303
    with scope(tenant=world["tenant"]):
        plan = AllocationPlan.objects.get()
    assert response.url == f"/staff/allocation/{plan.pk}/"
    assert send.call_args.kwargs["kwargs"] == {"tenant_id": world["tenant"].pk, "plan_id": plan.pk}
    assert plan.status == PlanStatus.PLANNING

    page = manager.get(response.url)
    assert b"Planning" in page.content and b'hx-trigger="every 2s"' in page.content
    assert first.premises.encode() not in page.content
    partial = manager.get(response.url, headers={"HX-Request": "true"})
    assert b'id="plan"' in partial.content and b"<html" not in partial.content
    assert "HX-Request" in partial["Vary"]
    for action in ({"action": "accept"}, {"action": "remove", "visit": first.pk}):
        refused = manager.post(response.url, action)
        assert refused.status_code == 409 and b"still being planned" in refused.content
    with scope(tenant=world["tenant"]):
        assert AllocationPlan.objects.get().status == PlanStatus.PLANNING

    task_kwargs = send.call_args.kwargs["kwargs"]
    assert tasks.allocation_plan_compute.apply(kwargs=task_kwargs).get() == PlanStatus.DRAFT
    assert tasks.allocation_plan_compute.apply(kwargs=task_kwargs).get() == "skipped"
    with scope(tenant=world["tenant"]):
        assert PlannedVisit.objects.filter(plan=plan).count() == 1
        assert AllocationEvent.objects.filter(plan=plan, action="plan_created").count() == 1
    ready = manager.get(response.url, headers={"HX-Request": "true"})
    assert first.premises.encode() in ready.content
    assert b"Planning" not in ready.content and b"every 2s" not in ready.content

    # A plan still being planned can be dropped (say the worker never comes); the worker then skips it.
    with (
        mock.patch.object(tasks.allocation_plan_compute, "apply_async") as send,
        django_capture_on_commit_callbacks(execute=True),
    ):
        second = manager.post("/staff/allocation/new/", {"first_day": MONDAY, "last_day": FRIDAY})
    assert manager.post(second.url, {"action": "discard"}).status_code == 302
    assert tasks.allocation_plan_compute.apply(kwargs=send.call_args.kwargs["kwargs"]).get() == "skipped"
    with scope(tenant=world["tenant"]):
        assert AllocationPlan.objects.get(pk=send.call_args.kwargs["kwargs"]["plan_id"]).status == "discarded"
        assert not PlannedVisit.objects.filter(plan_id=send.call_args.kwargs["kwargs"]["plan_id"]).exists()


def test_a_plan_the_solver_fails_on_says_so_and_is_not_a_500(world, manager, propose) -> None:
    visit(world, 1)
    with mock.patch(
        "bookings.services.allocation_plans.solve", side_effect=RuntimeError("The solver gave up.")
    ):
        response = propose({"first_day": MONDAY, "last_day": FRIDAY})
    with scope(tenant=world["tenant"]):
        plan = AllocationPlan.objects.get()
    assert plan.status == PlanStatus.FAILED and plan.error == "The solver gave up."
    page = manager.get(response.url)
    assert (
        page.status_code == 200
        and b"could not be made" in page.content
        and b"The solver gave up." in page.content
    )
    refused = manager.post(response.url, {"action": "accept"})
    assert refused.status_code == 409 and b"Make a new one" in refused.content
