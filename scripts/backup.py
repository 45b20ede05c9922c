#!/usr/bin/env python
"""`make backup`: a pg_dump (custom format) of the database the settings point at, written to
.local/backups/bookings-<UTC timestamp>.dump. That is the project-local PostgreSQL, or DATABASE_URL's
database when it is set. Restore with pg_restore (README: Operations).

Run with the project's virtualenv: `.venv/bin/python scripts/backup.py [--directory DIR]`.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BACKUPS = ROOT / ".local" / "backups"


def pg_dump_binary() -> str:
    """pg_dump must be at least as new as the server: take PG_BIN's, else the newest installed."""
    candidates = [Path(os.environ["PG_BIN"]) / "pg_dump"] if os.environ.get("PG_BIN") else []
    candidates += sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_dump"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
        reverse=True,
    )
    for candidate in candidates:
        if os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("pg_dump")
    if found is None:
        raise SystemExit("pg_dump not found: sudo apt-get install -y postgresql-client-15 (or newer)")
    return found


def libpq_environment(database: Mapping[str, Any]) -> dict[str, str]:
    """Django's connection settings as libpq variables, so any DATABASE_URL django-environ reads (a socket
    directory as host included) reaches pg_dump the same way, with the password kept off the command line."""
    pairs = {
        "PGDATABASE": database.get("NAME"),
        "PGHOST": database.get("HOST"),
        "PGPORT": database.get("PORT"),
        "PGUSER": database.get("USER"),
        "PGPASSWORD": database.get("PASSWORD"),
        "PGSSLMODE": (database.get("OPTIONS") or {}).get("sslmode"),
    }
    return {name: str(value) for name, value in pairs.items() if value not in (None, "")}


def dump(database: Mapping[str, Any], directory: Path, now: datetime | None = None) -> Path:
    """Writes the dump under a temporary name and renames it when pg_dump has succeeded, so a file named
    .dump is always a whole one. Dumps hold personal data: the folder and files are private to the user."""
    now = now or datetime.now(UTC)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = directory / f"bookings-{now.astimezone(UTC):%Y%m%dT%H%M%SZ}.dump"
    partial = target.with_name(target.name + ".partial")
    environment = {**os.environ, **libpq_environment(database)}
    old_mask = os.umask(0o077)
    try:
        subprocess.run(
            [pg_dump_binary(), "--format=custom", "--no-password", f"--file={partial}"],
            env=environment,
            check=True,
        )
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finally:
        os.umask(old_mask)
    partial.rename(target)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--directory", type=Path, default=BACKUPS)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")
    from django.conf import settings

    database = settings.DATABASES["default"]
    try:
        target = dump(database, args.directory)
    except subprocess.CalledProcessError as error:
        print(f"pg_dump failed ({error.returncode}); nothing was written.", file=sys.stderr)
        return 1
    size = target.stat().st_size
    print(f"Wrote {target} ({size / 1024:.0f} KiB) from database {database['NAME']!r}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
