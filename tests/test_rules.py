"""The pure rules, each on its own, in milliseconds: what a run's status and exit code are,
when the removal guard refuses, how a Retry-After or Content-Range header reads, what a
duration or an s3:// URL means, how a size is shown, which repositories a run stores in the
lake as changes. The whole-sync tests show them at work; these pin each rule's edges."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from etl.config_values import parse_s3_url, seconds_of
from etl.errors import ApiError
from etl.present.formats import human_bytes
from etl.results import EXIT_CODES, Target, TargetResult, run_status
from etl.run.guard import refuse_mass_removals
from etl.run.listings import delta_targets
from etl.status import RunStatus, TargetStatus
from etl.store.known import CurrentRepository
from etl.swr.paging import range_total
from etl.swr.wire import retry_after_seconds

OK, NOT_FOUND, FAILED = TargetStatus.OK, TargetStatus.NOT_FOUND, TargetStatus.FAILED


def result(
    repository: str, status: TargetStatus = OK, tags: int = 0, tag: str | None = None
) -> TargetResult:
    return TargetResult(Target("e", "ns", repository, tag), status, tags)


# --- a run's status and exit code -------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "failed_lists", "expected", "code"),
    [
        pytest.param([OK, NOT_FOUND], 0, RunStatus.OK, 0, id="everything-synced"),
        pytest.param([OK, FAILED], 0, RunStatus.PARTIAL, 1, id="some-failed"),
        pytest.param([FAILED, FAILED], 0, RunStatus.FAILED, 3, id="none-synced"),
        pytest.param([OK], 1, RunStatus.PARTIAL, 1, id="a-discovery-list-failed"),
        pytest.param([], 1, RunStatus.FAILED, 3, id="nothing-to-sync-and-a-list-failed"),
        pytest.param([], 0, RunStatus.OK, 0, id="nothing-to-sync"),
    ],
)
def test_a_runs_status_and_exit_code(
    statuses: list[TargetStatus], failed_lists: int, expected: RunStatus, code: int
) -> None:
    results = [result(f"r{i}", s) for i, s in enumerate(statuses)]
    assert run_status(results, failed_lists) == expected
    assert EXIT_CODES[expected] == code


# --- the removal guard --------------------------------------------------------------------------

HELD = {
    ("e", "ns", "a"): CurrentRepository(60, None),
    ("e", "ns", "b"): CurrentRepository(40, None),
}


@pytest.mark.parametrize(
    ("results", "refused"),
    [
        pytest.param([result("a", tags=60), result("b", tags=40)], [], id="nothing-lost"),
        pytest.param([result("a", tags=10), result("b", tags=40)], [], id="half-lost-is-allowed"),
        pytest.param([result("a", tags=0), result("b", tags=0)], ["e"], id="all-lost"),
        pytest.param([result("a", NOT_FOUND), result("b", tags=0)], ["e"], id="gone-counts"),
        pytest.param([result("a", FAILED), result("b", FAILED)], [], id="failed-changes-nothing"),
        pytest.param(
            [result("a", tags=0, tag="release"), result("b", tags=0, tag="release")],
            [],
            id="a-new-tag-filter-is-a-new-scope",
        ),
    ],
)
def test_the_removal_guard_refuses_a_run_that_would_remove_most_of_an_endpoint(
    results: list[TargetResult], refused: list[str]
) -> None:
    before = [r.status for r in results]
    assert refuse_mass_removals(results, HELD, 0.5) == refused
    if refused:
        assert all(r.status == FAILED for r in results)
        error = results[0].error
        assert isinstance(error, ApiError) and error.error_code == "ETL.MAX_REMOVED_SHARE"
        assert "--accept-removals" in str(error)
    else:
        assert [r.status for r in results] == before


def test_an_endpoint_that_held_nothing_is_never_refused() -> None:
    assert refuse_mass_removals([result("new", tags=0)], {}, 0.0) == []


@pytest.mark.parametrize(
    ("cleaned", "a_after", "b_after", "refused"),
    [
        pytest.param(50, 5, 40, [], id="what-a-cleanup-deleted-is-expected"),
        pytest.param(0, 5, 40, ["e"], id="the-same-loss-without-a-cleanup-is-refused"),
        pytest.param(20, 0, 0, ["e"], id="far-more-than-it-deleted-is-refused"),
    ],
)
def test_the_removal_guard_does_not_count_what_a_cleanup_deleted(
    cleaned: int, a_after: int, b_after: int, refused: list[str]
) -> None:
    held = {**HELD, ("e", "ns", "a"): CurrentRepository(60, None, None, cleaned=cleaned)}
    results = [result("a", tags=a_after), result("b", tags=b_after)]
    assert refuse_mass_removals(results, held, 0.5) == refused


# --- what the API's headers say -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        pytest.param("5", 5.0, id="delta"),
        pytest.param("0.5", 0.5, id="fraction"),
        pytest.param("-3", 0.0, id="negative-is-now"),
        pytest.param("", None, id="empty"),
        pytest.param(None, None, id="absent"),
        pytest.param("soon", None, id="unreadable"),
        pytest.param("Wed, 21 Oct 2015 07:28:00 GMT", 0.0, id="a-date-past"),
    ],
)
def test_retry_after_reads_a_delta_or_a_date(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_retry_after_as_a_future_date_is_the_time_until_it() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=120), usegmt=True)
    waited = retry_after_seconds(later)
    assert waited is not None and 100 < waited <= 120


@pytest.mark.parametrize(
    ("header", "total"),
    [
        pytest.param("0-99/1000", 1000, id="a-page"),
        pytest.param("900-999/1000", 1000, id="the-last-page"),
        pytest.param("*/0", 0, id="empty"),
        pytest.param("0-99/*", None, id="unknown-total"),
        pytest.param("0-99/-5", None, id="negative"),
        pytest.param(None, None, id="absent"),
    ],
)
def test_content_range_gives_the_total(header: str | None, total: int | None) -> None:
    assert range_total(header) == total


# --- what the config's values mean ------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("90", 90.0), ("90s", 90.0), ("30m", 1800.0), ("6h", 21600.0), ("2d", 172800.0),
     (" 1.5h ", 5400.0)],
)  # fmt: skip
def test_a_duration_reads_as_seconds(text: str, seconds: float) -> None:
    assert seconds_of(text) == seconds


@pytest.mark.parametrize("text", ["", "6 hours", "-1h", "1w", "h"])
def test_a_duration_that_is_not_one_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        seconds_of(text)


@pytest.mark.parametrize(
    ("url", "bucket", "prefix"),
    [
        ("s3://lake", "lake", ""),
        ("s3://lake/", "lake", ""),
        ("s3://lake/swr/prod", "lake", "swr/prod"),
        ("s3://lake/swr/prod/", "lake", "swr/prod"),
    ],
)
def test_an_s3_url_gives_bucket_and_prefix(url: str, bucket: str, prefix: str) -> None:
    location = parse_s3_url(url)
    assert (location.bucket, location.prefix) == (bucket, prefix)


@pytest.mark.parametrize(
    "url", ["s3://", "s3:///prefix", "s3://my bucket/x", "s3://b/a//c", "s3://b/./c", "s3://b/a\\c"]
)
def test_an_s3_url_the_s3_layer_would_rewrite_is_refused(url: str) -> None:
    with pytest.raises(ValueError):
        parse_s3_url(url)


# --- how a size is shown ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "shown"),
    [(None, ""), (0, "0 B"), (1023, "1023 B"), (1024, "1.0 KiB"), (1536, "1.5 KiB"),
     (5 * 2**30, "5.0 GiB"), (2**63 - 1, "8.0 EiB")],
)  # fmt: skip
def test_sizes_are_shown_in_binary_units(size: int | None, shown: str) -> None:
    assert human_bytes(size) == shown


# --- which repositories a run stores as changes ------------------------------------------------

NOON = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
DAY = 86400.0


@pytest.mark.parametrize(
    ("held", "target", "every", "lake_matches", "as_changes"),
    [
        pytest.param(CurrentRepository(5, None, NOON - timedelta(hours=3)), result("r"), DAY, True, True,
                     id="listed-whole-today-changes"),
        pytest.param(CurrentRepository(5, None, NOON - timedelta(hours=13)), result("r"), DAY, True, False,
                     id="listed-whole-yesterday-whole-again"),
        pytest.param(CurrentRepository(5, None, NOON - timedelta(hours=3)), result("r"), 0.0, True, False,
                     id="every-0-always-whole"),
        pytest.param(CurrentRepository(5, None, NOON - timedelta(hours=3)), result("r"), DAY, False, False,
                     id="warehouse-not-the-lakes-whole"),
        pytest.param(CurrentRepository(5, "v1", NOON - timedelta(hours=3)), result("r", tag="v2"), DAY, True,
                     False, id="tag-filter-changed-whole"),
        pytest.param(CurrentRepository(5, None, None), result("r"), DAY, True, False,
                     id="never-listed-whole-whole"),
        pytest.param(None, result("r"), DAY, True, False, id="new-repository-whole"),
        pytest.param(CurrentRepository(5, None, NOON - timedelta(hours=3)), result("r", FAILED), DAY, True,
                     False, id="failed-neither"),
        pytest.param(CurrentRepository(5, None, NOON - timedelta(hours=3), "me"), result("r"), DAY, True, True,
                     id="last-synced-by-this-writer-changes"),
        pytest.param(CurrentRepository(5, None, NOON - timedelta(hours=3), "other"), result("r"), DAY, True,
                     False, id="last-synced-by-another-writer-whole"),
    ],
)  # fmt: skip
def test_a_repository_is_stored_as_changes_only_after_a_whole_listing_this_period(
    held: CurrentRepository | None,
    target: TargetResult,
    every: float,
    lake_matches: bool,
    as_changes: bool,
) -> None:
    current = {} if held is None else {("e", "ns", "r"): held}
    chosen = delta_targets([target], current, NOON, every, lake_matches, "me")
    assert chosen == ({("e", "ns", "r")} if as_changes else set())
