"""Settings for worker processes a test starts: the test settings, with the fake providers writing to the
spool directories the test reads (so what a killed process sent is still on disk)."""

import os

from config.settings.test import *  # noqa: F403

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "notifications.fakes.SpoolEmailBackend")
EMAIL_SPOOL_DIR = os.environ["EMAIL_SPOOL_DIR"]
SMS_SPOOL_DIR = os.environ["SMS_SPOOL_DIR"]
TWILIO_HTTP_CLIENT = os.environ.get("TWILIO_HTTP_CLIENT", "notifications.fakes.RecordingTwilioClient")
