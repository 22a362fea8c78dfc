"""What the operator sees of a sync as it goes (`etl.present.progress`): one log line per target
that needs a look, JSON fields for log collectors, and the summary's closing lines."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import pytest

from etl.errors import ApiError
from etl.present.progress import JsonFormatter, log_result, print_sync_summary
from etl.results import RequestStats, RunSummary, SyncOutcome, Target, TargetResult, Totals
from etl.status import TargetStatus

TARGET = Target("local", "platform", "api")
FAILED = TargetResult(
    TARGET,
    TargetStatus.FAILED,
    stats=RequestStats(requests=6, retries=5),
    error=ApiError(
        "Internal error", status=500, error_code="SVCSTG.SWR.5000001", request_id="abc123"
    ),
)


@pytest.fixture(autouse=True)
def etl_logs_reach_caplog(monkeypatch: pytest.MonkeyPatch) -> None:
    """The `etl` loggers' lines reach pytest's capture, even after a command in this process
    sent them to stderr only (`setup_logging`)."""
    monkeypatch.setattr(logging.getLogger("etl"), "propagate", True)


@pytest.mark.parametrize(
    ("result", "level", "line"),
    [
        pytest.param(
            TargetResult(TARGET, tags=12, stats=RequestStats(requests=1)),
            logging.DEBUG,
            "local:platform/api ok: 12 tags, 1 requests, 0 retries",
            id="a-synced-repository-is-a-debug-line",
        ),
        pytest.param(
            TargetResult(TARGET, TargetStatus.NOT_FOUND, error=ApiError("gone", status=404)),
            logging.WARNING,
            "local:platform/api not_found: ",
            id="a-gone-repository-is-a-warning",
        ),
        pytest.param(
            FAILED, logging.WARNING, "local:platform/api failed: ", id="a-failure-is-a-warning"
        ),
    ],
)
def test_each_target_is_one_line_at_the_level_it_deserves(
    caplog: pytest.LogCaptureFixture, result: TargetResult, level: int, line: str
) -> None:
    with caplog.at_level(logging.DEBUG, logger="etl"):
        log_result(result)
    [record] = caplog.records
    assert record.levelno == level
    assert record.getMessage().startswith(line)


def test_a_json_log_line_carries_the_targets_facts(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="etl"):
        log_result(FAILED)
    entry = json.loads(JsonFormatter().format(caplog.records[0]))
    assert entry["level"] == "warning" and entry["logger"] == "etl.present.progress"
    assert {k: entry[k] for k in ("target", "status", "http_status", "error_code")} == {
        "target": "local:platform/api",
        "status": "failed",
        "http_status": 500,
        "error_code": "SVCSTG.SWR.5000001",
    }
    assert (entry["request_id"], entry["requests"], entry["retries"]) == ("abc123", 6, 5)


def outcome(caught_up: list[str], list_failures: list[ApiError]) -> SyncOutcome:
    at = datetime(2026, 11, 27, tzinfo=UTC)
    totals = Totals(
        ok=1, not_found=0, failed=0, tags=3, requests=1, retries=0, warnings=0, targets=1
    )
    summary = RunSummary("r", 2, "ok", at, at, totals, {"lake": "l"})
    return SyncOutcome("r", [], {}, caught_up, summary, list_failures)


def test_the_summary_ends_with_what_the_run_caught_up_and_which_lists_failed(
    capsys: pytest.CaptureFixture[str],
) -> None:
    failed_list = ApiError("Internal error", status=500, target="organizations of local")
    print_sync_summary(outcome(["a", "b"], [failed_list]))
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("run r: ok - 1 ok, 0 not found, 0 failed of 1 targets")
    assert lines[-2] == "loaded 2 earlier run(s) the warehouse had missed"
    assert lines[-1].startswith("  discovery failed: ")


def test_the_summary_as_json_is_the_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    print_sync_summary(outcome(["a"], []), as_json=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and json.loads(out)["summary"]["run_id"] == "r"
