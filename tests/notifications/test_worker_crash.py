"""A real worker killed (SIGKILL) mid-batch: after a restart every message has gone exactly once."""

from __future__ import annotations

import email
import json
import signal
import time
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_scopes import scopes_disabled

from benchmarks.workers import worker_start, worker_stop
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus, MessageTemplate
from notifications.services import message_queue
from notifications.tasks import message_send, outbox_drain_task
from tests.factories import TenantFactory

MESSAGES = 60


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(tmp_path: Path) -> None:
    tenant = TenantFactory()
    now = timezone.now()
    with scopes_disabled():
        for channel in MessageChannel.values:
            MessageTemplate.objects.create(
                tenant=tenant,
                kind=MessageKind.REMINDER,
                channel=channel,
                language="en-gb",
                subject="Reminder {{ reference }}" if channel == MessageChannel.EMAIL else "",
                body="Reminder for {{ reference }}",
            )
        messages = [
            message_queue(
                tenant_id=tenant.pk,
                kind=MessageKind.REMINDER,
                channel=MessageChannel.SMS if i % 2 else MessageChannel.EMAIL,
                to="+447700900123" if i % 2 else "ann@example.org",
                dedupe_key=f"crash:{i}",
                context={"reference": f"REF-{i:03d}"},
                due_at=now - timedelta(seconds=MESSAGES - i),  # one order, so the kill lands mid-batch
                send_now=False,
            )
            for i in range(MESSAGES)
        ]
    spools = {"EMAIL_SPOOL_DIR": str(tmp_path / "mail"), "SMS_SPOOL_DIR": str(tmp_path / "sms")}
    for spool in spools.values():
        Path(spool).mkdir()
    queue = f"test-{uuid.uuid4().hex[:8]}"

    def pending() -> int:
        with scopes_disabled():
            return Message.objects.filter(status=MessageStatus.PENDING).count()

    # A worker whose text provider stops answering after 10 texts: it hangs mid-send, its row locked.
    doomed = worker_start(
        queue,
        settings_module="tests.worker_settings",
        TWILIO_HTTP_CLIENT="tests.notifications.hanging_twilio.HangingTwilioClient",
        HANG_AFTER_TEXTS="10",
        **spools,
    )
    try:
        outbox_drain_task.apply_async(kwargs={"seconds": 120}, queue=queue)
        wait_for((tmp_path / "hung").exists)
        sent_before_the_kill = MESSAGES - pending()
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(timeout=10)
    finally:
        if doomed.poll() is None:
            doomed.kill()
    assert 15 <= sent_before_the_kill < MESSAGES  # in the middle of the batch

    # A fresh worker; the fast-path task of every message arrives (again), and the beat's sweep.
    worker = worker_start(queue, settings_module="tests.worker_settings", **spools)
    try:
        for message in messages:
            message_send.apply_async(args=[message.pk], queue=queue)
        outbox_drain_task.apply_async(kwargs={"seconds": 60}, queue=queue)
        wait_for(lambda: pending() == 0)
        # Duplicates would come from tasks still queued behind the sweep: let them all run out.
        probe = message_send.apply_async(args=[messages[0].pk], queue=queue)
        assert probe.get(timeout=60) == "skipped"
    finally:
        worker_stop(worker)

    emails = Counter(
        email.message_from_bytes(path.read_bytes())["Subject"] for path in (tmp_path / "mail").iterdir()
    )
    texts = Counter(json.loads(path.read_text())["body"] for path in (tmp_path / "sms").iterdir())
    assert emails == {f"Reminder REF-{i:03d}": 1 for i in range(0, MESSAGES, 2)}
    assert texts == {f"Reminder for REF-{i:03d}": 1 for i in range(1, MESSAGES, 2)}
    with scopes_disabled():
        assert set(Message.objects.values_list("status", flat=True)) == {MessageStatus.SENT}
