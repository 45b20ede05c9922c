"""Real Celery worker processes for tests, on a queue of their own (so `make run`'s worker takes nothing)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from django.db import connection

from config.database_url import database_url

ROOT = Path(__file__).resolve().parents[1]


def worker_start(queue: str, *, settings: str = "config.settings.test", **env: str) -> subprocess.Popen[str]:
    """One worker process (solo pool: the process that runs the task is the one a test can kill) on the
    test database."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=solo",
            "-Q",
            queue,
            "--loglevel=WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "DJANGO_SETTINGS_MODULE": settings,
            **env,
        },
        # Celery logs to stderr, which pytest captures and shows with a failing test.
        stdout=subprocess.DEVNULL,
        text=True,
    )


def worker_stop(worker: subprocess.Popen[str]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=10)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
