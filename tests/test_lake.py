"""The lake: runs are invisible until published, and what a crash leaves is cleaned up."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from etl import lake
from etl.pages import SnapshotContext, tags_to_batch

CONTEXT = SnapshotContext("run-1", datetime(2026, 11, 27, tzinfo=timezone.utc), "ep", "ns", "repo")


def tag(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"tag": "latest", "digest": "sha256:00", "size": 10}
    return {**base, **overrides}


def write_run(root: Path, run_id: str, rows: int) -> lake.RunWriter:
    writer = lake.RunWriter(root, run_id, "2026-11-27")
    stage = writer.stage_target()
    batch, _ = tags_to_batch([tag(tag=f"t{i}") for i in range(rows)], CONTEXT)
    stage.write(batch)
    stage.close()
    run = pa.Table.from_pylist([{"run_id": run_id, "status": "ok"}], schema=lake.RUN_SCHEMA)
    writer.write_run([stage], lake.TARGET_RUN_SCHEMA.empty_table(), run)
    return writer


def test_nothing_of_a_run_is_visible_until_it_is_published(tmp_path: Path) -> None:
    writer = write_run(tmp_path, "r1", 5)
    assert lake.committed_runs(tmp_path) == []
    assert not list(tmp_path.glob("tag_snapshots/*/*"))
    writer.publish()
    assert lake.committed_runs(tmp_path) == [("2026-11-27", "r1")]
    files = lake.run_files(tmp_path, "tag_snapshots", "2026-11-27", "r1")
    assert pq.read_table(files[0]).num_rows == 5
    assert pq.ParquetFile(files[0]).metadata.row_group(0).column(0).compression == "ZSTD"


def test_an_interrupted_publish_is_cleaned_up(tmp_path: Path) -> None:
    write_run(tmp_path, "r1", 3).publish()
    crashed = write_run(tmp_path, "r2", 3)
    # A crash after the snapshot moved but before `runs` (the commit record) did.
    source = crashed.staging / lake.partition("tag_snapshots", "2026-11-27", "r2")
    source.rename(tmp_path / lake.partition("tag_snapshots", "2026-11-27", "r2"))
    assert lake.clean_uncommitted(tmp_path) == ["r2"]
    assert [p.name for p in tmp_path.glob("tag_snapshots/*/*")] == ["run_id=r1"]
    assert not (tmp_path / lake.STAGING / "r2").exists()
