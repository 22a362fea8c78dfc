"""Operating it: a terminal that stays readable under a live bar, an end-of-run summary built
from the run record, and a metrics file a monitoring system can alert on."""

from __future__ import annotations

import os
import pty
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from etl.config_file import load_config
from etl.fakeswr import (
    FakeSwr,
    FaultPlan,
    Options,
    Registry,
    ServerThread,
    generate_registry,
    next_day,
)
from etl.job import run_sync
from etl.run.lock import OutputLock
from tests.commands import invoke, sync, sync_process
from tests.configs import WriteConfig, editing
from tests.pushgateway import Pushgateway
from tests.stored import reading

COLOUR = re.compile(r"\x1b\[[0-9;]*m")  # styles a run of text: not a place on screen
CURSOR = re.compile(r"\x1b\[[0-9;?]*[A-Za-ln-z]|\x1b\][^\x07]*\x07")  # moves, erases
REGISTRY = generate_registry(repos=40, seed=13)
BROKEN = set(list(REGISTRY.repositories)[:3])


def screen_lines(raw: bytes) -> list[str]:
    """The lines a terminal would show at some moment: escapes removed, split where the
    cursor returns or moves on."""
    text = CURSOR.sub("\n", COLOUR.sub("", raw.decode(errors="replace")))
    return [line for line in re.split(r"[\r\n]+", text) if line.strip()]


