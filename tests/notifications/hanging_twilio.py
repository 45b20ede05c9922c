"""A Twilio stand-in that stops answering after N texts, so a test can kill a worker mid-send."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from twilio.http.response import Response

from notifications.fakes import RecordingTwilioClient


class HangingTwilioClient(RecordingTwilioClient):
    """Records texts like the recording fake until HANG_AFTER_TEXTS are in the spool, then never answers
    (before recording: Twilio has not accepted this one), after leaving a `hung` file beside the spool."""

    def request(self, method: str, uri: str, *args: Any, **kwargs: Any) -> Response:
        spool = Path(settings.SMS_SPOOL_DIR)
        if len(list(spool.iterdir())) >= int(os.environ["HANG_AFTER_TEXTS"]):
            (spool.parent / "hung").touch()
            time.sleep(3600)
        return super().request(method, uri, *args, **kwargs)
