"""A real email through Django's SMTP backend to the local mail catcher `make run` starts, read back from the
.eml file it keeps: text, HTML and the calendar invitation all arrive as a mail client would see them."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django_scopes import scopes_disabled

from notifications.channels import send_email
from notifications.dispatch import outbox_drain
from notifications.services import message_queue

CATCHER = Path(django_settings.BASE_DIR) / "scripts" / "mail_catcher.py"
INVITE = "\r\n".join(
    [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Bookings//EN",
        "METHOD:REQUEST",
        "BEGIN:VEVENT",
        "UID:3f2a@northshire.localhost",
        "SEQUENCE:0",
        "DTSTART:20261208T100000Z",
        "DTEND:20261208T110000Z",
        "SUMMARY:Food hygiene inspection",
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def catcher(tmp_path: Path, settings) -> Iterator[Path]:
    """The catcher as Procfile runs it, on a free port, keeping mail in a folder of the test's own."""
    port, folder = free_port(), tmp_path / "mail"
    process = subprocess.Popen(
        [sys.executable, str(CATCHER), "--dir", str(folder), "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert "Mail catcher on 127.0.0.1" in process.stdout.readline()  # listening once it says so
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
        yield folder
    finally:
        process.terminate()
        assert process.wait(timeout=10) == 0  # stops cleanly on SIGTERM, as honcho stops it


def kept(folder: Path, count: int) -> list[EmailMessage]:
    deadline = time.monotonic() + 10
    while len(files := sorted(folder.glob("*.eml"))) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return [message_from_bytes(f.read_bytes(), policy=policy.default) for f in files]  # type: ignore[misc]


def test_an_email_with_html_and_an_invitation_arrives_whole(catcher: Path) -> None:
    provider_id = send_email(
        to="ann@example.org",
        subject="Your appointment is booked",
        text="Hello Ann,\n\nYour appointment is on Tuesday 8 December 2026 at 10:00.",
        html="<p>Hello Ann,</p><p>Your appointment is on <strong>Tuesday 8 December 2026</strong>.</p>",
        ics=INVITE,
        ics_method="REQUEST",
        message_id="<message-1-42@bookings.invalid>",
    )

    [received] = kept(catcher, 1)
    assert received["To"] == "ann@example.org" and received["Subject"] == "Your appointment is booked"
    assert received["Message-ID"] == provider_id == "<message-1-42@bookings.invalid>"
    alternative = next(p for p in received.walk() if p.get_content_type() == "multipart/alternative")
    parts = {p.get_content_type(): p for p in alternative.iter_parts()}
    assert set(parts) == {"text/plain", "text/html", "text/calendar"}
    assert "at 10:00" in parts["text/plain"].get_content()
    assert "<strong>Tuesday 8 December 2026</strong>" in parts["text/html"].get_content()
    assert parts["text/calendar"].get_param("method") == "REQUEST"
    assert "UID:3f2a@northshire.localhost" in parts["text/calendar"].get_content()
    [attachment] = received.iter_attachments()
    assert attachment.get_filename() == "invite.ics" and b"METHOD:REQUEST" in attachment.get_content()


def test_every_message_is_kept_in_a_file_of_its_own(catcher: Path) -> None:
    for n in range(3):
        send_email(to=f"person{n}@example.org", subject=f"Message {n}", text="Hello")
    received = kept(catcher, 3)
    assert sorted(m["Subject"] for m in received) == ["Message 0", "Message 1", "Message 2"]


def test_a_sweep_delivers_every_email_over_its_kept_smtp_connection(catcher: Path, tenant) -> None:
    with scopes_disabled():
        for n in range(3):
            message_queue(
                tenant_id=tenant.pk,
                kind="reminder",
                channel="email",
                to=f"person{n}@example.org",
                dedupe_key=f"sweep:{n}",
                topic="booking:BK-1",
                recipient=f"customer:{n}",
                context={"customer_name": "Ann", "reference": "BK-1", "council": "Northshire"},
                send_now=False,
            )
    assert outbox_drain(seconds=30) == 3
    received = kept(catcher, 3)
    assert sorted(m["To"] for m in received) == [f"person{n}@example.org" for n in range(3)]