def test_log_lines_never_share_a_screen_line_with_the_live_bar(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    faults = FaultPlan(rate=0.1, seed=5, retry_after_s=0.01)
    options = Options(latency_ms=15, faults=faults, broken_repositories=BROKEN)
    with ServerThread(REGISTRY, options=options) as server:
        path = write_config(
            tmp_path, server, list(REGISTRY.repositories), page_size=10, concurrency=4,
            max_attempts=3,
        )  # fmt: skip
        leader, follower = pty.openpty()
        env = {**os.environ, "TERM": "xterm-256color", "COLUMNS": "150", "LINES": "40"}
        process = subprocess.Popen(
            [sys.executable, "-m", "etl", "sync", "-c", str(path), "--progress", "-v"],
            stdin=follower,
            stdout=follower,
            stderr=follower,
            env=env,
        )
        os.close(follower)
        raw = b""
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(leader, 65536)
                except OSError:
                    break  # the other side closed: the sync ended
                if not chunk:
                    break
                raw += chunk
            elif process.poll() is not None:
                break
        os.close(leader)
        process.wait(timeout=30)
    assert process.returncode == 1  # the broken repositories failed, the rest synced
    lines = screen_lines(raw)
    bars = [line for line in lines if "━" in line]
    logs = [line for line in lines if "retrying" in line or "failed:" in line]
    assert bars, "the bar was never drawn"
    assert any("retrying" in line for line in logs) and any("failed:" in line for line in logs)
    assert [line for line in logs if "━" in line] == []
    assert any("left" in line for line in bars)  # the estimate of the time left


@pytest.fixture
def broken_server() -> FakeSwr:  # type: ignore[misc]
    with ServerThread(REGISTRY, options=Options(broken_repositories=BROKEN)) as server:
        yield server


def with_outputs(path: Path, **outputs: str) -> Path:
    with editing(path) as data:
        data["output"].update(outputs)
        data["crawl"]["max_attempts"] = 2
    return path


def test_the_summary_says_what_happened_on_one_screen(
    write_config: WriteConfig, tmp_path: Path, broken_server: FakeSwr
) -> None:
    path = with_outputs(
        write_config(tmp_path, broken_server, list(REGISTRY.repositories)),
        readonly_copy="./copy.duckdb",
    )
    assert sync(path).exit_code == 1
    broken_server.serve(next_day(REGISTRY, churn=0.1))
    result = sync(path)
    assert result.exit_code == 1, result.output
    summary = result.stdout.splitlines()
    assert len(summary) <= 25  # one screen
    assert summary[0].startswith("run ") and ": partial - " in summary[0]
    assert any(line.startswith("  endpoint local: ") for line in summary)
    assert any(line.startswith("  changed since the previous run: ") for line in summary)
    assert any(line.startswith("  slowest: ") for line in summary)
    failed = [line for line in summary if line.startswith("  failed   ")]
    assert len(failed) == len(BROKEN)
    assert all("500 SVCSTG.SWR.5000001" in line and "(request id " in line for line in failed)
    assert any(line.startswith("  written to: lake ") and "copy.duckdb" in line for line in summary)
    run_id = summary[0].split()[1].rstrip(":")
    with reading(tmp_path / "swr.duckdb") as con:
        kinds = con.execute(
            "SELECT change, count(*) FROM tag_changes WHERE to_run = $r GROUP BY ALL ORDER BY 1",
            {"r": run_id},
        ).fetchall()
    changed = next(line for line in summary if line.startswith("  changed since"))
    assert changed.split(": ", 1)[1].split(";")[0] == ", ".join(f"{n:,} {k}" for k, n in kinds)


def test_the_json_summary_carries_the_same_facts_as_the_run_record(
    write_config: WriteConfig, tmp_path: Path, broken_server: FakeSwr
) -> None:
    path = write_config(tmp_path, broken_server, list(REGISTRY.repositories), max_attempts=2)
    result = invoke("sync", "-c", str(path), "--log-format", "json")
    assert result.exit_code == 1
    summary = orjson.loads(result.stdout.splitlines()[-1])["summary"]
    with reading(tmp_path / "swr.duckdb") as con:
        run = con.execute("SELECT run_id, status, tags, requests, failed FROM runs").fetchall()[0]
        failures = con.execute(
            "SELECT count(*) FROM target_runs WHERE status = 'failed'"
        ).fetchall()[0][0]
    assert (summary["run_id"], summary["status"]) == run[:2]
    assert (summary["totals"]["tags"], summary["totals"]["requests"]) == run[2:4]
    assert len(summary["failures"]) == failures == run[4] == len(BROKEN)


def metrics(path: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """The samples of a metrics file, read by prometheus_client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(path.read_text())
        for s in family.samples
    }


def test_the_metrics_file_matches_the_run_record(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = with_outputs(
        write_config(tmp_path, served, list(small_registry.repositories)), metrics="./swr.prom"
    )
    assert run_sync(load_config(path)).exit_code == 0
    found = metrics(tmp_path / "swr.prom")
    with reading(tmp_path / "swr.duckdb") as con:
        finished, tags, requests, retries, warnings = con.execute(
            "SELECT finished_at, tags, requests, retries, warnings FROM runs"
        ).fetchall()[0]
        targets = con.execute(
            "SELECT endpoint, status, count(*) FROM target_runs GROUP BY ALL"
        ).fetchall()
        current = con.execute(
            "SELECT endpoint, tags, total_size, unique_size FROM namespace_summary "
            "WHERE level = 'endpoint'"
        ).fetchall()
    assert found[("swr_etl_last_run_timestamp_seconds", ())] == finished.timestamp()
    assert found[("swr_etl_last_success_timestamp_seconds", ())] == finished.timestamp()
    assert found[("swr_etl_last_run_status", (("status", "ok"),))] == 1
    assert found[("swr_etl_last_run_status", (("status", "failed"),))] == 0
    for key, value in (("tags", tags), ("requests", requests), ("retries", retries)):
        assert found[(f"swr_etl_last_run_{key}", ())] == value
    assert found[("swr_etl_last_run_warnings", ())] == warnings
    for endpoint, status, count in targets:
        labels = (("endpoint", endpoint), ("status", status))
        assert found[("swr_etl_last_run_targets", labels)] == count
    for endpoint, count, total, unique in current:
        assert found[("swr_etl_current_tags", (("endpoint", endpoint),))] == count
        assert found[
            ("swr_etl_current_bytes", (("endpoint", endpoint), ("kind", "total")))
        ] == float(total)
        assert found[
            ("swr_etl_current_bytes", (("endpoint", endpoint), ("kind", "unique")))
        ] == float(unique)
    assert served.credentials.token not in (tmp_path / "swr.prom").read_text()


def test_a_failed_run_keeps_the_last_success_and_a_refused_one_writes_nothing(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = with_outputs(
        write_config(tmp_path, served, list(small_registry.repositories)[:4]),
        metrics="./swr.prom",
    )
    assert run_sync(load_config(path)).exit_code == 0
    success = metrics(tmp_path / "swr.prom")[("swr_etl_last_success_timestamp_seconds", ())]
    served.options.broken_repositories = set(list(small_registry.repositories)[:4])
    assert run_sync(load_config(path)).exit_code == 3  # every target failed
    after = metrics(tmp_path / "swr.prom")
    assert after[("swr_etl_last_success_timestamp_seconds", ())] == success
    assert after[("swr_etl_last_run_status", (("status", "failed"),))] == 1
    assert after[("swr_etl_last_run_timestamp_seconds", ())] > success
    before = (tmp_path / "swr.prom").read_bytes()
    with OutputLock(tmp_path / "swr.duckdb.lock"):
        refused = sync(path)
    assert refused.exit_code == 75
    assert (tmp_path / "swr.prom").read_bytes() == before  # not a run


def test_a_job_that_never_succeeded_reads_as_stale_and_an_interrupted_run_as_interrupted(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    keys = list(small_registry.repositories)[:4]
    path = with_outputs(write_config(tmp_path, served, keys), metrics="./swr.prom")
    served.options.broken_repositories = set(keys)
    assert run_sync(load_config(path)).exit_code == 3  # it has never worked
    never = metrics(tmp_path / "swr.prom")
    assert never[("swr_etl_last_success_timestamp_seconds", ())] == 0  # SwrEtlStale fires
    served.options.broken_repositories = set()
    stopped = sync_process(path, "page-staged:TERM")
    stopped.communicate(timeout=120)
    assert stopped.returncode == 143
    after = metrics(tmp_path / "swr.prom")
    assert after[("swr_etl_last_run_status", (("status", "interrupted"),))] == 1
    assert after[("swr_etl_last_run_status", (("status", "failed"),))] == 0  # no SwrEtlFailing


@pytest.mark.parametrize(
    ("flags", "per_repository", "warnings"),
    [
        pytest.param([], False, True, id="cron-default-failures-warnings-and-the-summary"),
        pytest.param(["-v"], True, True, id="verbose-a-line-per-repository"),
        pytest.param(["--quiet"], False, False, id="quiet-the-summary-alone"),
    ],
)
def test_cron_logs_hold_what_needs_a_look(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    flags: list[str],
    per_repository: bool,
    warnings: bool,
) -> None:
    keys = list(small_registry.repositories)[:4]
    served.options.broken_repositories = {keys[0]}
    path = write_config(tmp_path, served, keys, max_attempts=1)
    result = sync(path, *flags)
    assert result.exit_code == 1, result.output
    ok_lines = [line for line in result.output.splitlines() if " ok: " in line]
    assert bool(ok_lines) == per_repository
    assert (" WARNING " in result.output) == warnings
    summary = [line for line in result.output.splitlines() if line.startswith("run ")]
    assert len(summary) == 1 and "(discovery's lists included)" in summary[0]


@pytest.fixture
def pushgateway() -> Iterator[Pushgateway]:
    gateway = Pushgateway()
    yield gateway
    gateway.close()


def test_each_run_replaces_its_group_in_the_pushgateway_with_its_metrics_file(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    pushgateway: Pushgateway,
) -> None:
    keys = list(small_registry.repositories)[:4]
    path = with_outputs(
        write_config(tmp_path, served, keys), metrics="./swr.prom", pushgateway=pushgateway.url
    )
    assert run_sync(load_config(path)).exit_code == 0
    served.options.broken_repositories = set(keys)
    assert run_sync(load_config(path)).exit_code == 3  # a failed run is pushed too
    assert [(m, p) for m, p, _ in pushgateway.received] == [
        ("PUT", "/metrics/job/swr-etl/writer/config"),
    ] * 2
    last = pushgateway.received[-1][2]
    assert last == (tmp_path / "swr.prom").read_text()
    assert 'swr_etl_last_run_status{status="failed"} 1.0' in last
    assert served.credentials.token not in last


@pytest.mark.parametrize("trouble", ["HTTP 503", "nothing listening"])
def test_a_pushgateway_in_trouble_is_a_warning_and_the_run_stands(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    trouble: str,
) -> None:
    gateway = Pushgateway(status=503)
    if trouble == "nothing listening":
        gateway.close()
    path = with_outputs(
        write_config(tmp_path, served, list(small_registry.repositories)[:2]),
        metrics="./swr.prom",
        pushgateway=gateway.url,
    )
    try:
        result = sync(path)
    finally:
        gateway.close()
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if " WARNING " in line]
    assert len(warnings) == 1, result.output
    expected = "answered HTTP 503" if trouble == "HTTP 503" else "Connection refused"
    assert expected in warnings[0] and f"were not pushed to {gateway.url}" in warnings[0]
    assert metrics(tmp_path / "swr.prom")[("swr_etl_last_run_status", (("status", "ok"),))] == 1
