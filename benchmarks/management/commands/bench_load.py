"""Portal latency and booking throughput under load, each against the ceiling of the same stack.

    manage.py bench_load [--seconds 10] [--connections 16] [--workers 4] [--officers 50] [--days 60]

Builds a scratch tenant, serves it with gunicorn (production settings, sync workers, on 127.0.0.1) and
drives it with wrk (`apt-get install -y wrk`), each phase with the same connections for the same time:
first the ceiling, the cheapest view a tenant host serves (`GET /i18n/setlang/`, Django's language switch,
which answers a GET with an empty 204 and changes nothing) through the whole middleware stack (tenant
from the Host, session, CSRF, authentication); then the slot-list partial an htmx week change asks for;
then hold POSTs cycling through the free starts. partial_ratio and hold_ratio are their rates over the
ceiling's, so a figure reads against what this machine can serve at all. Then, with gunicorn stopped, as
many threads as connections call `booking_hold` directly for as long, which is what the same transaction
costs without HTTP, sessions, templates and the rate limiter. gunicorn, the scratch tenant and the
sessions the run made are removed whatever happens. The last line printed is one JSON object.
"""

from __future__ import annotations

import contextlib
import http.client
import itertools
import json
import os
import random
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from argparse import ArgumentParser
from collections import Counter
from collections.abc import Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.core.management.base import BaseCommand, CommandError
from django.db import connection
from django.test.utils import override_settings
from django.utils import timezone
from django.utils.module_loading import import_string
from django_scopes import scope

from benchmarks.scenarios import HOST_SUFFIX, Scenario, availability_scenario_create, scratch_tenant_delete
from bookings.availability import available_slots
from bookings.errors import SlotUnavailable
from bookings.models import Channel
from bookings.services import booking_hold
from config.database_url import database_url
from scheduling.models import AppointmentType

WRK_THREADS = 2
BOOKINGS_PER_OFFICER = 20
# Django takes an unmasked secret as the X-CSRFToken when the csrftoken cookie carries the same one, so
# every request can send one fixed pair (preflight() checks that it is what lets a hold through).
CSRF_SECRET_LENGTH = 32
UNLIMITED = "1000000/s"
HEALTH_TIMEOUT_SECONDS = 60
# The cheapest view on a tenant host: Django's set_language answers a GET that accepts no HTML with an
# empty 204 and sets nothing, after every middleware has run (an unknown host gets the 404 page instead).
CEILING_PATH = "/i18n/setlang/"
CEILING_HEADERS = {"Accept": "application/json"}
# wrk's --latency prints p50, p75, p90 and p99; the script's done() prints these as well.
SCRIPT_PERCENTILES = (95,)
STATUS_LINE = re.compile(r"^bench_load status (\d+) (\d+)$", re.MULTILINE)
PERCENTILE_LINE = re.compile(r"^bench_load percentile (\d+) (\d+)$", re.MULTILINE)
CHAINED = ("During handling of the above exception", "The above exception was the direct cause")
DURATION_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}


