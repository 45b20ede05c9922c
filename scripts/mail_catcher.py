#!/usr/bin/env python3
"""A local SMTP server that keeps every message it is given as an .eml file, and delivers nothing.

`make run` and `make dev` start it (Procfile: `mail`) on 127.0.0.1:1025, where the development settings
send email, so every message the application sends can be opened from `.local/mail/<time>-<id>.eml`:

    .venv/bin/python scripts/mail_catcher.py [--dir .local/mail] [--host 127.0.0.1] [--port 1025]
"""

from __future__ import annotations

import argparse
import os
import secrets
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

ROOT = Path(__file__).resolve().parents[1]


class SpoolHandler:
    """aiosmtpd handler: each message's content, as received, in a file of its own."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.store(envelope.original_content or envelope.content)
        return "250 Message accepted for delivery"

    def store(self, content: bytes) -> Path:
        path = self.folder / f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{secrets.token_hex(4)}.eml"
        # O_EXCL: a name taken already (never, in practice) fails loudly instead of overwriting.
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as file:
            file.write(content)
        return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=ROOT / ".local" / "mail", help="where to keep messages")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    args = parser.parse_args(argv)

    controller = Controller(SpoolHandler(args.dir), hostname=args.host, port=args.port)
    controller.start()
    print(f"Mail catcher on {args.host}:{args.port}: messages are kept in {args.dir}/", flush=True)
    stop = threading.Event()
    for number in (signal.SIGINT, signal.SIGTERM):
        signal.signal(number, lambda *_: stop.set())
    stop.wait()
    controller.stop()


if __name__ == "__main__":
    main()
