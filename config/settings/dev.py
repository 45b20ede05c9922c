"""Local development: DEBUG on and a throwaway secret, so `manage.py` works with no variables set."""

import os

os.environ.setdefault("SECRET_KEY", "dev-only-insecure-key-never-used-in-production")
os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: F403

# Tools, not product: demo data and benchmarks exist in development and tests only.
INSTALLED_APPS = [*INSTALLED_APPS, "demo", "benchmarks"]  # noqa: F405

STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")  # noqa: F405
TWILIO_HTTP_CLIENT = env.str("TWILIO_HTTP_CLIENT", default="notifications.fakes.RecordingTwilioClient")  # noqa: F405
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="ACdev")  # noqa: F405
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="dev-token")  # noqa: F405
