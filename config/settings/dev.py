"""Local development (`make dev`) and the local server (`make run`, DEBUG=false).

`manage.py` works with no variables set: the secret is this checkout's own, made on first use and kept in
`.local/secret_key` (git-ignored), never a key published in the source. DEBUG is on unless DEBUG=false.
"""

import contextlib
import os
import secrets
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

SECRET_KEY_FILE = Path(__file__).resolve().parents[2] / ".local" / "secret_key"


def checkout_secret_key(path: Path = SECRET_KEY_FILE) -> str:
    """The key in `path`, made there first if there is none. Safe when several processes start at once:
    the key is written to a private temporary file and linked into place, so a reader never sees half a
    key and the first writer wins."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(50) + "\n")
        try:
            with contextlib.suppress(FileExistsError):
                os.link(draft, path)
        finally:
            draft.unlink()
    key = path.read_text().strip()
    if len(key) < 50:
        raise ImproperlyConfigured(f"{path} holds no usable key: delete it and a new one is made.")
    return key


if not os.environ.get("SECRET_KEY"):
    os.environ["SECRET_KEY"] = checkout_secret_key()
os.environ.setdefault("DEBUG", "true")

from .base import *  # noqa: E402, F403

# Tools, not product: demo data and benchmarks exist in development and tests only.
INSTALLED_APPS = [*INSTALLED_APPS, "demo", "benchmarks"]  # noqa: F405

if DEBUG:  # noqa: F405
    # runserver serves static files from the apps' folders as they change; with DEBUG off (`make run`) they
    # come, as in production, from the hashed, compressed copies that collectstatic put in STATIC_ROOT.
    STORAGES["staticfiles"]["BACKEND"] = "django.contrib.staticfiles.storage.StaticFilesStorage"  # noqa: F405
# Email goes by SMTP to the mail catcher `make run` starts on localhost:1025 (base settings), which keeps each
# message in .local/mail/; texts go to the recording fake, which `make run` has write to .local/mail/sms/.
TWILIO_HTTP_CLIENT = env.str("TWILIO_HTTP_CLIENT", default="notifications.fakes.RecordingTwilioClient")  # noqa: F405
TWILIO_ACCOUNT_SID = env.str("TWILIO_ACCOUNT_SID", default="ACdev")  # noqa: F405
TWILIO_AUTH_TOKEN = env.str("TWILIO_AUTH_TOKEN", default="dev-token")  # noqa: F405
TWILIO_FROM_NUMBER = env.str("TWILIO_FROM_NUMBER", default="+447700900000")  # noqa: F405
# The demo's customers have Ofcom's drama numbers.
PHONE_ACCEPT_DRAMA_NUMBERS = env.bool("PHONE_ACCEPT_DRAMA_NUMBERS", default=True)  # noqa: F405
PUBLIC_URL_SCHEME = env.str("PUBLIC_URL_SCHEME", default="http")  # noqa: F405
PUBLIC_URL_PORT = env.str("PUBLIC_URL_PORT", default=env.str("PORT", default="8000"))  # noqa: F405
CALDAV_ALLOW_PRIVATE_ADDRESSES = True  # a local Radicale over plain HTTP
