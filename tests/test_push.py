"""The Pushgateway push (etl/present/push.py) and the metrics delivery around it: whatever
answers at the gateway's address, a push ends within its one deadline as one warning line, and
a committed run keeps its exit code and its summary; a slow gateway never holds the lock."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from etl.fakeswr import FakeSwr, Registry
from etl.present.metrics import MetricsOutput, RunMetrics, deliver_metrics, write_failed_run_metrics
from etl.present.push import MAX_ANSWER_BYTES, Gateway, push
from tests.commands import sync, sync_process
from tests.configs import WriteConfig, editing
from tests.pushgateway import (
    HostileGateway,
    Pushgateway,
    answer_bytes,
    endless,
    silent,
    tls_context,
    trickle,
)

DEADLINE_S = 2.0
SLACK_S = 5.0  # generous: the bound is what is asserted, not a timing
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
HTML = b"<html><body><h1>500 Internal Server Error</h1><p>nginx</p></body></html>\n"
Answer = Callable[[socket.socket, threading.Event], None]

# What may answer at a gateway's address, and the words of the one warning it becomes.
HOSTILE = [
    pytest.param(answer_bytes(OK), True, "reset", id="a-tls-port-written-as-http"),
    pytest.param(
        answer_bytes(b"\x00\xff\x1b[2J garbage\r\n\r\n"), False, "not HTTP", id="garbage-bytes"
    ),
    pytest.param(
        answer_bytes(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n"),
        False,
        "broke off",
        id="a-broken-chunked-body",
    ),
    pytest.param(
        trickle(b"HTTP/1.1 200 OK\r\n", 0.3), False, "within 2 s", id="a-byte-every-0.3-s"
    ),
    pytest.param(
        endless(b"HTTP/1.1 200 OK\r\n\r\n", b"metrics " * 8), False, "KiB", id="an-endless-body"
    ),
    pytest.param(
        endless(b"HTTP/1.1 200 OK\r\n", b"X-Pad: y\r\n"),
        False,
        "not valid HTTP",
        id="endless-headers",
    ),  # fmt: skip
    pytest.param(
        answer_bytes(
            b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://elsewhere:9091/metrics\r\n"
            b"Content-Length: 0\r\n\r\n"
        ),
        False,
        "HTTP 307, a redirect to http://elsewhere:9091/metrics (not followed)",
        id="a-redirect-not-followed",
    ),
    pytest.param(
        answer_bytes(
            b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\n"
            + f"Content-Length: {len(HTML)}\r\n\r\n".encode()
            + HTML
        ),
        False,
        "answered HTTP 500",
        id="a-500-with-an-html-page",
    ),
    pytest.param(silent, False, "within 2 s", id="no-answer-at-all"),
]


@pytest.fixture
def hostile(request: pytest.FixtureRequest) -> Iterator[Callable[..., HostileGateway]]:
    """Start hostile gateways for a test; each is closed when it ends."""
    started: list[HostileGateway] = []

    def start(answer: Answer, tls: bool = False) -> HostileGateway:
        gateway = HostileGateway(answer, tls_context() if tls else None)
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        gateway.close()


@pytest.mark.parametrize(("answer", "tls", "said"), HOSTILE)
def test_a_push_to_what_is_not_a_pushgateway_ends_within_its_deadline_as_one_reason(
    hostile: Callable[..., HostileGateway], answer: Answer, tls: bool, said: str
) -> None:
    gateway = hostile(answer, tls)
    began = time.monotonic()
    problem = push(b"swr_etl_last_run_tags 1\n", Gateway(gateway.url, DEADLINE_S), "w")
    assert time.monotonic() - began < DEADLINE_S + SLACK_S
    assert problem is not None and said in problem, problem
    assert "\n" not in problem and "\x1b" not in problem


def test_a_pushgateway_that_takes_the_metrics_is_no_problem() -> None:
    gateway = Pushgateway()
    try:
        assert push(b"swr_etl_last_run_tags 1\n", Gateway(gateway.url, DEADLINE_S), "w") is None
    finally:
        gateway.close()
    assert [(m, p, b) for m, p, b in gateway.received] == [
        ("PUT", "/metrics/job/swr-etl/writer/w", "swr_etl_last_run_tags 1\n")
    ]


def test_a_refusal_quotes_the_gateways_plain_text_reason_on_one_line(
    hostile: Callable[..., HostileGateway],
) -> None:
    reason = b"pushed metrics are invalid \x1b[31mred\x1b[0m\nsecond line\n"
    gateway = hostile(
        answer_bytes(
            b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
            + f"Content-Length: {len(reason)}\r\n\r\n".encode()
            + reason
        )
    )
    problem = push(b"x 1\n", Gateway(gateway.url, DEADLINE_S), "w")
    assert problem == (
        "the Pushgateway answered HTTP 400: pushed metrics are invalid \\x1b[31mred\\x1b[0m"
    )


def test_an_answer_just_within_the_size_bound_is_read_whole(
    hostile: Callable[..., HostileGateway],
) -> None:
    body = b"x" * MAX_ANSWER_BYTES
    head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
    assert push(b"x 1\n", Gateway(hostile(answer_bytes(head + body)).url, DEADLINE_S), "w") is None


# --- the delivery: never raises, one warning naming what was not written ------------------


def finished_run(status: str = "ok") -> RunMetrics:
    now = datetime.now(UTC)
    return RunMetrics(now, now, status, {"tags": 3})


def warnings_of(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


def test_a_push_that_fails_is_one_warning_naming_the_gateway_and_the_file_stands(
    tmp_path: Path, hostile: Callable[..., HostileGateway], caplog: pytest.LogCaptureFixture
) -> None:
    gateway = hostile(answer_bytes(b"\x00garbage\r\n\r\n"))
    out = MetricsOutput(tmp_path / "swr.prom", Gateway(gateway.url, DEADLINE_S), "w")
    deliver_metrics(out, finished_run())
    (warning,) = warnings_of(caplog)
    assert warning.startswith(f"the metrics were not pushed to {gateway.url} (the answer is not")
    assert warning.endswith(f"the file {out.path} has them")
    assert "swr_etl_last_run_tags 3.0" in out.path.read_text()


@pytest.mark.parametrize(
    "in_the_way",
    [
        pytest.param("folder", id="a-folder-where-the-file-goes"),
        pytest.param("file", id="a-file-where-its-folder-goes"),
        pytest.param("garbage", id="an-earlier-file-that-is-not-metrics"),
    ],
)
def test_a_metrics_file_that_cannot_be_written_is_one_warning_naming_it(
    tmp_path: Path, in_the_way: str, caplog: pytest.LogCaptureFixture
) -> None:
    gateway = Pushgateway()
    path = tmp_path / "metrics" / "swr.prom"
    if in_the_way == "folder":
        path.mkdir(parents=True)
    elif in_the_way == "file":
        path.parent.write_text("not a folder")
    else:
        path.parent.mkdir()
        path.write_bytes(b"\xff\xfe not { metrics")
    try:
        deliver_metrics(MetricsOutput(path, Gateway(gateway.url, DEADLINE_S), "w"), finished_run())
    finally:
        gateway.close()
    warnings = warnings_of(caplog)
    if in_the_way == "garbage":  # read for the last success, then replaced: a fresh start
        assert warnings == [] and "swr_etl_last_run_tags 3.0" in path.read_text()
        assert len(gateway.received) == 1
    else:
        (warning,) = warnings
        assert warning.startswith(f"the metrics file {path} was not written (")
        assert warning.endswith(f"nor pushed to {gateway.url}")
        assert gateway.received == []


def test_a_failed_runs_metrics_are_written_and_a_hostile_push_is_one_warning(
    tmp_path: Path, hostile: Callable[..., HostileGateway], caplog: pytest.LogCaptureFixture
) -> None:
    gateway = hostile(trickle(b"HTTP/1.1 200 OK\r\n", 0.3))
    out = MetricsOutput(tmp_path / "swr.prom", Gateway(gateway.url, DEADLINE_S), "w")
    began = time.monotonic()
    write_failed_run_metrics(out, tmp_path / "no.duckdb", datetime.now(UTC))
    assert time.monotonic() - began < DEADLINE_S + SLACK_S
    (warning,) = warnings_of(caplog)
    assert f"not pushed to {gateway.url} (no complete answer within 2 s)" in warning
    assert 'swr_etl_last_run_status{status="failed"} 1.0' in out.path.read_text()


# --- whole syncs: the exit code its targets say, its summary, one warning, a bounded time --


def pushing_config(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    registry: Registry,
    gateway_url: str,
    **output: object,
) -> Path:
    path = write_config(tmp_path, served, list(registry.repositories)[:3], max_attempts=1)
    with editing(path) as data:
        data["output"].update(
            metrics="./swr.prom",
            pushgateway=gateway_url,
            pushgateway_timeout_s=DEADLINE_S,
            **output,
        )
    return path


def summary_lines(output: str) -> list[str]:
    return [line for line in output.splitlines() if line.startswith("run ")]


@pytest.mark.slow
@pytest.mark.parametrize("broken", [pytest.param(False, id="ok"), pytest.param(True, id="partial")])
@pytest.mark.parametrize(("answer", "tls", "said"), HOSTILE)
def test_a_committed_run_keeps_its_exit_code_and_summary_whatever_the_gateway_does(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    hostile: Callable[..., HostileGateway],
    answer: Answer,
    tls: bool,
    said: str,
    broken: bool,
) -> None:
    if broken:
        served.options.broken_repositories = {next(iter(small_registry.repositories))}
    gateway = hostile(answer, tls)
    path = pushing_config(write_config, tmp_path, served, small_registry, gateway.url)
    began = time.monotonic()
    result = sync(path)
    took = time.monotonic() - began
    assert result.exit_code == (1 if broken else 0), result.output
    assert len(summary_lines(result.output)) == 1, result.output
    warnings = [line for line in result.output.splitlines() if " WARNING " in line]
    pushed = [line for line in warnings if "metrics were not pushed" in line]
    assert len(pushed) == 1 and said in pushed[0] and gateway.url in pushed[0], result.output
    assert len(warnings) == 1 + broken, result.output  # and the broken repository's own
    assert "Traceback" not in result.output
    assert took < DEADLINE_S + SLACK_S + 20  # the sync itself, and the push's deadline
    assert (tmp_path / "swr.prom").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "first_run",
    [
        pytest.param(None, id="a-committed-run-pushes-after-releasing-the-lock"),
        pytest.param("lake-written:TERM", id="an-interrupted-run-pushes-after-releasing-it"),
    ],
)
def test_a_slow_gateway_never_turns_the_next_run_away(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    hostile: Callable[..., HostileGateway],
    first_run: str | None,
) -> None:
    held = threading.Event()

    def first_held_then_taken(conn: socket.socket, stop: threading.Event) -> None:
        if not held.is_set():
            held.set()
            stop.wait()  # the first push waits as long as the test wants
        else:
            conn.sendall(OK)

    gateway = hostile(first_held_then_taken)
    path = pushing_config(write_config, tmp_path, served, small_registry, gateway.url)
    with editing(path) as data:
        data["output"]["pushgateway_timeout_s"] = 120  # the first push outlasts the second run
    first = sync_process(path, first_run)
    try:
        assert held.wait(60), "the first run never pushed"
        second = sync(path)
        assert first.poll() is None  # still pushing
    finally:
        gateway.close()  # the first push ends: the gateway closes without answering
        stdout, stderr = first.communicate(timeout=60)
    assert second.exit_code == 0, second.output
    assert first.returncode == (0 if first_run is None else 143), stderr.decode()
    pushed = [line for line in stderr.decode().splitlines() if "not pushed" in line]
    assert len(pushed) == 1, stderr.decode()


@pytest.mark.slow
def test_a_signal_while_pushing_says_the_run_is_committed_and_loaded(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    hostile: Callable[..., HostileGateway],
) -> None:
    gateway = hostile(silent)
    path = pushing_config(write_config, tmp_path, served, small_registry, gateway.url)
    with editing(path) as data:
        data["output"]["pushgateway_timeout_s"] = 120
    process = sync_process(path)
    try:
        deadline = time.monotonic() + 60
        while gateway.requests == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 143
    (error,) = [line for line in stderr.decode().splitlines() if line.startswith("error:")]
    assert "interrupted by SIGTERM: run " in error, error
    assert f"is committed to the lake and loaded into {tmp_path / 'swr.duckdb'}" in error
    assert error.endswith("its metrics were not all delivered")
