"""The layout README describes: tools are not product, and the layers hold (checked by import-linter)."""

from __future__ import annotations

import importlib
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

BASE = Path(__file__).resolve().parents[1]
TOOLS = ("demo", "benchmarks")
PRODUCT_APPS = ("accounts", "scheduling", "notifications", "bookings", "integrations", "reporting")


def test_production_settings_install_no_tools(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 50)
    monkeypatch.setenv("ALLOWED_HOSTS", "bookings.example")
    monkeypatch.setenv("CALENDAR_SECRET_KEYS", "q5Tf2r2yGk3Z6u8o9mJ0bW1cX4vN7sA2dE5hK8pL1rY=")
    sys.modules.pop("config.settings.prod", None)
    prod = importlib.import_module("config.settings.prod")
    assert not set(TOOLS) & set(prod.INSTALLED_APPS)
    assert set(PRODUCT_APPS) <= set(prod.INSTALLED_APPS)


def test_the_image_leaves_the_tools_out() -> None:
    ignored = (BASE / ".dockerignore").read_text().split()
    assert set(TOOLS) <= set(ignored)
    dockerfile = (BASE / "Dockerfile").read_text()
    assert not any(f"COPY {tool}" in dockerfile for tool in TOOLS)


def test_a_wrong_way_import_breaks_the_build(tmp_path: Path) -> None:
    """lint-imports fails, naming the import, when a lower layer imports a higher one inside a function."""
    for package in (*PRODUCT_APPS, *TOOLS, "config"):
        shutil.copytree(BASE / package, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(BASE / "pyproject.toml", tmp_path)
    services = tmp_path / "scheduling" / "services.py"
    wrong_way = "\n\ndef probe() -> None:\n    from bookings.models import Booking  # noqa: F401\n"
    services.write_text(services.read_text() + wrong_way)
    result = subprocess.run(
        [str(BASE / ".venv" / "bin" / "lint-imports")], cwd=tmp_path, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "scheduling is not allowed to import bookings" in result.stdout
    assert "scheduling.services -> bookings.models" in result.stdout
