"""The calendar sync pages: an officer's own, and an administrator's for any officer."""

from __future__ import annotations

import re
from unittest import mock

import pytest
from django.test import Client
from django_scopes import scope

from accounts.models import Role
from integrations.models import CalendarConnection, CalendarFeed, ConnectionStatus, SyncDirection, SyncError
from tests import builders as b
from tests.conftest import host_of
from tests.factories import MembershipFactory

URL = "http://127.0.0.1:5232/officer/calendar/"
FEED = {"action": "feed"}  # what the page's "Make a link" button sends
FEED_URL = re.compile(r'value="(https://[^"]+/calendar/([^"/]+)\.ics)"')


@pytest.fixture
def officer(tenant):
    return b.officer(tenant)


@pytest.fixture
def sync_task():
    with mock.patch("integrations.tasks.connection_sync") as task:
        yield task


def admin_page(officer) -> str:
    return f"/staff/officers/{officer.pk}/calendar/"


def test_an_officer_makes_a_link_sees_it_once_resets_it_and_turns_it_off(tenant, officer, client_for) -> None:
    client = client_for(tenant, officer.user)
    page = client.get("/staff/calendar/")
    assert page.status_code == 200
    assert b"There is no subscription link" in page.content

    made = client.post("/staff/calendar/feed/", {"action": "feed", "include_absences": "on"}, secure=True)
    assert made.status_code == 200
    assert "no-store" in made["Cache-Control"]
    url, token = FEED_URL.search(made.content.decode()).groups()
    assert url.startswith(f"https://{host_of(tenant)}/calendar/")
    assert b"Outlook" in made.content and b"Google" in made.content and b"Apple" in made.content
    feed_client = client_for(tenant)
    path = f"/calendar/{token}.ics"
    assert feed_client.get(path).status_code == 200
    with scope(tenant=tenant):
        assert CalendarFeed.objects.live().get().include_absences is True
    again = client.get("/staff/calendar/")
    assert token.encode() not in again.content  # shown once only
    assert b"Turn off the link" in again.content

    reset = client.post("/staff/calendar/feed/", FEED, secure=True)
    _, new_token = FEED_URL.search(reset.content.decode()).groups()
    assert feed_client.get(path).status_code == 404
    assert feed_client.get(f"/calendar/{new_token}.ics").status_code == 200
    with scope(tenant=tenant):
        assert CalendarFeed.objects.live().get().include_absences is True  # a reset keeps the options

    saved = client.post("/staff/calendar/feed/options/", {"include_customer_names": "on"})
    assert (saved.status_code, saved["Location"]) == (303, "/staff/calendar/")
    with scope(tenant=tenant):
        live = CalendarFeed.objects.live().get()
    assert (live.include_customer_names, live.include_absences) == (True, False)

    off = client.post("/staff/calendar/feed/revoke/", {"action": "feed-revoke"})
    assert off.status_code == 303
    assert feed_client.get(f"/calendar/{new_token}.ics").status_code == 404


def test_connecting_a_calendar_with_bad_input_is_a_422_with_errors_and_no_password_shown(
    tenant, officer, client_for, settings, sync_task
) -> None:
    client = client_for(tenant, officer.user)
    oversized = client.post(
        "/staff/calendar/connection/", {"url": URL, "username": "u" * 201, "password": "hunter2-secret"}
    )
    assert oversized.status_code == 422
    assert b"There is a problem" in oversized.content
    assert b"hunter2-secret" not in oversized.content
    missing = client.post("/staff/calendar/connection/", {"url": "", "username": "", "password": ""})
    assert missing.status_code == 422
    assert b"Enter the calendar&#x27;s address." in missing.content
    settings.CALDAV_ALLOW_PRIVATE_ADDRESSES = False
    private = client.post(
        "/staff/calendar/connection/", {"url": "https://127.0.0.1/dav/", "username": "jo", "password": "pw"}
    )
    assert private.status_code == 422
    assert re.search(rb'id="id_url-error".*private network', private.content, re.S)
    with scope(tenant=tenant):
        assert not CalendarConnection.objects.exists()
    sync_task.delay.assert_not_called()


