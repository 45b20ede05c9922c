"""The pure parts of `manage.py bench_load`: reading wrk's output, writing its Lua script, passing the
database to gunicorn and reading what gunicorn's workers died of. No wrk, network or database needed;
the command itself needs wrk (`apt-get install -y wrk`), which CI does not install, so it is run by hand.

The wrk outputs are captured from real runs of wrk 4.1.0 (Debian's package)."""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.management.commands.bench_load import (
    CEILING_PATH,
    HoldTally,
    WrkResult,
    load_summary,
    parse_wrk_output,
    server_errors,
    wrk_script,
)

# GET of the slot-list partial through gunicorn, with the command's script (all 200).
PARTIAL = """\
Running 10s test @ http://127.0.0.1:46599
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   376.43ms   39.86ms 531.75ms   80.48%
    Req/Sec    21.15      8.42    40.00     49.46%
  Latency Distribution
     50%  378.99ms
     75%  396.56ms
     90%  415.34ms
     99%  460.68ms
  420 requests in 10.07s, 8.66MB read
Requests/sec:     41.70
Transfer/sec:      0.86MB
bench_load status 200 420
"""

# Hold POSTs through gunicorn: one lost its race (409, which wrk counts as "Non-2xx or 3xx").
HOLD = """\
Running 10s test @ http://127.0.0.1:46599
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   411.99ms   61.08ms 809.99ms   87.47%
    Req/Sec    20.19     10.04    40.00     55.62%
  Latency Distribution
     50%  407.87ms
     75%  432.37ms
     90%  453.23ms
     99%  730.46ms
  383 requests in 10.10s, 220.61KB read
  Non-2xx or 3xx responses: 1
Requests/sec:     37.93
Transfer/sec:     21.85KB
bench_load status 409 1
bench_load status 302 382
"""

# A slow test server: a percentile in seconds (wrk pads the unit with a space, written \x20 here) and 5xx
# among the statuses.
SECONDS_AND_ERRORS = """\
Running 3s test @ http://127.0.0.1:48125/
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   151.41ms  277.71ms   1.24s    88.29%
    Req/Sec    97.69     41.84   200.00     76.92%
  Latency Distribution
     50%   43.97ms
     75%   44.06ms
     90%  586.43ms
     99%    1.24s\x20
  516 requests in 3.00s, 60.12KB read
  Non-2xx or 3xx responses: 111
Requests/sec:    171.73
Transfer/sec:     20.01KB
bench_load status 302 405
bench_load status 500 53
bench_load status 409 58
"""

# Requests that outlived --timeout, without the command's script (so no status lines).
TIMEOUTS = """\
Running 3s test @ http://127.0.0.1:48124/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    35.12ms   17.23ms  46.10ms   77.78%
    Req/Sec    21.75     21.06    70.00     87.50%
  Latency Distribution
     50%   43.98ms
     75%   44.03ms
     90%   44.84ms
     99%   46.10ms
  44 requests in 3.00s, 5.14KB read
  Socket errors: connect 0, read 0, write 0, timeout 8
  Non-2xx or 3xx responses: 24
Requests/sec:     14.65
Transfer/sec:      1.71KB
"""

# One run of `bench_load --seconds 3 --connections 16` on a busy two-core machine, with the command's script
# (which adds the p95 line): the ceiling's empty 204s, the slot-list partial, then hold POSTs.
RUN_CEILING = """\
Running 3s test @ http://127.0.0.1:47245
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   179.46ms   33.63ms 450.89ms   83.59%
    Req/Sec    43.10     11.98    71.00     60.34%
  Latency Distribution
     50%  176.40ms
     75%  189.67ms
     90%  211.15ms
     99%  266.61ms
  261 requests in 3.02s, 80.54KB read
Requests/sec:     86.50
Transfer/sec:     26.69KB
bench_load status 204 261
bench_load percentile 95 235109
"""

RUN_PARTIAL = """\
Running 3s test @ http://127.0.0.1:47245
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02s   264.34ms   1.38s    71.05%
    Req/Sec     9.52      7.47    29.00     68.00%
  Latency Distribution
     50%    1.11s\x20
     75%    1.17s\x20
     90%    1.31s\x20
     99%    1.38s\x20
  38 requests in 3.10s, 803.23KB read
Requests/sec:     12.25
Transfer/sec:    258.84KB
bench_load status 200 38
bench_load percentile 95 1370495
"""

RUN_HOLD = """\
Running 3s test @ http://127.0.0.1:47245
  2 threads and 16 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.59s   404.67ms   2.31s    63.64%
    Req/Sec     8.48      4.34    20.00     76.19%
  Latency Distribution
     50%    1.63s\x20
     75%    1.88s\x20
     90%    2.11s\x20
     99%    2.31s\x20
  22 requests in 3.02s, 11.32KB read
Requests/sec:      7.27
Transfer/sec:      3.74KB
bench_load status 302 22
bench_load percentile 95 2181450
"""

