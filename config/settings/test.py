"""The test suite: real PostgreSQL and Redis (the project-local ones unless URLs are set)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key")
os.environ.setdefault("DEBUG", "false")

from .base import *  # noqa: F403

# Tools, not product: demo data and benchmarks exist in development and tests only.
INSTALLED_APPS = [*INSTALLED_APPS, "demo", "benchmarks"]  # noqa: F405

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
# Each xdist worker gets a Redis database of its own, so a test may clear the cache (rate-limit counters,
# one-time codes) without touching another worker's keys.
_worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
# Two suites run side by side (two checkouts' helpers) give each its own range of databases.
_first_db = int(os.environ.get("TEST_REDIS_DB_BASE", "1"))
_separator = "&" if "?" in REDIS_URL else "?"  # noqa: F405
CACHES["default"]["LOCATION"] = f"{REDIS_URL}{_separator}db={1 + (_first_db - 1 + int(_worker or 0)) % 15}"  # noqa: F405
# Only the tests trade durability for speed, and only for their own connections: a commit does not wait for
# its WAL flush, which on a crash loses at most the last commits and never corrupts anything. The cluster
# itself stays durable (fsync and full-page writes on) for the data `make run` keeps.
_db_options = DATABASES["default"].setdefault("OPTIONS", {})  # noqa: F405
_db_options["options"] = f"{_db_options.get('options', '')} -c synchronous_commit=off".strip()
CELERY_TASK_ALWAYS_EAGER = False
TWILIO_HTTP_CLIENT = "notifications.fakes.RecordingTwilioClient"
TWILIO_ACCOUNT_SID = "ACtest"
TWILIO_AUTH_TOKEN = "test-token"
TWILIO_FROM_NUMBER = "+447700900000"
# The tests' customers have Ofcom's drama numbers (07700 900xxx); tests of the production rule turn it off.
PHONE_ACCEPT_DRAMA_NUMBERS = True
# Postmark's delivery reports, as a provider's documented payloads exercise them (tests/notifications).
EMAIL_TRACKING_ESPS = ["postmark"]
ANYMAIL = {**ANYMAIL, "WEBHOOK_SECRET": "anymail:test-webhook-secret"}  # noqa: F405
# Tests serve static files through the finders; there is no collected STATIC_ROOT to point WhiteNoise at.
STATIC_ROOT = None
WHITENOISE_USE_FINDERS = True
CALDAV_ALLOW_PRIVATE_ADDRESSES = True  # a local Radicale over plain HTTP