def test_connecting_and_disconnecting(
    tenant, officer, client_for, sync_task, django_capture_on_commit_callbacks
) -> None:
    client = client_for(tenant, officer.user)
    with django_capture_on_commit_callbacks(execute=True):
        done = client.post(
            "/staff/calendar/connection/", {"url": URL, "username": "jo", "password": "pw-123"}
        )
    assert (done.status_code, done["Location"]) == (303, "/staff/calendar/")
    with scope(tenant=tenant):
        connection = CalendarConnection.objects.get()
    sync_task.delay.assert_called_once_with(connection.pk)
    page = client.get("/staff/calendar/")
    assert ConnectionStatus.ACTIVE.label.encode() in page.content
    assert b"pw-123" not in page.content
    assert client.post("/staff/calendar/connection/disconnect/", {"action": "disconnect"}).status_code == 303
    connection.refresh_from_db()
    assert (connection.status, connection.password_encrypted) == (ConnectionStatus.DISCONNECTED, "")
    assert b"No calendar is connected" in client.get("/staff/calendar/").content


def test_changes_need_the_csrf_token(tenant, officer) -> None:
    client = Client(HTTP_HOST=host_of(tenant), enforce_csrf_checks=True)
    client.force_login(officer.user)
    assert client.post("/staff/calendar/feed/", FEED).status_code == 403
    with scope(tenant=tenant):
        assert not CalendarFeed.objects.exists()


def test_members_without_a_diary_are_told_so(tenant, client_for) -> None:
    desk = MembershipFactory(tenant=tenant, role=Role.CUSTOMER_SERVICE)
    page = client_for(tenant, desk).get("/staff/calendar/")
    assert page.status_code == 200
    assert b"You have no diary here" in page.content
    assert client_for(tenant, desk).post("/staff/calendar/feed/", FEED).status_code == 200
    with scope(tenant=tenant):
        assert not CalendarFeed.objects.exists()


def test_administrators_see_an_officers_sync_errors_and_act_for_them(
    tenant, officer, client_for, sync_task
) -> None:
    admin = MembershipFactory(tenant=tenant, role=Role.ADMINISTRATOR)
    client = client_for(tenant, admin)
    with scope(tenant=tenant):
        connection = CalendarConnection.objects.create(
            tenant=tenant,
            officer=officer,
            url=URL,
            username="jo",
            password_encrypted="x",
            status=ConnectionStatus.REJECTED,
            last_error="401 Unauthorized",
        )
        SyncError.objects.create(
            tenant=tenant,
            connection=connection,
            direction=SyncDirection.PUSH,
            message="Sign-in refused (401)",
        )
        SyncError.objects.create(
            tenant=tenant,
            connection=connection,
            direction=SyncDirection.PULL,
            message="An old, cleared error",
            cleared_at=connection.created_at,
        )
    page = client.get(admin_page(officer))
    assert page.status_code == 200
    assert officer.user.full_name.encode() in page.content
    assert ConnectionStatus.REJECTED.label.encode() in page.content
    assert b"Sign-in refused (401)" in page.content
    assert b"An old, cleared error" not in page.content
    made = client.post(admin_page(officer) + "feed/", FEED, secure=True)
    assert FEED_URL.search(made.content.decode())
    with scope(tenant=tenant):
        assert CalendarFeed.objects.live().get().officer == officer
    # The officer sees their own page without the administrators' error list.
    own = client_for(tenant, officer.user).get("/staff/calendar/")
    assert b"401 Unauthorized" in own.content
    assert b"Sign-in refused (401)" not in own.content


