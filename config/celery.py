"""The Celery app. The tenant-aware base task lives with tenancy, in `accounts.tasking`."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.dev")

app = Celery("bookings")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
