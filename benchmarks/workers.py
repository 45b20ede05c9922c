"""Celery worker processes of their own, for the benchmarks and the tests that need real workers.

Each listens on a queue nobody else uses (so `make run`'s worker takes nothing) with the solo pool: the
process that runs a task is the one a caller can time or kill.
"""

from __future__ import annotations

import os
import subprocess
import sys

from django.conf import settings
from django.db import connection

from config.database_url import database_url


def worker_start(
    queue: str,
    *,
    name: str = "",
    settings_module: str = "",
    quiet: bool = False,
    **env: str,
) -> subprocess.Popen[str]:
    """Starts `celery worker` on `queue` against this process's database, with `env` added to its
    environment. Its log goes to this process's stderr (which pytest captures) unless `quiet`."""
    command = [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "-Q", queue]
    if name:
        command += ["-n", name]
    command += ["--loglevel=WARNING", "--without-gossip", "--without-mingle", "--without-heartbeat"]
    return subprocess.Popen(
        command,
        cwd=settings.BASE_DIR,
        env={
            **os.environ,
            "DATABASE_URL": database_url(connection.settings_dict),
            "DJANGO_SETTINGS_MODULE": settings_module or os.environ["DJANGO_SETTINGS_MODULE"],
            **env,
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL if quiet else None,
        text=True,
    )


def worker_stop(worker: subprocess.Popen[str]) -> None:
    worker.terminate()
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()
