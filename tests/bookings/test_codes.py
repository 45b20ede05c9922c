"""One-time codes resist guessing (atomic counts per booking and per client, a lock that says until when,
expiry, single use even under a race), and a failing mail or SMS provider gets a clear "try again" page."""

from __future__ import annotations

import re
import socket
import socketserver
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django_scopes import scope
from twilio.http.response import Response

from bookings.models import Booking
from bookings.tokens import (
    CodeEntryLocked,
    client_digest,
    one_time_code_check,
    one_time_code_issue,
)
from notifications.fakes import RecordingTwilioClient
from tests.bookings import test_portal as portal
from tests.bookings.test_portal import book
from tests.builders import NOW

frozen = portal.frozen
service = portal.service
client = portal.client
pytestmark = pytest.mark.usefixtures("frozen")

TENANT_ID = 1
ME = client_digest("198.51.100.7")


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


@pytest.fixture
def codes(settings):
    settings.PORTAL_CODE_ATTEMPTS = 5
    settings.PORTAL_CODE_CLIENT_ATTEMPTS = 20
    settings.PORTAL_CODE_LOCK_MINUTES = 30
    settings.PORTAL_CODE_TTL_MINUTES = 10
    return settings


def check(code: str, reference: str = "BK-2222-22", client: str = ME) -> bool:
    return one_time_code_check(tenant_id=TENANT_ID, reference=reference, code=code, client=client)


# --- the rules, on the tokens themselves --------------------------------------------------------------------


def test_the_right_code_works_once(codes) -> None:
    code = one_time_code_issue(tenant_id=TENANT_ID, reference="BK-2222-22")
    assert check(code) is True
    assert check(code) is False


def test_codes_expire(codes) -> None:
    code = one_time_code_issue(tenant_id=TENANT_ID, reference="BK-2222-22")
    with time_machine.travel(NOW + timedelta(minutes=10, seconds=1), tick=False):
        assert check(code) is False


def test_the_cap_locks_the_bookings_code_entry_and_says_until_when(codes) -> None:
    code = one_time_code_issue(tenant_id=TENANT_ID, reference="BK-2222-22")
    assert [check(wrong(code)) for _ in range(4)] == [False] * 4
    with pytest.raises(CodeEntryLocked) as locked:
        check(wrong(code))
    assert locked.value.until == NOW + timedelta(minutes=30)
    with pytest.raises(CodeEntryLocked):  # even the right code, from anyone, while locked
        check(code, client=client_digest("203.0.113.1"))
    with time_machine.travel(NOW + timedelta(minutes=31), tick=False):
        fresh = one_time_code_issue(tenant_id=TENANT_ID, reference="BK-2222-22")
        assert check(fresh) is True


def test_asking_for_a_new_code_does_not_reset_the_count(codes) -> None:
    first = one_time_code_issue(tenant_id=TENANT_ID, reference="BK-2222-22")
    for _ in range(4):
        check(wrong(first))
    second = one_time_code_issue(tenant_id=TENANT_ID, reference="BK-2222-22")
    with pytest.raises(CodeEntryLocked):
        check(wrong(second))
    with pytest.raises(CodeEntryLocked):
        check(second)


def test_one_client_guessing_across_bookings_is_locked_too(codes) -> None:
    codes.PORTAL_CODE_CLIENT_ATTEMPTS = 6
    references = ["BK-2222-22", "BK-3333-33", "BK-4444-44"]
    issued = {r: one_time_code_issue(tenant_id=TENANT_ID, reference=r) for r in references}
    a, b, c = references
    assert [check(wrong(issued[a]), reference=a) for _ in range(3)] == [False] * 3
    assert [check(wrong(issued[b]), reference=b) for _ in range(2)] == [False] * 2
    with pytest.raises(CodeEntryLocked):  # the client's sixth wrong code, though each booking had fewer
        check(wrong(issued[b]), reference=b)
    with pytest.raises(CodeEntryLocked):  # locked for every booking, even with the right code
        check(issued[c], reference=c)
    # Another client is not held up by this one.
    assert check(issued[c], reference=c, client=client_digest("203.0.113.1"))


def test_guesses_at_once_are_counted_atomically(codes) -> None:
    """Forty guesses in parallel: only the first five by the counter are compared at all."""
    code = one_time_code_issue(tenant_id=TENANT_ID, reference="BK-2222-22")
    guesses = [wrong(code)] * 40
    outcomes: list[object] = [None] * len(guesses)
    barrier = threading.Barrier(len(guesses))

    def guess(index: int) -> None:
        barrier.wait()
        try:
            outcomes[index] = check(guesses[index], client=client_digest(f"203.0.113.{index}"))
        except CodeEntryLocked:
            outcomes[index] = "locked"

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(len(guesses))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert outcomes.count(False) == 4  # compared and wrong; the fifth compared one locked the entry
    assert outcomes.count("locked") == 36


