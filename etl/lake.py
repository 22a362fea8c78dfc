"""The Parquet lake: tag pages → typed Arrow batches → per-run Parquet, published atomically.

Layout (hive-partitioned, zstd):

    lake/tag_snapshots/snapshot_date=D/run_id=R/part-00000.parquet
    lake/target_runs/snapshot_date=D/run_id=R/target_runs.parquet
    lake/manifests/snapshot_date=D/run_id=R/manifests.parquet
    lake/runs/snapshot_date=D/run_id=R/runs.parquet        ← written last: the commit record
    lake/_staging/R/...                                     ← a run in progress

A run is written under `_staging/R` (ignored by hive readers: it is not `key=value`), then
each table's partition is renamed into place, `runs` last. A run without its `runs` partition
never happened: `clean_uncommitted` deletes what a crashed run left behind.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.errors import ResponseError
from etl.failpoints import failpoint

TABLES = ("manifests", "tag_snapshots", "target_runs", "runs")  # publish order: runs last
STAGING = "_staging"
ROWS_PER_PART = 1_000_000

TAG_FIELDS: dict[str, pa.DataType] = {
    "tag": pa.string(),
    "id": pa.int64(),
    "repo_id": pa.int64(),
    "image_id": pa.string(),
    "digest": pa.string(),
    "schema": pa.int16(),
    "path": pa.string(),
    "internal_path": pa.string(),
    "size": pa.int64(),
    "is_trusted": pa.bool_(),
    "created": pa.timestamp("us", tz="UTC"),
    "updated": pa.timestamp("us", tz="UTC"),
    "domain_id": pa.string(),
    "tag_type": pa.int16(),
}
CONTEXT_FIELDS: dict[str, pa.DataType] = {
    "run_id": pa.string(),
    "snapshot_at": pa.timestamp("us", tz="UTC"),
    "endpoint": pa.string(),
    "namespace": pa.string(),
    "repository": pa.string(),
}
SNAPSHOT_SCHEMA = pa.schema([*CONTEXT_FIELDS.items(), *TAG_FIELDS.items()])
MANIFEST_SCHEMA = pa.schema(
    [("digest", pa.string()), ("manifest", pa.string()), ("run_id", pa.string())]
)
TARGET_RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("snapshot_at", pa.timestamp("us", tz="UTC")),
        ("endpoint", pa.string()),
        ("namespace", pa.string()),
        ("repository", pa.string()),
        ("tag_filter", pa.string()),
        ("status", pa.string()),
        ("tags", pa.int64()),
        ("pages", pa.int64()),
        ("requests", pa.int64()),
        ("retries", pa.int64()),
        ("warnings", pa.int64()),
        ("duration_s", pa.float64()),
        ("http_status", pa.int32()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
        ("request_id", pa.string()),
    ]
)
RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("targets", pa.int64()),
        ("ok", pa.int64()),
        ("not_found", pa.int64()),
        ("failed", pa.int64()),
        ("tags", pa.int64()),
        ("requests", pa.int64()),
        ("retries", pa.int64()),
        ("warnings", pa.int64()),
    ]
)
_KIND = {pa.int64(): "an integer", pa.int16(): "an integer", pa.bool_(): "a boolean"}


@dataclass(frozen=True)
class SnapshotContext:
    """The columns every row of one target's snapshot shares."""

    run_id: str
    snapshot_at: datetime
    endpoint: str
    namespace: str
    repository: str


def tags_to_batch(
    tags: list[dict[str, Any]], context: SnapshotContext
) -> tuple[pa.RecordBatch, int]:
    """Return (typed record batch, count of unparseable timestamps) for one page of tags.

    Raises ResponseError naming the field, the tag and the value when a field has a wrong type:
    a row is stored right or its target fails, never silently wrong.
    """
    n = len(tags)
    columns: list[pa.Array] = [
        pa.repeat(pa.scalar(getattr(context, name), type=kind), n)
        for name, kind in CONTEXT_FIELDS.items()
    ]
    warnings = 0
    for name, kind in TAG_FIELDS.items():
        values = [t.get(name) for t in tags]
        if pa.types.is_timestamp(kind):
            array, bad = timestamps(values, name, tags)
            warnings += bad
        else:
            array = typed_column(values, name, kind, tags)
        columns.append(array)
    if columns[len(CONTEXT_FIELDS)].null_count:
        raise ResponseError("a tag object has no 'tag' name")
    return pa.RecordBatch.from_arrays(columns, schema=SNAPSHOT_SCHEMA), warnings


