"""The end-of-run summary as people and log collectors get it: read from the warehouse
(`etl.store.summaries`), printed as text or one JSON object (`etl.present.summary`)."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime

import pytest

from etl.present.formats import human_bytes
from etl.present.summary import print_run_summary, summary_lines
from etl.results import FailedTarget, Holding, RunSummary, Totals
from etl.store import warehouse
from etl.store.summaries import summarise_run
from tests.present.two_days import BROKEN, GONE, TwoDays

PLACES = {"lake": "/srv/lake/runs/snapshot_date=2026-11-27/run_id=r", "duckdb": "swr.duckdb"}


def summary_of(two_days: TwoDays, day: int) -> RunSummary:
    with warehouse.connect(two_days.db, read_only=True) as con:
        return summarise_run(con, two_days.outcomes[day - 1].run_id, PLACES)


def test_day_twos_summary_says_what_changed_and_what_failed(two_days: TwoDays) -> None:
    summary = summary_of(two_days, 2)
    (before, after), pushed, deleted = two_days.moved, two_days.pushed, two_days.deleted
    listed = sum(len(two_days.day2.tags(*key)) for key in two_days.day2.repositories)
    listed -= len(two_days.day2.tags(*BROKEN))
    lines = summary_lines(summary)
    assert lines[0].startswith(
        f"run {summary.run_id}: partial - 2 ok, 1 not found, 1 failed of 4 targets; "
        f"{listed:,} tags, "
    )
    assert lines[2].startswith("  endpoint local: 2 ok, 1 not found, 1 failed; ")
    gone = two_days.day1.tags(*GONE)  # SWR says it is gone: its tags are removed
    # Bytes per tag: an added or retagged tag adds its new size, a removed or retagged one
    # frees its old size.
    assert summary.bytes_added == pushed.size + after.size
    assert summary.bytes_freed == deleted.size + before.size + sum(t.size for t in gone)
    added, freed = human_bytes(summary.bytes_added), human_bytes(summary.bytes_freed)
    assert lines[3] == (
        f"  changed since the previous run: 1 added, {len(gone) + 1} removed, 1 retagged; "
        f"{added} added, {freed} freed"
    )
    [failed] = summary.failures
    assert failed.target == f"local:{BROKEN[0]}/{BROKEN[1]}"
    assert lines[-2] == (
        f"  failed   {failed.target}: 500 SVCSTG.SWR.5000001 Internal error "
        f"(request id {failed.request_id})"
    )
    assert lines[-1] == f"  written to: lake {PLACES['lake']}; duckdb swr.duckdb"


def test_day_ones_summary_is_a_baseline_with_nothing_failed(two_days: TwoDays) -> None:
    lines = summary_lines(summary_of(two_days, 1))
    assert lines[0].split(" - ")[1].startswith("4 ok, 0 not found, 0 failed of 4 targets")
    assert not [line for line in lines if "changed since" in line or "failed   " in line]


def test_the_summary_counts_what_each_endpoint_holds_after_the_run(two_days: TwoDays) -> None:
    tags = two_days.current()
    assert summary_of(two_days, 2).current == [
        Holding(
            endpoint="local",
            repositories=3,
            tags=len(tags),
            total_size=sum(t.size for t in tags),
            unique_size=sum({t.digest: t.size for t in tags}.values()),
        )
    ]


def test_the_slowest_targets_are_named_and_timed(two_days: TwoDays) -> None:
    summary = summary_of(two_days, 2)
    targets = {f"local:{ns}/{name}" for ns, name in two_days.day1.repositories}
    assert {s.target for s in summary.slowest} == targets
    durations = [s.duration_s for s in summary.slowest]
    assert durations == sorted(durations, reverse=True)


def test_the_summary_as_json_is_one_object(
    two_days: TwoDays, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = summary_of(two_days, 2)
    print_run_summary(summary, as_json=True)
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    shown = json.loads(out)["summary"]
    assert (shown["run_id"], shown["status"]) == (summary.run_id, "partial")
    removed = len(two_days.day1.tags(*GONE)) + 1
    assert shown["changes"] == {"added": 1, "removed": removed, "retagged": 1}
    assert [f["target"] for f in shown["failures"]] == [f"local:{BROKEN[0]}/{BROKEN[1]}"]
    assert shown["started_at"] == summary.started_at.isoformat()


def a_summary(failed: int, listed: int) -> RunSummary:
    """A run with `failed` failed targets, of which the summary lists `listed`."""
    at = datetime(2026, 11, 27, tzinfo=UTC)
    totals = Totals(
        ok=1, not_found=0, failed=failed, tags=0, requests=0, retries=0, warnings=0, targets=12
    )
    summary = RunSummary("r", 1, "partial", at, at, totals, {"lake": "l"})
    failures = [
        FailedTarget(f"e:n/r{i}", 500, "SVCSTG.SWR.5000001", "Internal error", None)
        for i in range(listed)
    ]
    return dataclasses.replace(summary, failures=failures)


@pytest.mark.parametrize(
    ("failed", "listed", "more"),
    [
        pytest.param(11, 10, "  … and 1 more failed (see target_runs)", id="one-more-is-counted"),
        pytest.param(10, 10, None, id="ten-are-all-listed"),
    ],
)
def test_failures_beyond_the_first_ten_are_counted_not_listed(
    failed: int, listed: int, more: str | None
) -> None:
    lines = summary_lines(a_summary(failed, listed))
    assert len([line for line in lines if line.startswith("  failed   ")]) == listed
    assert (more in lines) if more else not [line for line in lines if "more failed" in line]
