"""Stand-ins for the providers at their edge (tests, `make run`, benchmarks): nothing leaves the machine.

- `RecordingTwilioClient` (TWILIO_HTTP_CLIENT): answers like Twilio's API, keeps each text in `sent`, and,
  when settings.SMS_SPOOL_DIR is set, writes it there as one JSON file (`make run`: `.local/mail/sms/`).
  Like Twilio's test credentials, it refuses Twilio's magic test numbers with their documented errors, so a
  test can make one message fail for good while others go: +15005550001 (21211, invalid number),
  +15005550002 (21612, cannot be reached), +15005550003 (21408, no permission for that country),
  +15005550004 (21610, texted STOP), +15005550009 (21614, not a mobile).
- `FailingTwilioClient`: Twilio having an outage (HTTP 503, error 20500) for every text: a transient failure.
- `UnreachableTwilioClient`: Twilio cannot be reached at all (connection refused): a transient failure.
- `SpoolEmailBackend` (EMAIL_BACKEND): writes each email as an .eml file in settings.EMAIL_SPOOL_DIR, as an
  SMTP server would receive it.
- `PostmarkSpoolBackend` (EMAIL_BACKEND): anymail's Postmark backend, the way production sends through an
  ESP, with its HTTP session replaced: each API call's JSON body goes to settings.EMAIL_SPOOL_DIR as a .json
  file and gets Postmark's documented reply. One session serves every email sent over one connection.
"""

from __future__ import annotations

import json
import logging
import os
import uuid
from pathlib import Path
from typing import Any, ClassVar

import requests
from anymail.backends.postmark import EmailBackend as PostmarkBackend
from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage
from django.utils import timezone
from twilio.http import HttpClient
from twilio.http.response import Response

# Twilio's magic test numbers (https://www.twilio.com/docs/iam/test-credentials) and the errors it gives.
MAGIC_NUMBERS = {
    "+15005550001": (21211, "The 'To' number is not a valid phone number."),
    "+15005550002": (21612, "The 'To' phone number is not currently reachable via SMS."),
    "+15005550003": (21408, "Permission to send an SMS has not been enabled for the region."),
    "+15005550004": (21610, "Attempt to send to unsubscribed recipient"),
    "+15005550009": (21614, "'To' number is not a valid mobile number"),
}


class RecordingTwilioClient(HttpClient):
    sent: ClassVar[list[dict[str, Any]]] = []

    def __init__(self) -> None:
        super().__init__(logger=logging.getLogger("twilio.http_client"), is_async=False)

    def request(
        self,
        method: str,
        uri: str,
        params: Any = None,
        data: Any = None,
        headers: Any = None,
        auth: Any = None,
        timeout: Any = None,
        allow_redirects: bool = False,
    ) -> Response:
        record = {"method": method, "uri": uri, **(data or {})}
        if record.get("To") in MAGIC_NUMBERS:
            code, text = MAGIC_NUMBERS[record["To"]]
            return _error(400, code, text)
        self.sent.append(record)
        sid = "SM" + uuid.uuid4().hex
        if settings.SMS_SPOOL_DIR:
            _spool(record, sid)
        body = {
            "sid": sid,
            "status": "queued",
            "to": record.get("To"),
            "from": record.get("From"),
            "body": record.get("Body"),
        }
        return Response(201, json.dumps(body))


class FailingTwilioClient(RecordingTwilioClient):
    """Twilio answering every text with an outage, as for a suspended account or its own trouble."""

    def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Response:
        return _error(503, 20500, "Service unavailable")


class UnreachableTwilioClient(RecordingTwilioClient):
    def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Response:
        raise ConnectionRefusedError("connection refused")


def _error(status: int, code: int, text: str) -> Response:
    return Response(status, json.dumps({"code": code, "message": text, "status": status}))


def _spool(record: dict[str, Any], sid: str) -> None:
    now = timezone.now()
    text = {
        "to": record.get("To"),
        "from": record.get("From"),
        "body": record.get("Body"),
        "sid": sid,
        "status_callback": record.get("StatusCallback", ""),
        "time": now.isoformat(),
    }
    _write_new(Path(settings.SMS_SPOOL_DIR), f"{now:%Y%m%dT%H%M%S%f}-{sid}.json", json.dumps(text).encode())


def _write_new(folder: Path, name: str, content: bytes) -> None:
    """Writes a file that must not exist yet (O_EXCL): two processes never overwrite each other's."""
    folder.mkdir(parents=True, exist_ok=True)
    descriptor = os.open(folder / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(content)


class SpoolEmailBackend(BaseEmailBackend):
    """Writes each email, as it would go on the wire, to EMAIL_SPOOL_DIR/<time>-<random>.eml."""

    def send_messages(self, email_messages: list[EmailMessage]) -> int:
        folder = Path(settings.EMAIL_SPOOL_DIR)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex}.eml"
            _write_new(folder, name, message.message().as_bytes(linesep="\r\n"))
        return len(email_messages)


class PostmarkSpoolBackend(PostmarkBackend):
    """anymail's Postmark backend whose HTTP calls land in EMAIL_SPOOL_DIR (see the module's docstring)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("server_token", "POSTMARK_API_TEST")
        super().__init__(**kwargs)

    def create_session(self) -> requests.Session:
        return _PostmarkSpoolSession()


class _PostmarkSpoolSession(requests.Session):
    def request(self, method: str, url: str, *args: Any, data: str | bytes = b"", **kwargs: Any) -> Any:
        # https://postmarkapp.com/developer/api/email-api#send-a-single-email
        sent = json.loads(data)
        message_id = str(uuid.uuid4())
        _write_new(
            Path(settings.EMAIL_SPOOL_DIR),
            f"{message_id}.json",
            data if isinstance(data, bytes) else data.encode(),
        )
        response = requests.Response()
        response.status_code = 200
        response.url = url
        response.encoding = "utf-8"
        response.headers["Content-Type"] = "application/json"
        response._content = json.dumps(
            {
                "To": sent["To"],
                "SubmittedAt": timezone.now().isoformat(),
                "MessageID": message_id,
                "ErrorCode": 0,
                "Message": "OK",
            }
        ).encode()
        return response