def typed_column(
    values: list[Any], name: str, kind: pa.DataType, tags: list[dict[str, Any]]
) -> pa.Array:
    """Return `values` as an Arrow array of `kind`, accepting only values of the right JSON type."""
    try:
        array = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        raise _wrong_value(values, name, kind, tags) from None
    if array.type == pa.null():
        return pa.nulls(len(values), kind)
    same_family = (
        pa.types.is_integer(kind) and pa.types.is_integer(array.type)
    ) or array.type == kind
    if not same_family:
        raise _wrong_value(values, name, kind, tags)
    try:
        return array.cast(kind)
    except pa.ArrowInvalid:
        raise _wrong_value(values, name, kind, tags, out_of_range=True) from None


def _wrong_value(
    values: list[Any],
    name: str,
    kind: pa.DataType,
    tags: list[dict[str, Any]],
    out_of_range: bool = False,
) -> ResponseError:
    expected = _KIND.get(kind, "a string")
    for value, tag in zip(values, tags, strict=True):
        if value is None:
            continue
        fits = (
            isinstance(value, str)
            if kind == pa.string()
            else isinstance(value, bool)
            if kind == pa.bool_()
            else isinstance(value, int) and not isinstance(value, bool)
        )
        too_big = fits and isinstance(value, int) and not -(2**63) <= value < 2**63
        if not fits or too_big or out_of_range:
            shown = repr(value)[:40]
            problem = (
                "is out of range" if (too_big or out_of_range) else f"is {type(value).__name__}"
            )
            label = repr(str(tag.get("tag"))[:60])
            return ResponseError(
                f"tag {label}: field {name!r} {problem} ({shown}), expected {expected}"
            )
    return ResponseError(f"field {name!r} has values of mixed types, expected {expected}")


