"""The lake: runs are invisible until published, and what a crash leaves is cleaned up."""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import etl.run.start
from etl import schemas
from etl.config_file import load_config
from etl.fakeswr import ServerThread, generate_registry, next_day
from etl.job import run_sync
from etl.store import commits, deltas, lake
from etl.store.storage import local_store
from etl.swr.pages import SnapshotContext, snapshot_batch, tag_columns
from tests.commands import invoke
from tests.configs import Discovering, editing
from tests.registries import expected_rows
from tests.stored import lake_state, query, states_by_run, stored_rows

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

CONTEXT = SnapshotContext("run-1", datetime(2026, 11, 27, tzinfo=UTC), "ep", "ns", "repo")


def tag(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"tag": "latest", "digest": "sha256:00", "size": 10}
    return {**base, **overrides}


def rows_of(tags: list[dict[str, Any]]) -> pa.RecordBatch:
    """Snapshot rows of these tag objects, as the crawl stages them."""
    return snapshot_batch(tag_columns(tags)[0], CONTEXT)


def run_record(run_id: str) -> pa.Table:
    """A commit record's row as a run writes it (its format stated), the rest left empty."""
    row = {"run_id": run_id, "status": "ok", "lake_format": schemas.LAKE_FORMAT}
    return pa.Table.from_pylist([row], schema=schemas.RUN_SCHEMA)


def write_run(root: Path, run_id: str, rows: int) -> lake.RunWriter:
    writer = lake.RunWriter(local_store(root), run_id, "2026-11-27", root / "_staging" / run_id)
    lane = writer.new_lane()
    lane.start_target()
    batch = rows_of([tag(tag=f"t{i}") for i in range(rows)])
    lane.write(batch)
    lane.target_completed()
    run = run_record(run_id)
    writer.write_run(schemas.TARGET_RUN_SCHEMA.empty_table(), run)
    return writer


def test_nothing_of_a_run_is_visible_until_it_is_published(tmp_path: Path) -> None:
    writer = write_run(tmp_path, "r1", 5)
    assert commits.listed_runs(local_store(tmp_path)) == []
    assert not list(tmp_path.glob("tag_snapshots/*/*"))
    writer.publish()
    assert commits.listed_runs(local_store(tmp_path)) == [("2026-11-27", "r1")]
    files = commits.read_commit(local_store(tmp_path), "2026-11-27", "r1").files_of("tag_snapshots")
    assert pq.read_table(files[0]).num_rows == 5
    assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "ZSTD"


def test_an_interrupted_publish_is_cleaned_up(tmp_path: Path) -> None:
    write_run(tmp_path, "r1", 3).publish()
    crashed = write_run(tmp_path, "r2", 3)
    # A crash after the snapshot moved but before `runs` (the commit record) did.
    where = lake.partition("tag_snapshots", "2026-11-27", "r2")
    Path(crashed.staging, where).rename(tmp_path / where)
    assert commits.clean_uncommitted(local_store(tmp_path)) == ["r2"]
    assert [p.name for p in tmp_path.glob("tag_snapshots/*/*")] == ["run_id=r1"]
    assert not (tmp_path / lake.STAGING / "r2").exists()


@pytest.mark.parametrize(
    "page_rows", [pytest.param(1, id="gathered-pages"), pytest.param(3000, id="written-pages")]
)
def test_only_completed_targets_of_a_lane_reach_the_lake(tmp_path: Path, page_rows: int) -> None:
    writer = lake.RunWriter(local_store(tmp_path), "r1", "2026-11-27", tmp_path / "_staging" / "r1")
    lane = writer.new_lane()
    for name, pages, completes in [("a", 2, True), ("b", 3, False), ("c", 1, True)]:
        lane.start_target()
        for page in range(pages):
            rows = [tag(tag=f"{name}{page}-{i}") for i in range(page_rows)]
            lane.write(rows_of(rows))
        if completes:
            lane.target_completed()
    lane.start_target()  # a last target that fails on its first page
    lane.write(rows_of([tag(tag="d0-0")]))
    run = run_record("r1")
    writer.write_run(schemas.TARGET_RUN_SCHEMA.empty_table(), run)
    writer.publish()
    files = commits.read_commit(local_store(tmp_path), "2026-11-27", "r1").files_of("tag_snapshots")
    stored = pq.read_table(files[0]).column("tag").to_pylist()
    assert sorted({t.split("-")[0] for t in stored}) == ["a0", "a1", "c0"]
    assert len(stored) == 3 * page_rows


class Tomorrow(datetime):
    """The wall clock a day on: the next run is the first of a new UTC day."""

    @classmethod
    def now(cls, tz: Any = None) -> Tomorrow:  # type: ignore[override]
        return super().now(tz) + timedelta(days=1)


