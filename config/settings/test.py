"""The test suite: real PostgreSQL and Redis (the project-local ones unless URLs are set)."""

import os

os.environ.setdefault("SECRET_KEY", "test-only-insecure-key")
os.environ.setdefault("DEBUG", "false")

from .base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
EMAIL_BACKEND = "anymail.backends.test.EmailBackend"
CACHES["default"]["KEY_PREFIX"] = f"test-{os.getpid()}"  # noqa: F405
CELERY_TASK_ALWAYS_EAGER = False