def timestamps(values: list[Any], name: str, tags: list[dict[str, Any]]) -> tuple[pa.Array, int]:
    """Return UTC timestamps parsed from the API's strings, and how many could not be parsed.

    FACTS.md: 0-9 fraction digits, 'Z' or no zone (taken as UTC); bad values become NULL.
    """
    strings = [v if isinstance(v, str) else None for v in values]
    not_strings = sum(1 for v in values if v is not None and not isinstance(v, str))
    array = pa.array(strings, type=pa.string())
    has_zone = pc.match_substring_regex(array, r"(Z|[+-]\d\d:?\d\d)$")
    zoned = pc.if_else(has_zone, array, pc.binary_join_element_wise(array, pa.scalar("Z"), ""))
    try:
        parsed = pc.cast(pc.cast(zoned, pa.timestamp("ns", tz="UTC")), TAG_FIELDS[name], safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = pa.array([_one_timestamp(s) for s in zoned.to_pylist()], type=TAG_FIELDS[name])
    unparsed = parsed.null_count - array.null_count
    return parsed, unparsed + not_strings


def _one_timestamp(value: str | None) -> Any:
    if value is None:
        return None
    try:
        one = pc.cast(pa.array([value]), pa.timestamp("ns", tz="UTC"))
        return pc.cast(one, pa.timestamp("us", tz="UTC"), safe=False)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None


# --- writing a run ---------------------------------------------------------------------------


def partition(table: str, snapshot_date: str, run_id: str) -> Path:
    """Return the relative path of one run's partition of one table."""
    return Path(table) / f"snapshot_date={snapshot_date}" / f"run_id={run_id}"


class TargetStage:
    """One target's pages, staged as an Arrow IPC file until the target completes or fails."""

    def __init__(self, path: Path):
        self.path = path
        self.rows = 0
        self._writer: pa.ipc.RecordBatchFileWriter | None = None

    def write(self, batch: pa.RecordBatch) -> None:
        """Append one page's batch (streamed to disk; nothing is held in memory)."""
        if self._writer is None:
            self._writer = pa.ipc.new_file(str(self.path), SNAPSHOT_SCHEMA)
        self._writer.write_batch(batch)
        self.rows += batch.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def discard(self) -> None:
        """Drop everything staged for this target (it failed)."""
        self.close()
        self.path.unlink(missing_ok=True)

    def batches(self) -> Iterator[pa.RecordBatch]:
        if not self.path.exists():
            return
        with pa.memory_map(str(self.path)) as source:
            reader = pa.ipc.open_file(source)
            for i in range(reader.num_record_batches):
                yield reader.get_batch(i)


@dataclass
class RunWriter:
    """Writes one run under `_staging/<run_id>` and publishes it into the lake."""

    lake: Path
    run_id: str
    snapshot_date: str
    manifests: dict[str, str] = field(default_factory=dict)
    _stages: int = 0

    @property
    def staging(self) -> Path:
        return self.lake / STAGING / self.run_id

    def stage_target(self) -> TargetStage:
        """Return a new staging file for one target's pages."""
        folder = self.staging / "targets"
        folder.mkdir(parents=True, exist_ok=True)
        self._stages += 1
        return TargetStage(folder / f"{self._stages:06d}.arrow")

    def add_manifests(self, tags: list[dict[str, Any]], known: set[str]) -> None:
        """Keep each manifest not seen before once per digest (not once per tag)."""
        for tag in tags:
            digest, manifest = tag.get("digest"), tag.get("manifest")
            if isinstance(digest, str) and isinstance(manifest, str) and manifest:
                if digest not in known and digest not in self.manifests:
                    self.manifests[digest] = manifest

    def write_run(
        self, stages: Sequence[TargetStage], target_runs: pa.Table, run: pa.Table
    ) -> None:
        """Write every table of the run into staging: Parquet, zstd, `runs` last."""
        self._write_snapshots(stages)
        manifests = pa.table(
            {
                "digest": list(self.manifests),
                "manifest": list(self.manifests.values()),
                "run_id": [self.run_id] * len(self.manifests),
            },
            schema=MANIFEST_SCHEMA,
        )
        self._write_table("manifests", manifests)
        self._write_table("target_runs", target_runs)
        self._write_table("runs", run)

    def _write_snapshots(self, stages: Sequence[TargetStage]) -> None:
        folder = self.staging / partition("tag_snapshots", self.snapshot_date, self.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        part, writer, rows = 0, None, 0
        for stage in stages:
            for batch in stage.batches():
                if writer is None or rows >= ROWS_PER_PART:
                    if writer is not None:
                        writer.close()
                        part += 1
                    writer = pq.ParquetWriter(
                        folder / f"part-{part:05d}.parquet", SNAPSHOT_SCHEMA, compression="zstd"
                    )
                    rows = 0
                writer.write_batch(batch)
                rows += batch.num_rows
        if writer is not None:
            writer.close()

    def _write_table(self, table: str, data: pa.Table) -> None:
        folder = self.staging / partition(table, self.snapshot_date, self.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(data, folder / f"{table}.parquet", compression="zstd")

    def publish(self) -> None:
        """Move every table's partition into the lake, `runs` last: the run is committed."""
        for table in TABLES:
            if table == "runs":
                failpoint("lake-half-published")
            source = self.staging / partition(table, self.snapshot_date, self.run_id)
            target = self.lake / partition(table, self.snapshot_date, self.run_id)
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(source, target)
            _fsync_dir(target.parent)
        shutil.rmtree(self.staging, ignore_errors=True)

    def abandon(self) -> None:
        """Remove everything this run staged."""
        shutil.rmtree(self.staging, ignore_errors=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- reading the lake ------------------------------------------------------------------------


def committed_runs(lake: Path) -> list[tuple[str, str]]:
    """Return (snapshot_date, run_id) of every committed run, oldest first."""
    found = []
    for folder in (lake / "runs").glob("snapshot_date=*/run_id=*"):
        if (folder / "runs.parquet").exists():
            found.append((folder.parent.name.split("=", 1)[1], folder.name.split("=", 1)[1]))
    return sorted(found, key=lambda pair: pair[1])


def clean_uncommitted(lake: Path) -> list[str]:
    """Delete staging and any partition of a run that never committed; return their run ids."""
    committed = {run_id for _, run_id in committed_runs(lake)}
    removed: set[str] = set()
    staging = lake / STAGING
    if staging.exists():
        removed.update(p.name for p in staging.iterdir())
        shutil.rmtree(staging, ignore_errors=True)
    for table in TABLES:
        for folder in (lake / table).glob("snapshot_date=*/run_id=*"):
            run_id = folder.name.split("=", 1)[1]
            if run_id not in committed:
                shutil.rmtree(folder, ignore_errors=True)
                removed.add(run_id)
    return sorted(removed)


def run_files(lake: Path, table: str, snapshot_date: str, run_id: str) -> list[str]:
    """Return the Parquet files of one run's partition of `table`."""
    return sorted(
        str(p) for p in (lake / partition(table, snapshot_date, run_id)).glob("*.parquet")
    )
