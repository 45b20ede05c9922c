"""A real CalDAV server for the calendar sync tests: Radicale on a free local port, with one user.

The server runs for the whole test session (it starts in about a second); each test gets calendars of its
own on it, so tests never see each other's events. Officers' connections point at those calendars.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import caldav
import pytest
import requests
from django_scopes import scope

from accounts.models import Officer, Tenant
from integrations.models import CalendarConnection
from integrations.secrets import encrypt
from tests import builders as b

USER, PASSWORD = "officer", "correct horse"


@dataclass(frozen=True)
class Radicale:
    url: str
    port: int

    def client(self, password: str = PASSWORD) -> caldav.DAVClient:
        return caldav.DAVClient(self.url, username=USER, password=password, timeout=10)


def free_port() -> int:
    """A port nothing listens on (bound once and released: good enough on a test machine)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def radicale(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Radicale]:
    folder = tmp_path_factory.mktemp("radicale")
    (folder / "users").write_text(f"{USER}:{PASSWORD}\n")
    port = free_port()
    config = folder / "config"
    config.write_text(
        f"""
[server]
hosts = 127.0.0.1:{port}
[auth]
type = htpasswd
htpasswd_filename = {folder / "users"}
htpasswd_encryption = plain
delay = 0
[rights]
type = owner_only
[storage]
filesystem_folder = {folder / "collections"}
[logging]
level = warning
"""
    )
    log = (folder / "log").open("w")
    server = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--config", str(config)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/"
    try:
        _wait_until_it_answers(url, server, folder / "log")
        yield Radicale(url=url, port=port)
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def _wait_until_it_answers(url: str, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"Radicale exited: {log.read_text()}")
        try:
            requests.get(url, timeout=1, allow_redirects=False)
            return
        except requests.ConnectionError:
            time.sleep(0.05)
    raise RuntimeError(f"Radicale did not answer within 20 s: {log.read_text()}")


@pytest.fixture
def make_calendar(radicale: Radicale) -> Callable[[], caldav.Calendar]:
    """A new, empty calendar on the server (seen through the test's own caldav client)."""
    principal = radicale.client().principal()

    def make() -> caldav.Calendar:
        return principal.make_calendar(name="Work", cal_id=f"work-{uuid.uuid4().hex[:12]}")

    return make


@pytest.fixture
def connect() -> Callable[..., CalendarConnection]:
    """An officer's connection to a calendar, as `connection_connect` would leave it (no first sync)."""

    def make(officer: Officer, calendar_url: str, *, password: str = PASSWORD) -> CalendarConnection:
        tenant: Tenant = officer.tenant
        with scope(tenant=tenant):
            return CalendarConnection.objects.select_related("tenant", "officer__user").get(
                pk=CalendarConnection.objects.create(
                    tenant=tenant,
                    officer=officer,
                    url=calendar_url,
                    username=USER,
                    password_encrypted=encrypt(password),
                ).pk
            )

    return make


@pytest.fixture
def world(in_tenant, make_calendar, connect):
    """A tenant, an officer with a connected calendar on the Radicale server, and an appointment type."""
    tenant = in_tenant
    officer = b.officer(tenant)
    kind = b.appointment_type(tenant)
    calendar = make_calendar()
    connection = connect(officer, str(calendar.url))
    return tenant, officer, kind, calendar, connection