class Command(BaseCommand):
    help = "Measures portal latency and hold throughput through gunicorn with wrk (JSON on the last line)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--seconds", type=int, default=10, help="length of each phase")
        parser.add_argument("--connections", type=int, default=16, help="wrk connections; database threads")
        parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
        parser.add_argument("--officers", type=int, default=50)
        parser.add_argument("--days", type=int, default=60, help="window of free starts to hold")

    def handle(self, *args: Any, **options: Any) -> None:
        seconds, connections, workers, officers, days = (
            options[k] for k in ("seconds", "connections", "workers", "officers", "days")
        )
        if seconds < 1 or not WRK_THREADS <= connections <= 200 or workers < 1 or officers < 1:
            raise CommandError("Give seconds >= 1, 2 to 200 connections, workers >= 1 and officers >= 1.")
        if not 7 <= days <= 700:
            raise CommandError("Give 7 to 700 days: the partial asks for the window's first full week.")
        self.verbosity = options["verbosity"]
        wrk = shutil.which("wrk")
        if wrk is None:
            raise CommandError("wrk is not installed: apt-get install -y wrk")

        started = time.perf_counter()
        try:
            scenario = availability_scenario_create(
                officers=officers, days=days, bookings=officers * BOOKINGS_PER_OFFICER
            )
        except ValueError as error:
            raise CommandError(str(error)) from error
        host = f"{scenario.tenant.slug}.{HOST_SUFFIX}"
        self.stdout.write(
            f"built {scenario.tenant.slug}: {officers} officers, {scenario.bookings} bookings, "
            f"{scenario.start:%Y-%m-%d} to {scenario.end:%Y-%m-%d} in {time.perf_counter() - started:.1f} s"
        )
        server: Server | None = None
        try:
            starts = free_starts(scenario)
            self.stdout.write(f"{len(starts)} free starts of {scenario.appointment_type.name!r}")
            if not starts:
                raise CommandError("The scenario has no free start to hold.")
            static_files_collect()
            server = Server.start(workers=workers, stdout=self.stdout)
            ceiling, partial, hold = self._http_phases(
                wrk, server, scenario, host=host, starts=starts, seconds=seconds, connections=connections
            )
            server.stop()
            remaining = free_starts(scenario)
            self.stdout.write(
                f"{len(remaining)} free starts left; {connections} threads call booking_hold for {seconds} s"
            )
            direct = database_ceiling(
                scenario=scenario, starts=remaining, threads=connections, seconds=seconds
            )
        finally:
            if server is not None:
                server.stop()
                removed = sessions_delete(secret_key=server.secret_key, since=server.started_at)
                server.report_errors(self.stdout)
                server.close()
                self.stdout.write(f"deleted {removed} sessions the holds made")
            scratch_tenant_delete(tenant=scenario.tenant)
            self.stdout.write(f"deleted {scenario.tenant.slug}")

        self._report(ceiling, partial, hold, direct, options)

    def _http_phases(
        self,
        wrk: str,
        server: Server,
        scenario: Scenario,
        *,
        host: str,
        starts: Sequence[datetime],
        seconds: int,
        connections: int,
    ) -> tuple[WrkResult, WrkResult, WrkResult]:
        slug = scenario.appointment_type.slug
        monday = scenario.start.date() + timedelta(days=(7 - scenario.start.weekday()) % 7)
        partial_path = f"/services/{slug}/?week={monday.isoformat()}"
        hold_path = f"/services/{slug}/hold/"
        csrf = secrets.token_hex(CSRF_SECRET_LENGTH // 2)
        preflight(
            server.port, host=host, partial_path=partial_path, hold_path=hold_path, csrf=csrf, start=starts[0]
        )
        ceiling_preflight(server.port, host=host)
        self.stdout.write(
            f"gunicorn ({server.workers} sync workers) on 127.0.0.1:{server.port}, Host: {host}"
        )

        def run(name: str, script: str) -> WrkResult:
            with tempfile.NamedTemporaryFile("w", suffix=".lua", prefix=f"bench-{name}-") as file:
                file.write(script)
                file.flush()
                output = run_wrk(
                    wrk,
                    url=f"http://127.0.0.1:{server.port}",
                    script=file.name,
                    seconds=seconds,
                    connections=connections,
                )
            if self.verbosity > 1:
                self.stdout.write(output)
            try:
                result = parse_wrk_output(output)
            except ValueError as error:
                raise CommandError(str(error)) from error
            self.stdout.write(f"{name}: {result.describe()}")
            return result

        ceiling = run(
            "ceiling", wrk_script(host=host, method="GET", path=CEILING_PATH, headers=CEILING_HEADERS)
        )
        partial = run(
            "partial",
            wrk_script(
                host=host,
                method="GET",
                path=partial_path,
                headers={"HX-Request": "true"},
            ),
        )
        shuffled = list(starts)
        random.Random(0).shuffle(shuffled)  # spread concurrent holds over the window, not one morning
        hold = run(
            "hold",
            wrk_script(
                host=host,
                method="POST",
                path=hold_path,
                headers={
                    "Content-Type": "application/x-www-form-urlencoded",
                    "Cookie": f"csrftoken={csrf}",
                    "X-CSRFToken": csrf,
                },
                bodies=[urlencode({"start": start.isoformat()}) for start in shuffled],
                customers=True,  # many customers, one hold each: not one client under the live-hold cap
            ),
        )
        return ceiling, partial, hold

    def _report(
        self,
        ceiling: WrkResult,
        partial: WrkResult,
        hold: WrkResult,
        direct: HoldTally,
        options: Mapping[str, Any],
    ) -> None:
        summary = load_summary(ceiling=ceiling, partial=partial, hold=hold, direct=direct, options=options)
        self.stdout.write(
            f"ceiling, GET {CEILING_PATH} through gunicorn: {ceiling.requests_per_s:.1f} requests/s, "
            f"p50 {ceiling.latency_ms.get(50)} ms, p95 {ceiling.latency_ms.get(95)} ms"
            + (f"; NOT 204: {ceiling.not_ok(ok=(204,))}" if ceiling.not_ok(ok=(204,)) else "")
        )
        self.stdout.write(
            f"portal slot-list partial through gunicorn: {partial.requests_per_s:.1f} requests/s "
            f"({summary['partial_ratio']} of the ceiling), p50 {partial.latency_ms.get(50)} ms, "
            f"p95 {partial.latency_ms.get(95)} ms, p99 {partial.latency_ms.get(99)} ms"
            + (f"; NOT 200: {partial.not_ok()}" if partial.not_ok() else "")
        )
        others = hold.not_ok(ok=(302, 409))
        self.stdout.write(
            f"holds through gunicorn: {hold.requests_per_s:.1f} requests/s, "
            f"{summary['hold_rps']} holds placed/s ({summary['hold_ratio']} of the ceiling; "
            f"{summary['holds_placed']} placed, {summary['holds_taken']} taken, "
            f"{summary['hold_errors']} errors"
            + (f" {others}" if others else "")
            + f"), p50 {hold.latency_ms.get(50)} ms, p95 {hold.latency_ms.get(95)} ms, "
            f"p99 {hold.latency_ms.get(99)} ms"
        )
        self.stdout.write(
            f"booking_hold alone, {options['connections']} threads in one process: "
            f"{direct.placed_per_s:.1f} holds placed/s ({direct.placed} placed, {direct.taken} "
            f"SlotUnavailable, errors {dict(direct.errors) or 0}) over {direct.elapsed_s:.1f} s"
        )
        self.stdout.write(json.dumps(summary))


def load_summary(
    *,
    ceiling: WrkResult,
    partial: WrkResult,
    hold: WrkResult,
    direct: HoldTally,
    options: Mapping[str, Any],
) -> dict[str, Any]:
    """The last line's figures. A hold counts as placed on its 302 and as fairly lost on a 409 (another
    request took the slot first); any other status or failed socket is an error, as is anything but the
    ceiling's 204 and the partial's 200. The ratios are over the ceiling's requests/s, unrounded."""
    hold_seconds = hold.seconds or options["seconds"]
    placed, taken = hold.statuses.get(302, 0), hold.statuses.get(409, 0)
    holds_per_s = placed / hold_seconds
    return {
        "seconds": options["seconds"],
        "connections": options["connections"],
        "workers": options["workers"],
        "officers": options["officers"],
        "ceiling_path": CEILING_PATH,
        "ceiling_rps": round(ceiling.requests_per_s, 1),
        "ceiling_p50_ms": ceiling.latency_ms.get(50),
        "ceiling_p95_ms": ceiling.latency_ms.get(95),
        "ceiling_errors": ceiling.errors(ok=(204,)),
        "ceiling_non_2xx_3xx": ceiling.non_2xx_3xx,
        "ceiling_5xx": ceiling.server_errors(),
        "partial_rps": round(partial.requests_per_s, 1),
        "partial_p50_ms": partial.latency_ms.get(50),
        "partial_p95_ms": partial.latency_ms.get(95),
        "partial_p99_ms": partial.latency_ms.get(99),
        "partial_errors": partial.errors(ok=(200,)),
        "partial_non_2xx_3xx": partial.non_2xx_3xx,
        "partial_5xx": partial.server_errors(),
        "hold_rps": round(holds_per_s, 1),
        "hold_requests_rps": round(hold.requests_per_s, 1),
        "holds_placed": placed,
        "holds_taken": taken,
        "hold_errors": hold.errors(ok=(302, 409)),
        "hold_p50_ms": hold.latency_ms.get(50),
        "hold_p95_ms": hold.latency_ms.get(95),
        "hold_p99_ms": hold.latency_ms.get(99),
        "hold_non_2xx_3xx": hold.non_2xx_3xx,
        "hold_5xx": hold.server_errors(),
        "partial_ratio": _ratio(partial.requests_per_s, ceiling.requests_per_s),
        "hold_ratio": _ratio(holds_per_s, ceiling.requests_per_s),
        "db_ceiling_holds_per_s": round(direct.placed_per_s, 1),
        "db_holds_placed": direct.placed,
        "db_hold_errors": sum(direct.errors.values()),
    }


def _ratio(rate: float, ceiling: float) -> float | None:
    return round(rate / ceiling, 3) if ceiling else None


# --- wrk: the Lua script and its output ------------------------------------------------------------------


@dataclass(frozen=True)
class WrkResult:
    """What one wrk run printed: totals, latency percentiles in ms, and the status counts the script kept."""

    requests: int
    seconds: float
    requests_per_s: float
    latency_ms: dict[int, float]
    non_2xx_3xx: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    statuses: dict[int, int] = field(default_factory=dict)

    def not_ok(self, ok: Collection[int] = (200,)) -> dict[str, int]:
        """Responses with a status not in `ok`, and failed sockets, by status or error kind."""
        bad = {str(status): n for status, n in self.statuses.items() if status not in ok}
        return bad | {kind: n for kind, n in self.socket_errors.items() if n}

    def errors(self, ok: Collection[int]) -> int:
        """How many requests got a status not in `ok` or no response at all."""
        return sum(self.not_ok(ok).values())

    def server_errors(self) -> int:
        """How many responses were 5xx."""
        return sum(n for status, n in self.statuses.items() if 500 <= status <= 599)

    def describe(self) -> str:
        latency = ", ".join(f"p{p} {ms} ms" for p, ms in sorted(self.latency_ms.items()))
        statuses = " ".join(f"{status}:{n}" for status, n in sorted(self.statuses.items()))
        return f"{self.requests} requests in {self.seconds:.2f} s, {latency}; statuses {statuses or 'none'}"


def parse_wrk_output(text: str) -> WrkResult:
    """Reads wrk 4's summary (`--latency` percentiles included) and the `bench_load status` and
    `bench_load percentile` lines that the script's done() prints. Raises ValueError when the text is not
    a finished run's summary."""
    totals = re.search(r"^\s*(\d+) requests in ([\d.]+)(us|ms|s|m|h)\b", text, re.MULTILINE)
    rate = re.search(r"^Requests/sec:\s+([\d.]+)", text, re.MULTILINE)
    if totals is None or rate is None:
        raise ValueError(f"Not a wrk summary:\n{text}")
    latency: dict[int, float] = {}
    _, _, distribution = text.partition("Latency Distribution")
    for percent, value, unit in re.findall(
        r"^\s*(\d+(?:\.\d+)?)%\s+([\d.]+)(us|ms|s|m|h)\s*$", distribution, re.MULTILINE
    ):
        latency[round(float(percent))] = round(float(value) * DURATION_UNITS_MS[unit], 2)
    for percent, microseconds in PERCENTILE_LINE.findall(text):
        latency[int(percent)] = round(int(microseconds) / 1000, 2)
    non_2xx = re.search(r"^\s*Non-2xx or 3xx responses:\s+(\d+)", text, re.MULTILINE)
    errors = re.search(
        r"^\s*Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text, re.MULTILINE
    )
    return WrkResult(
        requests=int(totals.group(1)),
        seconds=float(totals.group(2)) * DURATION_UNITS_MS[totals.group(3)] / 1000,
        requests_per_s=float(rate.group(1)),
        latency_ms=latency,
        non_2xx_3xx=int(non_2xx.group(1)) if non_2xx else 0,
        socket_errors=dict(
            zip(("connect", "read", "write", "timeout"), map(int, errors.groups()), strict=True)
        )
        if errors
        else {},
        statuses={int(status): int(n) for status, n in STATUS_LINE.findall(text)},
    )


def wrk_script(
    *,
    host: str,
    method: str,
    path: str,
    headers: Mapping[str, str],
    bodies: Sequence[str] = (),
    customers: bool = False,
) -> str:
    """A wrk Lua script: `method path` with `headers` and the Host given (never resolved: wrk connects to
    the URL on the command line), a body per request cycling through `bodies` (already form-encoded),
    and a count of response statuses printed by done() as `bench_load status <code> <count>` lines, with
    the SCRIPT_PERCENTILES of latency as `bench_load percentile <percent> <microseconds>` lines.

    Each thread's counters live in its own Lua state, so setup() keeps the threads for done() to read.
    Thread n sends bodies n, n + threads, ..., so every body is sent once before any is sent twice.
    With `customers`, each request comes from its own address, as the X-Forwarded-For a trusted proxy
    (127.0.0.1 for the benchmark's gunicorn) appends: 10.a.b.c, counted up per request.
    """
    lua_headers = ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in {"Host": host, **headers}.items())
    lua_bodies = ",\n  ".join(_lua(body) for body in bodies)
    lua_percentiles = ", ".join(str(int(percent)) for percent in SCRIPT_PERCENTILES)
    return f"""-- Written by manage.py bench_load.
local threads = {{}}
local bodies = {{
  {lua_bodies}
}}
local method, path, headers = {_lua(method)}, {_lua(path)}, {{{lua_headers}}}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  statuses = {{}}
  step = {WRK_THREADS}
  index = id
end

function request()
  if {"true" if customers else "false"} then
    headers["X-Forwarded-For"] = string.format(
      "10.%d.%d.%d", math.floor(index / 65536) % 256, math.floor(index / 256) % 256, index % 256
    )
  end
  if #bodies == 0 then
    return wrk.format(method, path, headers)
  end
  local body = bodies[(index % #bodies) + 1]
  index = index + step
  return wrk.format(method, path, headers, body)
end

function response(status, response_headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {{}}
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      totals[status] = (totals[status] or 0) + count
    end
  end
  for status, count in pairs(totals) do
    io.write(string.format("bench_load status %d %d\\n", status, count))
  end
  for _, percent in ipairs({{{lua_percentiles}}}) do
    io.write(string.format("bench_load percentile %d %d\\n", percent, latency:percentile(percent)))
  end
end
"""


