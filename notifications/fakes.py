"""A Twilio HTTP client that records requests and answers like Twilio, for tests and `make run`."""

from __future__ import annotations

import json
import logging
import uuid
from typing import Any, ClassVar

from twilio.http import HttpClient
from twilio.http.response import Response


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
        self.sent.append(record)
        sid = "SM" + uuid.uuid4().hex
        body = {
            "sid": sid,
            "status": "queued",
            "to": record.get("To"),
            "from": record.get("From"),
            "body": record.get("Body"),
        }
        return Response(201, json.dumps(body))
