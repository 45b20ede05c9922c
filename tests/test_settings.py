"""Production settings are safe by default: no secret, no DEBUG, and `check --deploy` clean."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_manage(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in (
            "SECRET_KEY",
            "DEBUG",
            "DJANGO_SETTINGS_MODULE",
            "DJANGO_ALLOW_ASYNC_UNSAFE",
            "ALLOWED_HOSTS",
            "PLATFORM_HOSTS",
        )
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


PRODUCTION = {
    "DJANGO_SETTINGS_MODULE": "config.settings.prod",
    "SECRET_KEY": "x" * 20 + "-a-long-random-production-secret-" + "y" * 20,
    "ALLOWED_HOSTS": "bookings.example.gov.uk,.example.gov.uk",
    "CALENDAR_SECRET_KEYS": "q5Tf2r2yGk3Z6u8o9mJ0bW1cX4vN7sA2dE5hK8pL1rY=",
}


def production_without(name: str) -> dict[str, str]:
    return {k: v for k, v in PRODUCTION.items() if k != name}


def test_production_refuses_to_start_without_a_secret_key() -> None:
    result = run_manage("check", **production_without("SECRET_KEY"))
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the SECRET_KEY environment variable" in result.stderr


def test_production_refuses_to_start_without_calendar_secret_keys() -> None:
    result = run_manage("check", **production_without("CALENDAR_SECRET_KEYS"))
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set CALENDAR_SECRET_KEYS" in result.stderr


@pytest.mark.parametrize("allowed_hosts", [None, ""])
def test_production_refuses_to_start_without_allowed_hosts(allowed_hosts: str | None) -> None:
    env = production_without("ALLOWED_HOSTS")
    if allowed_hosts is not None:
        env["ALLOWED_HOSTS"] = allowed_hosts
    result = run_manage("check", **env)
    assert result.returncode != 0
    assert "ImproperlyConfigured: Set the ALLOWED_HOSTS environment variable" in result.stderr


@pytest.mark.parametrize("debug", ["true", "1", "on"])
def test_production_refuses_to_start_with_debug_on(debug: str) -> None:
    result = run_manage("check", **PRODUCTION, DEBUG=debug)
    assert result.returncode != 0
    assert "ImproperlyConfigured: DEBUG is on with production settings" in result.stderr


def test_production_settings_pass_check_deploy() -> None:
    result = run_manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_takes_its_hosts_from_the_environment_and_no_platform_host_by_default() -> None:
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.DEBUG, s.ALLOWED_HOSTS, s.PLATFORM_HOSTS)",
        **PRODUCTION,
    )
    assert (
        result.stdout.strip().splitlines()[-1] == "False ['bookings.example.gov.uk', '.example.gov.uk'] []"
    ), result.stderr


def test_production_platform_hosts_are_only_the_named_ones() -> None:
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.PLATFORM_HOSTS)",
        **PRODUCTION,
        PLATFORM_HOSTS="ops.example.gov.uk",
    )
    assert result.stdout.strip().splitlines()[-1] == "['ops.example.gov.uk']", result.stderr


def test_production_throttles_sign_in() -> None:
    result = run_manage(
        "shell",
        "-c",
        "from django.conf import settings; print(settings.AUTHENTICATION_BACKENDS[0], settings.AXES_HANDLER)",
        **PRODUCTION,
    )
    line = result.stdout.strip().splitlines()[-1]
    assert line == "axes.backends.AxesStandaloneBackend axes.handlers.cache.AxesCacheHandler", result.stderr


# --- development settings: this checkout's own secret -----------------------------------------------------


def test_development_settings_publish_no_secret_key() -> None:
    source = (ROOT / "config" / "settings" / "dev.py").read_text()
    assert 'setdefault("SECRET_KEY"' not in source
    assert "dev-only-insecure-key" not in source


def test_the_checkout_secret_is_made_once_kept_private_and_read_back(tmp_path: Path) -> None:
    from config.settings.dev import checkout_secret_key

    path = tmp_path / ".local" / "secret_key"
    first = checkout_secret_key(path)
    assert len(first) >= 50
    assert path.read_text().strip() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert checkout_secret_key(path) == first
    assert [p.name for p in path.parent.iterdir()] == ["secret_key"]  # no drafts left behind
    assert checkout_secret_key(tmp_path / "another checkout") != first


def test_concurrent_first_starts_agree_on_one_secret(tmp_path: Path) -> None:
    from config.settings.dev import checkout_secret_key

    path = tmp_path / "secret_key"
    with ThreadPoolExecutor(max_workers=8) as pool:
        keys = set(pool.map(lambda _: checkout_secret_key(path), range(32)))
    assert keys == {path.read_text().strip()}


def test_development_settings_sign_with_the_checkout_secret(tmp_path: Path) -> None:
    """`manage.py` with no SECRET_KEY set uses .local/secret_key (git-ignored), and DEBUG follows DEBUG."""
    code = (
        "from django.conf import settings as s; "
        "print(s.SECRET_KEY == (s.BASE_DIR / '.local' / 'secret_key').read_text().strip(), s.DEBUG)"
    )
    on = run_manage("shell", "-c", code, DJANGO_SETTINGS_MODULE="config.settings.dev")
    assert on.stdout.strip().splitlines()[-1] == "True True", on.stderr
    off = run_manage("shell", "-c", code, DJANGO_SETTINGS_MODULE="config.settings.dev", DEBUG="false")
    assert off.stdout.strip().splitlines()[-1] == "True False", off.stderr
    assert ".local/" in (ROOT / ".gitignore").read_text().split()