def _lua(value: str) -> str:
    """A Lua string literal. Only printable ASCII, whose JSON escapes (quote, backslash) Lua shares."""
    if not (value.isascii() and value.isprintable()):
        raise ValueError(f"Not printable ASCII, so not written into the wrk script: {value!r}")
    return json.dumps(value)


def run_wrk(wrk: str, *, url: str, script: str, seconds: int, connections: int) -> str:
    """What wrk printed on standard output."""
    command = [
        wrk,
        f"--threads={WRK_THREADS}",
        f"--connections={connections}",
        f"--duration={seconds}s",
        "--timeout=10s",
        "--latency",
        f"--script={script}",
        url,
    ]
    finished = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=False)
    if finished.returncode:
        raise CommandError(f"wrk failed ({finished.returncode}): {finished.stderr or finished.stdout}")
    return finished.stdout


# --- gunicorn --------------------------------------------------------------------------------------------


@dataclass
class Server:
    """gunicorn serving this checkout with production settings, its output kept in a temporary file."""

    process: subprocess.Popen[bytes]
    port: int
    workers: int
    secret_key: str
    started_at: datetime
    log: Any

    @classmethod
    def start(cls, *, workers: int, stdout: Any) -> Server:
        port = free_port()
        secret_key = secrets.token_urlsafe(50)
        gunicorn = Path(sys.executable).with_name("gunicorn")
        log = tempfile.NamedTemporaryFile("w+b", prefix="bench-gunicorn-", suffix=".log")  # noqa: SIM115
        started_at = timezone.now()
        process = subprocess.Popen(
            [
                str(gunicorn),
                "config.wsgi:application",
                f"--workers={workers}",
                "--worker-class=sync",
                f"--bind=127.0.0.1:{port}",
            ],
            cwd=settings.BASE_DIR,
            env=gunicorn_environment(secret_key=secret_key),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        server = cls(process, port, workers, secret_key, started_at, log)
        try:
            server.wait_healthy()
        except BaseException:
            server.stop()
            stdout.write(server.log_text()[-4000:])
            server.close()
            raise
        return server

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + HEALTH_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise CommandError(f"gunicorn exited with status {self.process.returncode}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if _request(self.port, "GET", "/healthz", {"Host": "localhost"})[0] == 200:
                    return
            time.sleep(0.2)
        raise CommandError(f"gunicorn did not answer /healthz with 200 in {HEALTH_TIMEOUT_SECONDS} s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def log_text(self) -> str:
        self.log.flush()
        self.log.seek(0)
        return self.log.read().decode(errors="replace")

    def report_errors(self, stdout: Any) -> None:
        """Prints what each exception the workers logged ended with (a 5xx's cause), with a count."""
        for line, count in server_errors(self.log_text()).most_common():
            stdout.write(f"gunicorn logged {count} x {line}")

    def close(self) -> None:
        self.log.close()


def gunicorn_environment(*, secret_key: str) -> dict[str, str]:
    """Production settings on this machine's database and Redis, with the portal's rate limits lifted so
    the run measures capacity, not the limiter; plain HTTP on 127.0.0.1 (no TLS to redirect to)."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.prod",
        "SECRET_KEY": secret_key,
        "ALLOWED_HOSTS": "*",  # the scratch tenant's host resolves through the Domain table
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "PORTAL_HOLD_RATE": UNLIMITED,
        "PORTAL_SUBMIT_RATE": UNLIMITED,
        "PORTAL_CODE_RATE": UNLIMITED,
        "PORTAL_SLOTS_RATE": UNLIMITED,
        # Behind a proxy, as in production: each hold comes from its own customer's address (wrk_script),
        # so the live-hold caps and their per-client lock stay as they are.
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "PYTHONUNBUFFERED": "1",
    }


def _database_url() -> str:
    try:
        return database_url(settings.DATABASES["default"])
    except ValueError as error:
        raise CommandError(f"Cannot hand this database to gunicorn: {error}") from error


def static_files_collect() -> None:
    """Runs collectstatic with the production settings, as a deployment does before gunicorn starts (see
    the Dockerfile): their manifest storage cannot name a static file without the manifest it writes, so
    every full page (the 409 a lost hold answers, for one) would fail with a 500."""
    finished = subprocess.run(
        [sys.executable, "manage.py", "collectstatic", "--noinput", "--verbosity=0"],
        cwd=settings.BASE_DIR,
        env=gunicorn_environment(secret_key=secrets.token_urlsafe(50)),
        capture_output=True,
        text=True,
        check=False,
    )
    if finished.returncode:
        raise CommandError(f"collectstatic failed:\n{finished.stderr or finished.stdout}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _request(
    port: int, method: str, path: str, headers: Mapping[str, str], body: str | None = None
) -> tuple[int, str]:
    client = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        client.request(method, path, body=body, headers=dict(headers))
        response = client.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        client.close()


def preflight(port: int, *, host: str, partial_path: str, hold_path: str, csrf: str, start: datetime) -> None:
    """Checks by hand what wrk will send: the partial answers 200; a hold POST with the CSRF cookie and
    header answers 302, and without the header 403 (so it is the token that lets the load through)."""
    status, body = _request(port, "GET", partial_path, {"Host": host, "HX-Request": "true"})
    if status != 200 or 'id="slot-picker"' not in body or "<html" in body:
        raise CommandError(f"GET {partial_path} answered {status}, not the slot-picker partial")
    form = {"Host": host, "Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={csrf}"}
    body = urlencode({"start": start.isoformat()})
    if (status := _request(port, "POST", hold_path, form, body)[0]) != 403:
        raise CommandError(f"A hold without the CSRF header answered {status}, not 403")
    if (status := _request(port, "POST", hold_path, {**form, "X-CSRFToken": csrf}, body)[0]) != 302:
        raise CommandError(f"A hold with the CSRF cookie and header answered {status}, not 302")


def ceiling_preflight(port: int, *, host: str) -> None:
    """Checks that the ceiling's view answers the tenant host with an empty 204, and an unknown host with
    the 404 page: so it is served inside the tenant's resolution, not beside it as /healthz is."""
    status, body = _request(port, "GET", CEILING_PATH, {"Host": host, **CEILING_HEADERS})
    if status != 204 or body:
        raise CommandError(
            f"GET {CEILING_PATH} answered {status} with {len(body)} characters, not an empty 204"
        )
    unknown = f"unknown-{secrets.token_hex(4)}.{HOST_SUFFIX}"
    if (status := _request(port, "GET", CEILING_PATH, {"Host": unknown, **CEILING_HEADERS})[0]) != 404:
        raise CommandError(f"GET {CEILING_PATH} on an unknown host answered {status}, not 404")


def server_errors(log: str) -> Counter[str]:
    """The exception each traceback in a log ended with (what a 5xx died of), counted. Of a chain of
    exceptions only the last is counted: the ones it was raised while handling are its context."""
    found: Counter[str] = Counter()
    lines = log.splitlines()
    for number, line in enumerate(lines):
        if not line.startswith("Traceback (most recent call last):"):
            continue
        rest = iter(lines[number + 1 :])
        ending = next((text for text in rest if text and not text.startswith((" ", "\t", "^", "~"))), None)
        if ending is not None and not next((text for text in rest if text.strip()), "").startswith(CHAINED):
            found[ending.strip()[:300]] += 1
    return found


# --- the same transaction without HTTP -------------------------------------------------------------------


@dataclass
class HoldTally:
    placed: int = 0
    taken: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    elapsed_s: float = 0.0

    @property
    def placed_per_s(self) -> float:
        return self.placed / self.elapsed_s if self.elapsed_s else 0.0


def free_starts(scenario: Scenario) -> list[datetime]:
    """Every start of the scenario's type still bookable in its window (each by as many holds as it has
    free officers)."""
    with scope(tenant=scenario.tenant):
        slots = available_slots(scenario.appointment_type, scenario.start, scenario.end, now=timezone.now())
    return [slot.start for slot in slots]


def database_ceiling(
    *, scenario: Scenario, starts: Sequence[datetime], threads: int, seconds: int
) -> HoldTally:
    """`threads` threads, each on its own connection inside the tenant's scope, call `booking_hold` on
    `starts` in turn (shuffled, as the load was) for `seconds` seconds from a common release.

    One process, so Python's share of the work is serialised by the GIL: a floor for what the database
    sustains, comparable with what gunicorn's workers reach together.
    """
    tally = HoldTally()
    if not starts:
        return tally
    shuffled = list(starts)
    random.Random(1).shuffle(shuffled)
    sequence: Iterator[datetime] = itertools.cycle(shuffled)
    lock = threading.Lock()
    barrier = threading.Barrier(threads + 1, timeout=60)
    deadline = [0.0]

    def next_start() -> datetime:
        with lock:
            return next(sequence)

    def work() -> None:
        released = False
        placed = taken = 0
        errors: Counter[str] = Counter()
        try:
            with scope(tenant=scenario.tenant):
                appointment_type = AppointmentType.objects.select_related("tenant").get(
                    pk=scenario.appointment_type.pk
                )
                barrier.wait()
                released = True
                while time.perf_counter() < deadline[0]:
                    try:
                        booking_hold(
                            appointment_type=appointment_type, starts_at=next_start(), channel=Channel.PORTAL
                        )
                        placed += 1
                    except SlotUnavailable:
                        taken += 1
        except Exception as error:  # counted and reported: the run goes on in the other threads
            errors[type(error).__name__] += 1
            if not released:
                barrier.abort()
        finally:
            connection.close()
            with lock:
                tally.placed += placed
                tally.taken += taken
                tally.errors.update(errors)

    # The command runs with the development settings; DEBUG would log every query, which gunicorn does not.
    with override_settings(DEBUG=False):
        workers = [threading.Thread(target=work, name=f"hold-{n}") for n in range(threads)]
        for worker in workers:
            worker.start()
        deadline[0] = time.perf_counter() + seconds
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait()
        released = time.perf_counter()
        for worker in workers:
            worker.join()
        tally.elapsed_s = time.perf_counter() - released
    return tally


# --- clean-up --------------------------------------------------------------------------------------------


def sessions_delete(*, secret_key: str, since: datetime) -> int:
    """Deletes the sessions gunicorn made (each placed hold starts one): those signed with the run's own
    random SECRET_KEY, which nothing else can have signed. A cache-backed engine's sessions just expire."""
    store = import_string(f"{settings.SESSION_ENGINE}.SessionStore")()
    model = getattr(type(store), "get_model_class", None)
    if model is None:
        return 0
    sessions = model().objects.filter(
        expire_date__gte=since + timedelta(seconds=settings.SESSION_COOKIE_AGE - 60)
    )
    ours = []
    for key, data in sessions.values_list("session_key", "session_data").iterator():
        with contextlib.suppress(signing.BadSignature, ValueError):
            signing.loads(data, key=secret_key, salt=store.key_salt, serializer=store.serializer)
            ours.append(key)
    deleted = 0
    for first in range(0, len(ours), 1000):
        deleted += model().objects.filter(session_key__in=ours[first : first + 1000]).delete()[0]
    return deleted