OPTIONS = {"seconds": 3, "connections": 16, "workers": 4, "officers": 50}
LAST_LINE_KEYS = {
    "ceiling_rps",
    "partial_rps",
    "partial_p95_ms",
    "hold_rps",
    "hold_p95_ms",
    "hold_errors",
    "partial_ratio",
    "hold_ratio",
    "ceiling_5xx",
    "partial_5xx",
    "hold_5xx",
    "ceiling_non_2xx_3xx",
    "partial_non_2xx_3xx",
    "hold_non_2xx_3xx",
    "db_ceiling_holds_per_s",
}

GUNICORN_LOG = """\
[2026-11-25 14:40:01 +0000] [812] [INFO] Booting worker with pid: 812
Conflict: /services/food-hygiene-inspection/hold/
Internal Server Error: /services/food-hygiene-inspection/hold/
Traceback (most recent call last):
  File "/work/main/bookings/services.py", line 155, in booking_hold
    _place(booking, starts_at, now=now, officer_ids=officer_ids, apply_notice=apply_notice)
  File "/work/main/bookings/services.py", line 534, in _slot_at
    raise _NotFree
bookings.services._NotFree

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/work/main/bookings/views.py", line 116, in service_hold
    booking = booking_hold(appointment_type=appointment_type, starts_at=starts_at, channel=Channel.PORTAL)
              ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
bookings.errors.SlotUnavailable: That time is no longer available.

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "/work/main/.venv/lib/python3.11/site-packages/django/templatetags/static.py", line 129, in do_static
    return static(path)
ValueError: Missing staticfiles manifest entry for 'css/app.css'
Internal Server Error: /services/food-hygiene-inspection/
Traceback (most recent call last):
  File "/work/main/bookings/views.py", line 88, in service_slots
    return slot_picker_response(
psycopg.OperationalError: connection failed: too many clients already
"""


def test_parses_throughput_totals_and_latency_percentiles_in_milliseconds() -> None:
    result = parse_wrk_output(PARTIAL)

    assert result.requests == 420
    assert result.seconds == pytest.approx(10.07)
    assert result.requests_per_s == pytest.approx(41.70)
    assert result.latency_ms == {50: 378.99, 75: 396.56, 90: 415.34, 99: 460.68}
    assert result.statuses == {200: 420}
    assert result.non_2xx_3xx == 0
    assert result.socket_errors == {}
    assert result.not_ok() == {}


def test_reads_the_status_counts_the_script_printed() -> None:
    result = parse_wrk_output(HOLD)

    assert result.statuses == {302: 382, 409: 1}
    assert sum(result.statuses.values()) == result.requests
    assert result.non_2xx_3xx == 1
    assert result.latency_ms[99] == 730.46


def test_converts_seconds_and_reports_server_errors_as_not_ok() -> None:
    result = parse_wrk_output(SECONDS_AND_ERRORS)

    assert result.latency_ms == {50: 43.97, 75: 44.06, 90: 586.43, 99: 1240.0}
    assert result.statuses == {302: 405, 409: 58, 500: 53}
    assert result.non_2xx_3xx == 111 == result.statuses[409] + result.statuses[500]
    assert result.not_ok() == {"302": 405, "409": 58, "500": 53}


def test_reads_socket_errors() -> None:
    result = parse_wrk_output(TIMEOUTS)

    assert result.socket_errors == {"connect": 0, "read": 0, "write": 0, "timeout": 8}
    assert result.non_2xx_3xx == 24
    assert result.statuses == {}
    assert result.not_ok() == {"timeout": 8}


def test_a_failed_run_is_not_read_as_a_result() -> None:
    with pytest.raises(ValueError, match="Not a wrk summary"):
        parse_wrk_output("unable to connect to 127.0.0.1:1 Connection refused\n")


def test_the_hold_script_cycles_form_encoded_starts_with_the_csrf_pair_and_the_tenant_host() -> None:
    script = wrk_script(
        host="bench-1a2b3c4d.bench.invalid",
        method="POST",
        path="/services/food-hygiene-inspection/hold/",
        headers={"Cookie": "csrftoken=abc", "X-CSRFToken": "abc"},
        bodies=["start=2026-11-30T09%3A00%3A00%2B00%3A00", "start=2026-11-30T09%3A15%3A00%2B00%3A00"],
        customers=True,
    )

    assert '["Host"] = "bench-1a2b3c4d.bench.invalid"' in script
    assert '["X-CSRFToken"] = "abc"' in script
    assert '"start=2026-11-30T09%3A15%3A00%2B00%3A00"' in script
    assert "+00:00" not in script
    assert 'thread:get("statuses")' in script
    # Each request as a different customer behind the trusted proxy.
    assert 'headers["X-Forwarded-For"] = string.format(' in script
    assert "if true then" in script
    assert "if false then" in wrk_script(host="bench.invalid", method="GET", path="/", headers={})


