"""Drains N queued reminders through real Celery workers with fake providers, and counts what arrived.

    manage.py bench_notifications --messages 10000 [--workers 2]

A scratch tenant gets N reminders due now (half by email, half by text, each to its own address). Worker
processes (solo pool, one per core by default) on a queue of their own run the outbox sweep with fakes at
the providers' HTTP edge: emails go through anymail's Postmark backend as production sends through an ESP,
each API call's JSON body kept as a file; texts through Twilio's client, each kept as a JSON file. The
spool is temporary, in /dev/shm where there is one.
Then every address is looked up in the spool: `duplicates` counts extra copies, `lost` addresses with
none. The last line printed is one JSON object; the exit status is non-zero on any duplicate or loss.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from argparse import ArgumentParser
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django_scopes import scopes_disabled

from benchmarks.scenarios import scratch_tenant_create, scratch_tenant_delete
from benchmarks.workers import worker_start, worker_stop
from config.celery import app
from notifications.models import Message, MessageChannel, MessageKind, MessageStatus
from notifications.tasks import outbox_drain_task

START_TIMEOUT_SECONDS = 60
STALL_SECONDS = 30
CONTEXT = {
    "customer_name": "Alex Morgan",
    "service": "Food hygiene inspection",
    "date": "Tuesday 8 December 2026",
    "time": "10:30",
    "end_time": "11:30",
    "location": "14 Mill Lane, Northshire NS1 4AB",
    "council": "Scratch Council",
    # As long as a real signed manage link.
    "manage_url": "https://scratch.bench.invalid/manage/" + "x" * 120 + "/",
}


class Command(BaseCommand):
    help = "Sends N queued reminders through real Celery workers and fake providers (JSON on the last line)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--messages", type=int, default=10_000)
        parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="worker processes")

    def handle(self, *args: Any, messages: int, workers: int, **options: Any) -> None:
        if not 1 <= messages <= 200_000 or not 1 <= workers <= 16:
            raise CommandError("Give 1 to 200000 messages and 1 to 16 workers.")
        # The fakes' files go to memory where there is a tmpfs: the run measures the outbox, not the disk.
        memory = Path("/dev/shm")
        spool = Path(tempfile.mkdtemp(prefix="bench-notifications-", dir=memory if memory.is_dir() else None))
        tenant = scratch_tenant_create(prefix="notify")
        processes: list[subprocess.Popen[str]] = []
        try:
            addresses = self.reminders_queue(tenant_id=tenant.pk, count=messages)
            self.stdout.write(f"queued {messages} reminders in {tenant.slug}; starting {workers} workers")
            queue = f"bench-{uuid.uuid4().hex[:8]}"
            names = [f"{queue}-{index}@{socket.gethostname()}" for index in range(workers)]
            processes = [self.worker_start(queue, spool, name) for name in names]
            self.workers_wait(set(names))
            started = time.monotonic()
            for _ in range(workers):
                outbox_drain_task.apply_async(kwargs={"seconds": 3600, "limit": messages}, queue=queue)
            left, progressed = self.pending(tenant.pk), time.monotonic()
            while self.pending(tenant.pk, any_left=True):
                if any(process.poll() is not None for process in processes):
                    raise CommandError("a worker exited during the run")
                time.sleep(0.05)
                if time.monotonic() - progressed > STALL_SECONDS:
                    if (now_left := self.pending(tenant.pk)) == left:
                        raise CommandError(f"{left} messages still pending, none sent in {STALL_SECONDS} s")
                    left, progressed = now_left, time.monotonic()
            seconds = time.monotonic() - started
            with scopes_disabled():
                statuses = Counter(Message.objects.filter(tenant=tenant).values_list("status", flat=True))
            received = self.spool_read(spool)
        finally:
            for process in processes:
                worker_stop(process)
            scratch_tenant_delete(tenant=tenant)
            shutil.rmtree(spool, ignore_errors=True)
            self.stdout.write(f"deleted {tenant.slug}")

        duplicates = sum(count - 1 for address, count in received.items() if address in addresses)
        lost = sum(1 for address in addresses if address not in received)
        summary = {
            "messages": messages,
            "workers": workers,
            "seconds": round(seconds, 2),
            "per_second": round(messages / seconds, 1),
            "sent": statuses.get(MessageStatus.SENT, 0),
            "duplicates": duplicates,
            "lost": lost,
        }
        self.stdout.write(
            f"{summary['sent']} sent in {summary['seconds']} s ({summary['per_second']}/s) by {workers} "
            f"workers; the providers received {sum(received.values())}: {duplicates} duplicates, {lost} lost"
        )
        self.stdout.write(json.dumps(summary))
        if duplicates or lost or summary["sent"] != messages:
            raise CommandError("Some messages were lost or sent twice.")

    def reminders_queue(self, *, tenant_id: int, count: int) -> set[str]:
        """Queues `count` reminders due now, each to its own address, and returns the addresses."""
        now = timezone.now()
        rows = []
        for index in range(count):
            by_text = index % 2 == 1
            rows.append(
                Message(
                    tenant_id=tenant_id,
                    kind=MessageKind.REMINDER,
                    channel=MessageChannel.SMS if by_text else MessageChannel.EMAIL,
                    to=f"+4477009{index:05d}" if by_text else f"customer{index}@bench.invalid",
                    dedupe_key=f"bench:{index}",
                    topic=f"booking:BENCH{index}",
                    recipient=f"customer:{index}",
                    context={**CONTEXT, "reference": f"BENCH{index}"},
                    due_at=now,
                    expires_at=now + timezone.timedelta(days=2),
                    created_at=now,
                    status_at=now,
                )
            )
        with scopes_disabled():
            Message.objects.bulk_create(rows, batch_size=2000)
        return {row.to for row in rows}

    def worker_start(self, queue: str, spool: Path, name: str) -> subprocess.Popen[str]:
        for folder in ("mail", "sms"):
            (spool / folder).mkdir(exist_ok=True)
        return worker_start(
            queue,
            name=name,
            quiet=True,
            DEBUG="false",  # as `make run` and production: cached templates, no query log
            EMAIL_BACKEND="notifications.fakes.PostmarkSpoolBackend",
            EMAIL_SPOOL_DIR=str(spool / "mail"),
            SMS_SPOOL_DIR=str(spool / "sms"),
            TWILIO_HTTP_CLIENT="notifications.fakes.RecordingTwilioClient",
            TWILIO_ACCOUNT_SID="ACbench",
            TWILIO_AUTH_TOKEN="bench",
            TWILIO_FROM_NUMBER="+447700900000",
        )

    def workers_wait(self, names: set[str]) -> None:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            replies = app.control.ping(timeout=0.5) or []
            if names <= {name for reply in replies for name in reply}:
                return
        raise CommandError(f"{len(names)} workers did not answer within {START_TIMEOUT_SECONDS} s")

    def pending(self, tenant_id: int, *, any_left: bool = False) -> int:
        """How many of the run's messages are still pending (with `any_left`, 1 or 0: a cheaper query)."""
        with scopes_disabled():
            pending = Message.objects.filter(tenant_id=tenant_id, status=MessageStatus.PENDING)
            return int(pending.exists()) if any_left else pending.count()

    def spool_read(self, spool: Path) -> Counter[str]:
        received: Counter[str] = Counter()
        for path in (spool / "mail").iterdir():
            received[json.loads(path.read_text())["To"]] += 1
        for path in (spool / "sms").iterdir():
            received[json.loads(path.read_text())["to"]] += 1
        return received