def test_two_requests_racing_with_the_right_code_get_in_once(codes) -> None:
    code = one_time_code_issue(tenant_id=TENANT_ID, reference="BK-2222-22")
    outcomes: list[object] = [None] * 2
    barrier = threading.Barrier(2)

    def use(index: int) -> None:
        barrier.wait()
        outcomes[index] = check(code, client=client_digest(f"203.0.113.{index}"))

    threads = [threading.Thread(target=use, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == [False, True]


# --- the pages ----------------------------------------------------------------------------------------------


def code_for(client, booking) -> str:
    mail.outbox.clear()
    assert (
        client.post("/manage/", {"reference": booking.reference, "contact": "ann@example.org"}).status_code
        == 303
    )
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def test_the_page_says_the_code_entry_is_locked_and_until_when(codes, service, client, tenant) -> None:
    codes.PORTAL_CODE_RATE = "100/m"
    booking = book(client, service)
    code = code_for(client, booking)
    for _ in range(4):
        assert client.post("/manage/code/", {"code": wrong(code)}).status_code == 422
    locked = client.post("/manage/code/", {"code": wrong(code)})
    html = locked.content.decode()
    assert locked.status_code == 429
    assert "Too many wrong codes have been tried for this booking." in html
    assert "You can try again after 9:30am on Monday 22 February 2027." in html
    assert locked["Retry-After"] == str(30 * 60)
    # A new code does not unlock it.
    code = code_for(client, booking)
    assert client.post("/manage/code/", {"code": code}).status_code == 429


# --- a failing provider -------------------------------------------------------------------------------------


class RefusingSMTPHandler(socketserver.StreamRequestHandler):
    """An SMTP server that is up but refuses service, as a provider in trouble does."""

    def handle(self) -> None:
        self.wfile.write(b"421 4.3.2 Service not available, try again later\r\n")


@pytest.fixture
def refusing_smtp() -> Iterator[int]:
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), RefusingSMTPHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class FailingTwilioClient(RecordingTwilioClient):
    """Twilio answering with an error, as it does for a suspended account or an outage."""

    def request(self, method, uri, **kwargs) -> Response:  # type: ignore[override]
        return Response(503, '{"code": 20500, "message": "Service unavailable", "status": 503}')


class UnreachableTwilioClient(RecordingTwilioClient):
    def request(self, method, uri, **kwargs) -> Response:  # type: ignore[override]
        raise ConnectionRefusedError("connection refused")


@pytest.fixture(params=["smtp-refuses", "smtp-unreachable", "twilio-error", "twilio-unreachable"])
def failing_provider(request, settings, refusing_smtp, tenant):
    """Each way a provider can fail; returns the contact to ask for a code with."""
    settings.PORTAL_CODE_RATE = "100/m"
    kind = request.param
    if kind.startswith("smtp"):
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST = "127.0.0.1"
        settings.EMAIL_PORT = refusing_smtp if kind == "smtp-refuses" else closed_port()
        settings.EMAIL_TIMEOUT = 5
        return "ann@example.org"
    client_class = FailingTwilioClient if kind == "twilio-error" else UnreachableTwilioClient
    settings.TWILIO_HTTP_CLIENT = f"{__name__}.{client_class.__name__}"
    return "07700 900123"


def test_a_failing_provider_gets_a_try_again_page_and_changes_nothing(
    failing_provider, settings, service, client, tenant
) -> None:
    booking = book(client, service)
    with scope(tenant=tenant):  # booked with a mobile number too, so both channels can be asked for
        Booking.objects.filter(pk=booking.pk).update(contact_phone="+447700900123")
    earlier = one_time_code_issue(tenant_id=tenant.pk, reference=booking.reference)

    response = client.post("/manage/", {"reference": booking.reference, "contact": failing_provider})

    html = response.content.decode()
    assert response.status_code == 503
    assert "We could not send the code" in html and "try again in a few minutes" in html
    assert f'value="{booking.reference}"' in html and f'value="{failing_provider}"' in html  # kept
    assert "portal_found" not in client.session
    # The code sent before still works: nothing was replaced.
    assert one_time_code_check(tenant_id=tenant.pk, reference=booking.reference, code=earlier, client=ME)
    # With the provider back, the same request goes through.
    settings.EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
    settings.TWILIO_HTTP_CLIENT = "notifications.fakes.RecordingTwilioClient"
    again = client.post("/manage/", {"reference": booking.reference, "contact": failing_provider})
    assert again.status_code == 303
