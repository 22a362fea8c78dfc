"""A run's summary read back from the warehouse once the run is loaded (etl.store.summaries):
its totals are its targets', what changed is what `tag_changes` says of it, a failed target is
named with its HTTP status, error code and request id, and what each endpoint holds is what
`tags_current` holds; the run's own row gives the same totals when the views cannot be asked."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from etl.config_file import load_config
from etl.fakeswr import ServerThread, generate_registry, next_day
from etl.job import run_sync
from etl.results import RunRecord
from etl.store import warehouse
from etl.store.summaries import bare_summary, summarise_run
from tests import configs
from tests.api import quicken_retries

PLACES = {"lake": "the lake", "duckdb": "the database"}


@dataclass(frozen=True)
class TwoRuns:
    """A warehouse after two syncs of ten repositories, the second a day later with one
    repository answering HTTP 500 (one attempt a request)."""

    db: Path
    first: str
    second: str
    broken: tuple[str, str]
    repositories: int


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoRuns]:
    """One history that every test of the module reads (none writes it)."""
    registry = generate_registry(repos=10, seed=7)
    keys = sorted(registry.repositories)
    directory = tmp_path_factory.mktemp("two-runs")
    with pytest.MonkeyPatch.context() as patch, ServerThread(registry) as served:
        quicken_retries(patch)
        config = load_config(
            configs.write_config(directory, served, keys, env=patch, max_attempts=1)
        )
        first = run_sync(config)
        served.serve(next_day(registry))
        served.options.broken_repositories.add(keys[0])
        second = run_sync(config)
    assert (first.exit_code, second.exit_code) == (0, 1)
    yield TwoRuns(config.output.duckdb, first.run_id, second.run_id, keys[0], len(keys))


@pytest.fixture
def con(two_runs: TwoRuns) -> Iterator[duckdb.DuckDBPyConnection]:
    with warehouse.connect(two_runs.db, read_only=True) as connection:
        yield connection


def test_the_totals_are_the_runs_targets_and_tags(
    two_runs: TwoRuns, con: duckdb.DuckDBPyConnection
) -> None:
    first = summarise_run(con, two_runs.first, PLACES)
    second = summarise_run(con, two_runs.second, PLACES)
    assert (first.seq, first.status, second.seq, second.status) == (1, "ok", 2, "partial")
    assert (first.totals.targets, first.totals.ok, first.totals.failed) == (10, 10, 0)
    assert (second.totals.ok, second.totals.failed) == (9, 1)
    (tags,) = con.execute("SELECT tags FROM runs WHERE seq = 1").fetchone() or ()
    assert first.totals.tags == tags > 0
    assert [e.endpoint for e in second.endpoints] == ["local"]
    assert second.endpoints[0].failed == 1
    assert first.places == PLACES


def test_what_changed_is_what_tag_changes_says_of_the_run(
    two_runs: TwoRuns, con: duckdb.DuckDBPyConnection
) -> None:
    said = dict(
        con.execute(
            "SELECT change, count(*) FROM tag_changes WHERE to_seq = 2 GROUP BY 1"
        ).fetchall()
    )
    second = summarise_run(con, two_runs.second, PLACES)
    assert second.changes == said and said
    assert summarise_run(con, two_runs.first, PLACES).changes == {}  # a baseline
    assert second.bytes_added >= 0 and second.bytes_freed >= 0


def test_a_failed_target_is_named_with_its_status_code_and_request(
    two_runs: TwoRuns, con: duckdb.DuckDBPyConnection
) -> None:
    (failure,) = summarise_run(con, two_runs.second, PLACES).failures
    namespace, repository = two_runs.broken
    assert failure.target == f"local:{namespace}/{repository}"
    assert (failure.http_status, failure.error_code) == (500, "SVCSTG.SWR.5000001")
    assert failure.request_id and failure.error_message


def test_what_each_endpoint_holds_is_what_tags_current_holds(
    two_runs: TwoRuns, con: duckdb.DuckDBPyConnection
) -> None:
    (holding,) = summarise_run(con, two_runs.second, PLACES).current
    assert (holding.endpoint, holding.repositories) == ("local", two_runs.repositories)
    (current,) = con.execute("SELECT count(*) FROM tags_current").fetchone() or ()
    assert holding.tags == current  # the failed repository's tags stand
    assert holding.unique_size <= holding.total_size


def test_the_slowest_targets_are_the_runs_own_slowest_first(
    two_runs: TwoRuns, con: duckdb.DuckDBPyConnection
) -> None:
    slowest = summarise_run(con, two_runs.first, PLACES).slowest
    assert slowest and len(slowest) <= two_runs.repositories
    assert [s.duration_s for s in slowest] == sorted((s.duration_s for s in slowest), reverse=True)


def test_the_runs_own_row_gives_the_same_totals_without_the_views(
    two_runs: TwoRuns, con: duckdb.DuckDBPyConnection
) -> None:
    full = summarise_run(con, two_runs.second, PLACES)
    row = con.execute("SELECT * FROM runs WHERE run_id = $r", {"r": two_runs.second})
    columns = [d[0] for d in row.description or []]
    record = RunRecord.of(dict(zip(columns, row.fetchone() or (), strict=True)))
    bare = bare_summary(record, PLACES)
    assert (bare.run_id, bare.seq, bare.status, bare.totals) == (
        full.run_id,
        full.seq,
        full.status,
        full.totals,
    )
    assert bare.changes == {} and bare.failures == []  # only the views know those
