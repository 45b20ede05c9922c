"""A local HTTP service for the geocoder and travel-matrix tests: it records every request and answers with
whatever the test's `answer(path, query)` returns, so no test ever calls the internet. Test modules wrap
`running_service()` in a fixture."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

Answer = tuple[int, object]  # status and a JSON-able body (bytes are sent as they are)


@dataclass
class FakeService:
    url: str
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    answer: Callable[[str, dict[str, str]], Answer] = lambda path, query: (404, {"code": "NotFound"})


def free_port() -> int:
    """A port nothing listens on (bound once and released): a service that does not answer."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_service() -> Iterator[FakeService]:
    service = FakeService(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parts = urlsplit(self.path)
            query = {k: v[0] for k, v in parse_qs(parts.query).items()}
            path = unquote(parts.path)
            service.requests.append((path, query))
            status, body = service.answer(path, query)
            data = body if isinstance(body, bytes) else json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