@pytest.mark.parametrize("role", [Role.OFFICER, Role.CUSTOMER_SERVICE, Role.MANAGER])
def test_only_administrators_open_an_officers_page(role, tenant, officer, client_for) -> None:
    member = b.officer(tenant).user if role == Role.OFFICER else MembershipFactory(tenant=tenant, role=role)
    client = client_for(tenant, member)
    assert client.get(admin_page(officer)).status_code == 403
    assert client.post(admin_page(officer) + "feed/", FEED).status_code == 403
    with scope(tenant=tenant):
        assert not CalendarFeed.objects.exists()


def test_an_officer_cannot_use_the_administrators_page_even_for_themselves(
    tenant, officer, client_for
) -> None:
    assert client_for(tenant, officer.user).get(admin_page(officer)).status_code == 403


def test_another_tenants_officer_is_a_404(tenant, other_tenant, client_for) -> None:
    admin = MembershipFactory(tenant=tenant, role=Role.ADMINISTRATOR)
    foreign = b.officer(other_tenant)
    client = client_for(tenant, admin)
    assert client.get(admin_page(foreign)).status_code == 404
    assert client.post(admin_page(foreign) + "feed/", FEED).status_code == 404
    with scope(tenant=other_tenant):
        assert not CalendarFeed.objects.exists()


def test_a_post_that_did_not_come_from_a_button_changes_nothing(tenant, officer, client_for) -> None:
    client = client_for(tenant, officer.user)
    with scope(tenant=tenant):
        connection = CalendarConnection.objects.create(
            tenant=tenant, officer=officer, url=URL, username="officer", password_encrypted="x"
        )
    for path, data in [
        ("/staff/calendar/feed/", {}),
        ("/staff/calendar/feed/", {"action": "disconnect"}),
        ("/staff/calendar/connection/disconnect/", {"action": "feed"}),
    ]:
        refused = client.post(path, data)
        assert refused.status_code == 422
        assert b"Nothing was changed" in refused.content
    with scope(tenant=tenant):
        assert not CalendarFeed.objects.exists()
        connection.refresh_from_db()
        assert connection.status == ConnectionStatus.ACTIVE


def test_an_administrator_reaches_an_officers_calendar_page_from_the_officer_page(
    tenant, officer, client_for
) -> None:
    admin = MembershipFactory(tenant=tenant, role=Role.ADMINISTRATOR)
    page = client_for(tenant, admin).get(f"/staff/officers/{officer.pk}/")
    assert admin_page(officer).encode() in page.content
    desk = MembershipFactory(tenant=tenant, role=Role.CUSTOMER_SERVICE)
    assert (
        admin_page(officer).encode()
        not in client_for(tenant, desk).get(f"/staff/officers/{officer.pk}/").content
    )


def test_sync_now_enqueues_one_sync_and_refuses_a_rejected_calendar(
    tenant, officer, client_for, sync_task, django_capture_on_commit_callbacks
) -> None:
    client = client_for(tenant, officer.user)
    with scope(tenant=tenant):
        connection = CalendarConnection.objects.create(
            tenant=tenant, officer=officer, url=URL, username="jo", password_encrypted="x"
        )
    assert b"Sync now" in client.get("/staff/calendar/").content
    with django_capture_on_commit_callbacks(execute=True):
        pressed = client.post("/staff/calendar/connection/sync/", {"action": "sync"}, follow=True)
        again = client.post("/staff/calendar/connection/sync/", {"action": "sync"}, follow=True)
    assert b"Syncing now" in pressed.content
    assert b"a moment ago" in again.content
    sync_task.delay.assert_called_once_with(connection.pk)

    with scope(tenant=tenant):
        CalendarConnection.objects.filter(pk=connection.pk).update(
            status=ConnectionStatus.REJECTED, sync_requested_at=None
        )
    page = client.get("/staff/calendar/")
    assert b"Sync now" not in page.content
    with django_capture_on_commit_callbacks(execute=True):
        refused = client.post("/staff/calendar/connection/sync/", {"action": "sync"}, follow=True)
    assert b"not syncing" in refused.content
    sync_task.delay.assert_called_once()