def test_the_documented_read_of_the_lake_is_the_registry_after_every_run(
    discovering: Discovering, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = generate_registry(repos=12, seed=5)
    (gone, failing, *_) = sorted(registry.repositories)
    everything = [{"namespace": "*", "repositories": ["*"]}]
    with ServerThread(copy.deepcopy(registry)) as server:
        path = discovering(tmp_path, server, everything)
        run_sync(load_config(path))  # every repository whole
        later = next_day(registry, churn=0.1)
        later.repositories.pop(gone, None)  # not_found
        server.serve(later)
        server.options.broken_repositories = {failing}  # failed: what was known stands
        run_sync(load_config(path))  # changes
        narrowed = [{**everything[0], "exclude": ["*/web*"]}]  # untracked
        server.serve(next_day(later, churn=0.1))
        run_sync(load_config(discovering(tmp_path, server, narrowed)))  # changes
        monkeypatch.setattr(etl.run.start, "datetime", Tomorrow)
        server.options.broken_repositories = set()
        run_sync(load_config(path))  # a new UTC day: whole again
        server.serve(next_day(next_day(later, churn=0.1), churn=0.1))
        run_sync(load_config(path))  # changes
    db = tmp_path / "swr.duckdb"
    listings = query(db, "SELECT seq, listing, count(*) FROM target_runs GROUP BY ALL ORDER BY ALL")
    per_run = {seq: {k: n for s, k, n in listings if s == seq} for seq, _, _ in listings}
    assert set(per_run[1]) == {"full"} and set(per_run[4]) <= {"full", None}
    assert per_run[2]["delta"] > 0 and per_run[3]["delta"] > 0 and per_run[5]["delta"] > 0
    for run_id, state in states_by_run(db).items():
        assert lake_state(tmp_path / "lake", run_id) == state, run_id
    kept = {row[1:3] for row in lake_state(tmp_path / "lake")}
    assert gone not in kept and not [r for r in kept if r[1].startswith("web")]
    before = {
        t: query(db, f"SELECT * FROM {t} ORDER BY ALL") for t in ("tag_history", "target_runs")
    }
    assert invoke("rebuild", "-c", str(path)).exit_code == 0
    after = {
        t: query(db, f"SELECT * FROM {t} ORDER BY ALL") for t in ("tag_history", "target_runs")
    }
    assert after == before


def test_a_run_whose_changes_duckdb_cannot_compare_in_its_memory_stores_them_whole(
    discovering: Discovering, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = generate_registry(repos=6, seed=4)
    real = lake.delta_batches

    def out_of_memory(*args: Any) -> Iterator[pa.RecordBatch]:
        yield from real(*args)  # its batches are written, then DuckDB gives up
        raise deltas.ComparisonTooLarge("DuckDB could not compare the run: Out of Memory Error")

    with ServerThread(copy.deepcopy(registry)) as server:
        path = discovering(tmp_path, server, [{"namespace": "*", "repositories": ["*"]}])
        run_sync(load_config(path))
        later = next_day(registry, churn=0.05)
        server.serve(later)
        monkeypatch.setattr(lake, "delta_batches", out_of_memory)
        outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0, [(r.status, r.error) for r in outcome.results]
    db = tmp_path / "swr.duckdb"
    assert query(
        db, "SELECT DISTINCT listing FROM target_runs WHERE seq = 2 AND status = 'ok'"
    ) == [("full",)]
    assert not list((tmp_path / "lake").glob(f"tag_deltas/*/run_id={outcome.run_id}"))
    assert stored_rows(db) == expected_rows(later)
    for run_id, state in states_by_run(db).items():
        assert lake_state(tmp_path / "lake", run_id) == state, run_id


def test_a_run_that_finds_nothing_changed_stores_no_tag(
    discovering: Discovering, tmp_path: Path
) -> None:
    registry = generate_registry(repos=6, seed=2)
    with ServerThread(registry) as server:
        path = discovering(tmp_path, server, [{"namespace": "*", "repositories": ["*"]}])
        first, second = run_sync(load_config(path)), run_sync(load_config(path))
    lake_folder = tmp_path / "lake"
    stored = {
        run.run_id: {
            table: sum(rows for _, rows in commit.files.get(table, []))
            for table in ("tag_snapshots", "tag_deltas", "target_runs")
        }
        for run in (first, second)
        if (commit := commits.read_commit(local_store(lake_folder), today(), run.run_id)).files
    }
    assert stored[first.run_id]["tag_snapshots"] == registry.tag_count()
    assert stored[second.run_id] == {
        "tag_snapshots": 0,
        "tag_deltas": 0,
        "target_runs": len(registry.repositories),
    }
    assert not list(lake_folder.glob(f"tag_*/*/run_id={second.run_id}"))


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def test_every_run_whole_when_full_listing_every_is_0(
    discovering: Discovering, tmp_path: Path
) -> None:
    registry = generate_registry(repos=4, seed=2)
    with ServerThread(registry) as server:
        path = discovering(tmp_path, server, [{"namespace": "*", "repositories": ["*"]}])
        with editing(path) as data:
            data["output"]["full_listing_every"] = 0
        for _ in range(2):
            run_sync(load_config(path))
    db = tmp_path / "swr.duckdb"
    assert query(db, "SELECT DISTINCT listing FROM target_runs") == [("full",)]
    assert not (tmp_path / "lake" / "tag_deltas").exists()
    for run_id, state in states_by_run(db).items():
        assert lake_state(tmp_path / "lake", run_id) == state


def test_a_database_ahead_of_its_lake_stores_every_repository_whole(
    discovering: Discovering, tmp_path: Path
) -> None:
    # The lake was replaced by an empty one (a new bucket, a folder restored from an old
    # backup): changes against the database would have nothing under them in that lake.
    registry = generate_registry(repos=5, seed=3)
    with ServerThread(registry) as server:
        path = discovering(tmp_path, server, [{"namespace": "*", "repositories": ["*"]}])
        run_sync(load_config(path))
        shutil.move(tmp_path / "lake", tmp_path / "old-lake")
        server.serve(next_day(registry, churn=0.1))
        run_sync(load_config(path))
    db = tmp_path / "swr.duckdb"
    assert query(db, "SELECT DISTINCT listing FROM target_runs WHERE seq = 2") == [("full",)]
    assert lake_state(tmp_path / "lake") == states_by_run(db)[None]
