"""The lake: runs are invisible until published, and what a crash leaves is cleaned up."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from etl import schemas
from etl.config_file import load_config
from etl.fakeswr import ServerThread, generate_registry
from etl.job import run_sync
from etl.store import commits, lake
from etl.store.storage import local_store
from etl.swr.pages import SnapshotContext, snapshot_batch, tag_columns
from tests.conftest import discovering, readme_sql

CONTEXT = SnapshotContext("run-1", datetime(2026, 11, 27, tzinfo=UTC), "ep", "ns", "repo")


def tag(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"tag": "latest", "digest": "sha256:00", "size": 10}
    return {**base, **overrides}


def rows_of(tags: list[dict[str, Any]]) -> pa.RecordBatch:
    """Snapshot rows of these tag objects, as the crawl stages them."""
    return snapshot_batch(tag_columns(tags)[0], CONTEXT)


def write_run(root: Path, run_id: str, rows: int) -> lake.RunWriter:
    writer = lake.RunWriter(local_store(root), run_id, "2026-11-27", root / "_staging" / run_id)
    lane = writer.new_lane()
    lane.start_target()
    batch = rows_of([tag(tag=f"t{i}") for i in range(rows)])
    lane.write(batch)
    lane.target_completed()
    run = pa.Table.from_pylist([{"run_id": run_id, "status": "ok"}], schema=schemas.RUN_SCHEMA)
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
    run = pa.Table.from_pylist([{"run_id": "r1", "status": "ok"}], schema=schemas.RUN_SCHEMA)
    writer.write_run(schemas.TARGET_RUN_SCHEMA.empty_table(), run)
    writer.publish()
    files = commits.read_commit(local_store(tmp_path), "2026-11-27", "r1").files_of("tag_snapshots")
    stored = pq.read_table(files[0]).column("tag").to_pylist()
    assert sorted({t.split("-")[0] for t in stored}) == ["a0", "a1", "c0"]
    assert len(stored) == 3 * page_rows


def test_the_readme_duckdb_read_of_the_lake_is_the_latest_committed_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = generate_registry(repos=12, seed=5)
    (gone, failing, *_) = sorted(registry.repositories)
    everything = [{"namespace": "*", "repositories": ["*"]}]
    with ServerThread(copy.deepcopy(registry)) as server:
        path = discovering(tmp_path, server, everything)
        run_sync(load_config(path))
        later = copy.deepcopy(registry)
        del later.repositories[gone]  # not_found: no snapshot
        server.serve(later)
        server.options.broken_repositories = {failing}  # failed: its last snapshot stands
        narrowed = [{**everything[0], "exclude": ["*/web*"]}]  # untracked: no snapshot
        run_sync(load_config(discovering(tmp_path, server, narrowed)))
    monkeypatch.chdir(tmp_path)  # the README's paths are relative to the lake's folder
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        from_lake = con.execute(
            f"SELECT endpoint, namespace, repository, tag, digest, size FROM ({readme_sql('DuckDB (a folder')})"
        ).fetchall()
    with duckdb.connect("swr.duckdb", read_only=True) as con:
        current = con.execute(
            "SELECT endpoint, namespace, repository, tag, digest, size FROM tags_current"
        ).fetchall()
    assert sorted(from_lake) == sorted(current)
    kept = {row[1:3] for row in current}
    assert failing in kept and gone not in kept and not [r for r in kept if r[1].startswith("web")]
