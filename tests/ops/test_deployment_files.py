"""What ships and how it starts: no demo data outside development, production settings demand their values,
and the local PostgreSQL keeps what `make run` writes."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_docker_compose_makes_the_operator_from_the_environment_and_seeds_no_demo_data() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    assert "seed_demo" not in compose
    assert "python manage.py migrate --noinput && python manage.py operator_ensure" in compose
    for name in ("SECRET_KEY", "ALLOWED_HOSTS", "DJANGO_SUPERUSER_EMAIL", "DJANGO_SUPERUSER_PASSWORD"):
        # Required (`:?`), never defaulted: compose refuses to start without them.
        assert re.search(rf"{name}: \$\{{{name}:\?", compose), name


def test_the_image_builds_with_production_settings_and_runs_gunicorn() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "DJANGO_SETTINGS_MODULE=config.settings.prod" in dockerfile
    assert 'CMD ["gunicorn"' in dockerfile
    assert "seed_demo" not in dockerfile


def test_make_run_serves_with_gunicorn_and_debug_off_and_make_dev_with_runserver() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "run: export DEBUG = false" in makefile
    assert "dev: export DEBUG = true" in makefile
    assert "seed_demo --i-know-this-is-not-production" in makefile
    assert re.search(
        r"^web: \.venv/bin/gunicorn config\.wsgi:application --bind 0\.0\.0\.0:\$PORT",
        (ROOT / "Procfile").read_text(),
        re.M,
    )
    assert "manage.py runserver 0.0.0.0:$PORT" in (ROOT / "Procfile.dev").read_text()


def test_the_local_postgresql_is_durable() -> None:
    services = (ROOT / "scripts" / "services.sh").read_text()
    [server_options] = re.findall(r'"-c listen_addresses=.*"', services)
    for durability_off in ("fsync=off", "full_page_writes=off", "synchronous_commit=off"):
        assert durability_off not in server_options
    assert "-c fsync=on -c full_page_writes=on" in server_options


def test_the_tests_own_connections_do_not_wait_for_the_wal_flush(db) -> None:
    from django.db import connection

    assert "-c synchronous_commit=off" in connection.settings_dict["OPTIONS"]["options"]
    with connection.cursor() as cursor:
        cursor.execute("show synchronous_commit")
        assert cursor.fetchone() == ("off",)