def test_the_script_refuses_text_lua_would_read_differently() -> None:
    with pytest.raises(ValueError, match="printable ASCII"):
        wrk_script(host="bench.invalid", method="GET", path="/", headers={"X-Name": "Caerdydd\n"})


def test_server_errors_counts_the_exception_each_request_died_of_not_its_context() -> None:
    assert server_errors(GUNICORN_LOG) == {
        "ValueError: Missing staticfiles manifest entry for 'css/app.css'": 1,
        "psycopg.OperationalError: connection failed: too many clients already": 1,
    }


def test_reads_the_p95_the_script_printed_beside_wrks_percentiles() -> None:
    result = parse_wrk_output(RUN_CEILING)

    assert result.latency_ms == {50: 176.4, 75: 189.67, 90: 211.15, 95: 235.11, 99: 266.61}
    assert result.statuses == {204: 261}
    assert result.not_ok(ok=(204,)) == {}
    assert result.not_ok() == {"204": 261}


def test_the_script_prints_the_p95_from_wrks_latency_histogram() -> None:
    script = wrk_script(host="bench.invalid", method="GET", path=CEILING_PATH, headers={})

    assert "ipairs({95})" in script
    assert "latency:percentile(percent)" in script
    assert '"bench_load percentile %d %d\\n"' in script


def test_the_last_line_reads_the_partial_and_the_holds_against_the_ceiling() -> None:
    summary = load_summary(
        ceiling=parse_wrk_output(RUN_CEILING),
        partial=parse_wrk_output(RUN_PARTIAL),
        hold=parse_wrk_output(RUN_HOLD),
        direct=HoldTally(placed=126, taken=4, elapsed_s=3.15),
        options=OPTIONS,
    )

    assert summary.keys() >= LAST_LINE_KEYS
    assert summary["ceiling_path"] == CEILING_PATH
    assert (summary["ceiling_rps"], summary["partial_rps"], summary["hold_rps"]) == (86.5, 12.2, 7.3)
    assert (summary["partial_p95_ms"], summary["hold_p95_ms"]) == (1370.49, 2181.45)
    # Over the ceiling's requests/s: 12.25 / 86.5, and 22 holds in 3.02 s / 86.5.
    assert summary["partial_ratio"] == 0.142
    assert summary["hold_ratio"] == 0.084
    assert summary["holds_placed"] == 22
    assert summary["ceiling_errors"] == summary["partial_errors"] == summary["hold_errors"] == 0
    assert summary["ceiling_5xx"] == summary["partial_5xx"] == summary["hold_5xx"] == 0
    assert summary["db_ceiling_holds_per_s"] == 40.0


def test_the_last_line_counts_errors_and_5xx_for_each_phase() -> None:
    summary = load_summary(
        ceiling=parse_wrk_output(TIMEOUTS),
        partial=parse_wrk_output(SECONDS_AND_ERRORS),
        hold=parse_wrk_output(SECONDS_AND_ERRORS),
        direct=HoldTally(placed=0, taken=0, errors=Counter({"OperationalError": 2}), elapsed_s=3.0),
        options=OPTIONS,
    )

    assert (summary["ceiling_errors"], summary["ceiling_non_2xx_3xx"], summary["ceiling_5xx"]) == (8, 24, 0)
    # The partial answers 200 only; a hold answers 302, or 409 when it lost its slot to another request.
    assert (summary["partial_errors"], summary["partial_5xx"]) == (405 + 58 + 53, 53)
    assert (summary["hold_errors"], summary["hold_5xx"], summary["hold_non_2xx_3xx"]) == (53, 53, 111)
    assert (summary["holds_placed"], summary["holds_taken"]) == (405, 58)
    assert summary["db_hold_errors"] == 2


def test_no_ratio_without_a_ceiling() -> None:
    nothing = WrkResult(requests=0, seconds=3.0, requests_per_s=0.0, latency_ms={})

    summary = load_summary(
        ceiling=nothing,
        partial=parse_wrk_output(RUN_PARTIAL),
        hold=parse_wrk_output(RUN_HOLD),
        direct=HoldTally(),
        options=OPTIONS,
    )

    assert summary["partial_ratio"] is None
    assert summary["hold_ratio"] is None
