"""`make backup` (scripts/backup.py): a custom-format pg_dump that restores the way README says."""

from __future__ import annotations

import importlib.util
import os
import re
import stat
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from django.db import connection
from django_scopes import scopes_disabled

from accounts.models import Tenant
from config.database_url import database_url
from tests.factories import TenantFactory

ROOT = Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("backup", ROOT / "scripts" / "backup.py")
assert spec and spec.loader
backup = importlib.util.module_from_spec(spec)
spec.loader.exec_module(backup)


def pg(tool: str) -> str:
    return str(Path(backup.pg_dump_binary()).with_name(tool))


def libpq(name: str | None = None) -> dict[str, str]:
    settings = {**connection.settings_dict, **({"NAME": name} if name else {})}
    return {**os.environ, **backup.libpq_environment(settings)}


@pytest.fixture
def scratch_database():
    name = f"{connection.settings_dict['NAME']}_restore"
    subprocess.run([pg("dropdb"), "--if-exists", name], env=libpq("postgres"), check=True)
    subprocess.run([pg("createdb"), name], env=libpq("postgres"), check=True)
    yield name
    subprocess.run([pg("dropdb"), "--if-exists", name], env=libpq("postgres"), check=True)


def test_make_backup_dumps_the_database_url_database_and_it_restores(
    transactional_db, tmp_path: Path, scratch_database: str
) -> None:
    TenantFactory(name="Kept Council", slug="kept")
    result = subprocess.run(
        [sys.executable, "scripts/backup.py", "--directory", str(tmp_path)],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url(connection.settings_dict)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    [dump] = tmp_path.iterdir()
    assert re.fullmatch(r"bookings-\d{8}T\d{6}Z\.dump", dump.name)
    assert dump.read_bytes()[:5] == b"PGDMP"  # pg_dump's custom format
    assert stat.S_IMODE(dump.stat().st_mode) == 0o600
    assert str(dump) in result.stdout

    # README's restore, twice: into an empty database, then over the now-full one (the usual case).
    for _ in range(2):
        subprocess.run(
            [pg("pg_restore"), "--clean", "--if-exists", "--no-owner", "-d", scratch_database, str(dump)],
            env=libpq(scratch_database),
            check=True,
            capture_output=True,
        )
    count = subprocess.run(
        [pg("psql"), "-tAc", "select name from accounts_tenant where slug = 'kept'"],
        env=libpq(scratch_database),
        check=True,
        capture_output=True,
        text=True,
    )
    assert count.stdout.strip() == "Kept Council"
    with scopes_disabled():
        assert Tenant.objects.filter(slug="kept").exists()


def test_the_dump_is_named_by_utc_time_and_a_failed_dump_leaves_nothing(db, tmp_path: Path) -> None:
    moment = datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    written = backup.dump(connection.settings_dict, tmp_path, now=moment)
    assert written.name == "bookings-20260329T013000Z.dump"

    missing = {**connection.settings_dict, "NAME": "no_such_database_here"}
    with pytest.raises(subprocess.CalledProcessError):
        backup.dump(missing, tmp_path / "failed", now=moment)
    assert list((tmp_path / "failed").iterdir()) == []
