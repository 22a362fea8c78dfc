"""What a run records in the lake besides its tags (etl.run.records), each record on its own:
the `runs` row (status, counts, discovery's requests), one `target_runs` row per target (a
failure's details, how an ok target's tags are kept) and one `discoveries` row per list."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from etl import schemas
from etl.errors import ApiError
from etl.results import RequestStats, Target, TargetResult
from etl.run.discovery import Discovery, Listing
from etl.run.records import discoveries_table, run_row, target_runs_table
from etl.status import TargetStatus

OK, NOT_FOUND, FAILED = TargetStatus.OK, TargetStatus.NOT_FOUND, TargetStatus.FAILED
STARTED = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
GONE = ApiError(
    "the list answered HTTP 500",
    status=500,
    error_code="SVCSTG.SWR.5000001",
    request_id="req-1",
)


def result(
    repository: str,
    status: TargetStatus = OK,
    tags: int = 0,
    requests: int = 1,
    carried: bool = False,
) -> TargetResult:
    error = GONE if status == FAILED else None
    stats = RequestStats(requests=requests, retries=requests - 1, pages=requests)
    target = Target("e", "ns", repository)
    return TargetResult(target, status, tags, 1, 0.25, stats, error, "v3", carried)


@pytest.mark.parametrize(
    ("statuses", "failed_lists", "status"),
    [
        pytest.param([OK, NOT_FOUND], 0, "ok", id="everything-synced-ok"),
        pytest.param([OK, FAILED], 0, "partial", id="one-failed-partial"),
        pytest.param([FAILED, FAILED], 0, "failed", id="none-synced-failed"),
        pytest.param([OK], 1, "partial", id="a-failed-list-makes-it-partial"),
    ],
)
def test_the_runs_row_counts_each_status_and_says_how_the_run_went(
    statuses: list[TargetStatus], failed_lists: int, status: str
) -> None:
    results = [result(f"r{i}", s, tags=10) for i, s in enumerate(statuses)]
    discovery = Discovery(organization_lists={"e": GONE} if failed_lists else {})
    row = run_row("run-1", 7, STARTED, results, discovery, "writer", "id-1")
    assert row.status == status
    assert (row.targets, row.ok, row.not_found, row.failed) == (
        len(statuses),
        statuses.count(OK),
        statuses.count(NOT_FOUND),
        statuses.count(FAILED),
    )
    assert row.tags == 10 * statuses.count(OK)  # what a failed target saw is not counted
    assert (row.writer, row.writer_id, row.seq) == ("writer", "id-1", 7)
    assert row.lake_format == schemas.LAKE_FORMAT


def test_the_runs_row_counts_discoverys_requests_and_retries_too() -> None:
    discovery = Discovery(stats=RequestStats(requests=4, retries=2, pages=4))
    row = run_row(
        "run-1", 1, STARTED, [result("a", requests=3), result("b", requests=2)], discovery
    )
    assert (row.requests, row.retries) == (4 + 3 + 2, 2 + 2 + 1)


def test_a_target_runs_row_names_a_failures_status_code_and_request_and_keeps_no_tags() -> None:
    table = target_runs_table("run-1", STARTED, [result("a", tags=5), result("b", FAILED, 9)])
    assert table.schema == schemas.TARGET_RUN_SCHEMA
    ok, failed = table.to_pylist()
    assert (ok["status"], ok["tags"], ok["http_status"], ok["error_code"]) == ("ok", 5, None, None)
    assert (failed["status"], failed["tags"]) == ("failed", 0)
    assert (failed["http_status"], failed["error_code"], failed["request_id"]) == (
        500,
        "SVCSTG.SWR.5000001",
        "req-1",
    )
    assert failed["error_message"] == GONE.message
    assert {r["snapshot_at"] for r in (ok, failed)} == {STARTED}


@pytest.mark.parametrize(
    ("status", "as_changes", "carried", "listing"),
    [
        pytest.param(OK, False, False, schemas.FULL, id="ok-listed-whole"),
        pytest.param(OK, True, False, schemas.DELTA, id="ok-stored-as-changes"),
        # crawl.skip_unchanged: not crawled, stored as no changes
        pytest.param(OK, False, True, schemas.DELTA, id="ok-carried-stored-as-changes"),
        pytest.param(NOT_FOUND, True, False, None, id="not-found-neither"),
        pytest.param(FAILED, True, False, None, id="failed-neither"),
    ],
)
def test_a_target_runs_row_says_how_the_lake_keeps_its_tags(
    status: TargetStatus, as_changes: bool, carried: bool, listing: str | None
) -> None:
    changes = frozenset({("e", "ns", "a")}) if as_changes else frozenset()
    kept = [result("a", status, carried=carried)]
    (row,) = target_runs_table("run-1", STARTED, kept, changes).to_pylist()
    assert row["listing"] == listing


def test_each_list_of_discovery_is_one_discoveries_row_ok_or_failed_with_its_error() -> None:
    found = Discovery(
        organization_lists={"e": None},
        listings=[
            Listing("e", "platform", schemas.REPOSITORY_SCHEMA.empty_table(), None, 2),
            Listing("e", "data-eng", None, GONE),
        ],
    )
    rows = discoveries_table("run-1", STARTED, found).to_pylist()
    summary = [(r["namespace"], r["status"], r["repositories"], r["warnings"]) for r in rows]
    assert summary == [
        (None, "ok", None, 0),
        ("platform", "ok", 0, 2),
        ("data-eng", "failed", None, 0),
    ]
    assert (rows[2]["http_status"], rows[2]["error_code"], rows[2]["request_id"]) == (
        500,
        "SVCSTG.SWR.5000001",
        "req-1",
    )
