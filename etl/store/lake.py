"""The Parquet lake, written: staged pages → per-run Parquet, published atomically.

Layout (hive-partitioned, zstd):

    lake/tag_snapshots/snapshot_date=D/run_id=R/part-00000.parquet   ← repositories listed whole
    lake/tag_deltas/snapshot_date=D/run_id=R/part-00000.parquet      ← the others: what changed
    lake/target_runs/snapshot_date=D/run_id=R/target_runs.parquet
    lake/manifests/snapshot_date=D/run_id=R/manifests.parquet
    lake/runs/snapshot_date=D/run_id=R/runs.parquet        ← written last: the commit record
    lake/_staging/R/...                                     ← a run in progress

In a local folder a run is written under `_staging/R` (ignored by hive readers: it is not
`key=value`), then each table's partition is renamed into place, `runs` last. Object storage
has no rename: there a run is written under its final keys and its `runs` file last. Either
way the `runs` row is the commit record: it carries the run's sequence number, its writer and
names every file of the run with its row count, and a reader that joins on `runs` never sees
part of a run. `etl.store.commits` reads committed runs back and removes what a crashed run
left behind. The crawl's lanes are local files in both cases (`spool`).
"""

from __future__ import annotations

import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.errors import WriteFailed
from etl.failpoints import failpoint
from etl.results import Key
from etl.schemas import (
    DELTA_SCHEMA,
    DISCOVERY_SCHEMA,
    FULL,
    MANIFEST_SCHEMA,
    REPOSITORY_ROW_SCHEMA,
    RUN_FILES,
    SNAPSHOT_SCHEMA,
)
from etl.store.deltas import ComparisonTooLarge, delta_batches, key_text, keys_of
from etl.store.files import fsync
from etl.store.lanes import Lane, Segment
from etl.store.parts import ROWS_PER_GROUP, PartWriter, chunks
from etl.store.storage import LakeStore, local_store

# Publish order: `runs` last (the commit record).
TABLES = (
    "manifests",
    "tag_snapshots",
    "tag_deltas",
    "repositories",
    "discoveries",
    "target_runs",
    "runs",
)
STAGING = "_staging"

LOCK = "_lock"  # the lake's lock file: one writer at a time (see etl.run.lock)

log = logging.getLogger("etl.store.lake")


# --- writing a run ---------------------------------------------------------------------------


def partition(table: str, snapshot_date: str, run_id: str) -> str:
    """Return the path of one run's partition of one table, relative to the lake."""
    return f"{table}/snapshot_date={snapshot_date}/run_id={run_id}"


@dataclass(frozen=True)
class Changes:
    """Which repositories a run stores as changes (`tag_deltas`), against the current versions
    of which warehouse (which must hold every committed run), and the time closes carry."""

    keys: frozenset[Key]
    warehouse: Path
    snapshot_at: datetime


@dataclass
class EarlyWrites:
    """What `RunWriter.write_early` wrote while the run crawled: the segments, and for each
    repository whether it went to the changes' spool."""

    segments: set[Path] = field(default_factory=set)
    as_changes: dict[Key, bool] = field(default_factory=dict)

    def still_right(self, changes: frozenset[Key], dropped: set[str]) -> bool:
        """Return True if the run kept every endpoint and stores each repository written
        early as it was written (whole, or as changes)."""
        return not dropped and all((k in changes) == c for k, c in self.as_changes.items())


@dataclass
class RunWriter:
    """Writes one run into the lake and commits it with its `runs` record, written last."""

    store: LakeStore
    run_id: str
    snapshot_date: str
    spool: Path  # a local folder for the crawl's lanes, removed with the run
    manifests: dict[str, str] = field(default_factory=dict)
    lanes: list[Lane] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)  # for the commit record
    dropped_endpoints: set[str] = field(default_factory=set)
    _closed: list[Segment] = field(default_factory=list)  # lanes' segments, to take early
    _record: pa.Table | None = None
    _parts: tuple[PartWriter, PartWriter] | None = None  # tag_snapshots, the changes' spool
    _early: EarlyWrites = field(default_factory=EarlyWrites)
    # Repositories meant to be stored as changes that the run stored whole (DuckDB could not
    # compute their changes in its memory): their target_runs say so.
    stored_whole: frozenset[Key] = frozenset()

    @property
    def staging(self) -> str:
        """Where the run's partitions are written: `_staging/R` in a local folder, to be
        renamed into place; their final keys on object storage, which cannot rename."""
        return self.store.path(STAGING, self.run_id) if self.store.local else self.store.root

    def new_lane(self) -> Lane:
        """Return a new staging lane for one crawl worker's pages."""
        folder = self.spool / "lanes"
        folder.mkdir(parents=True, exist_ok=True)
        self.lanes.append(Lane(folder, f"{len(self.lanes):04d}", self._closed.append))
        return self.lanes[-1]

    def closed_segments(self) -> list[Segment]:
        """Return the lanes' segments closed since the last call (for `write_early`)."""
        taken, self._closed[:] = list(self._closed), []
        return taken

    def add_manifests(self, pairs: list[tuple[Any, Any]], known: set[str]) -> None:
        """Keep each manifest not seen before once per digest (not once per tag), from the
        (digest, manifest) of a page's tags."""
        for digest, manifest in pairs:
            if isinstance(digest, str) and isinstance(manifest, str) and manifest:
                if digest not in known and digest not in self.manifests:
                    self.manifests[digest] = manifest

    def drop_endpoint(self, endpoint: str) -> None:
        """Leave an endpoint's tags out of the run (its targets were failed after crawling)."""
        self.dropped_endpoints.add(endpoint)

    def write_run(
        self,
        target_runs: pa.Table,
        run: pa.Table,
        repositories: pa.Table | None = None,
        discoveries: pa.Table | None = None,
        changes: Changes | None = None,
    ) -> None:
        """Write every table of the run but its commit record: Parquet, zstd; the repositories
        of `changes` as what changed, the others whole. The `runs` row is kept for `publish`,
        which writes it listing every file with its row count."""
        self._write_snapshots(changes)
        if self.stored_whole:
            target_runs = listed_whole(target_runs, self.stored_whole)
        empty_repositories = REPOSITORY_ROW_SCHEMA.empty_table()
        self._write_table(
            "repositories", empty_repositories if repositories is None else repositories
        )
        empty_discoveries = DISCOVERY_SCHEMA.empty_table()
        self._write_table("discoveries", empty_discoveries if discoveries is None else discoveries)
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
        files = pa.array([self.files], type=RUN_FILES)
        self._record = run.set_column(run.schema.get_field_index("files"), "files", files)

    def write_early(
        self, tags: pa.Table, segments: list[Segment], as_changes: frozenset[Key]
    ) -> None:
        """Write the listings of closed `segments` (their rows: `tags`) while the run crawls:
        to `tag_snapshots`, or to the spool of the repositories to store as changes
        (`as_changes`, if they complete). `write_run` writes the rest, or all of it anew if
        the run decided otherwise (an endpoint dropped)."""
        self._write_split(tags, key_texts(as_changes))
        for segment in segments:
            self._early.segments.add(segment.path)
            self._early.as_changes.update((key, key in as_changes) for key in segment.completed)

    def _write_split(self, tags: pa.Table, as_changes: pa.Array) -> None:
        """Write `tags` to `tag_snapshots`, but those of repositories `as_changes` (keys as
        `key_texts` gives them) to the changes' spool."""
        parts, spooled = self._snapshot_parts()
        whole, changed = split(tags, as_changes)
        if whole.num_rows:
            parts.write(whole)
        if changed.num_rows:
            with self.spooling():
                spooled.write(changed)

    @contextmanager
    def spooling(self) -> Iterator[None]:
        """Turn a failed write to the run's local spool into WriteFailed naming it: on an
        object-storage lake the spool is a local folder, not the lake."""
        try:
            yield
        except (OSError, pa.ArrowException) as exc:
            raise WriteFailed(f"the run's staging {self.spool}", exc) from None

    def _snapshot_parts(self) -> tuple[PartWriter, PartWriter]:
        if self._parts is None:
            listed = self.spool / "delta_listed"
            with self.spooling():
                listed.mkdir(parents=True, exist_ok=True)
            self._parts = (
                PartWriter(self.store, self._folder("tag_snapshots", make=False), SNAPSHOT_SCHEMA),
                PartWriter(local_store(listed), str(listed), SNAPSHOT_SCHEMA),
            )
        return self._parts

    def _forget_early(self) -> None:
        """Remove what `write_early` wrote: the run stores its repositories otherwise."""
        if self._parts is not None:
            for part in self._parts:
                part.close()
                if part.written:
                    part.store.remove_tree(part.folder)
        self._parts = None
        self._early = EarlyWrites()

    def _write_snapshots(self, changes: Changes | None) -> None:
        """Write the staged pages of completed targets as a few large zstd Parquet files: the
        repositories listed whole to `tag_snapshots`, the others' changes to `tag_deltas`."""
        keys = changes.keys if changes is not None else frozenset()
        if not self._early.still_right(keys, self.dropped_endpoints):
            self._forget_early()
        wanted = key_texts(keys)
        for chunk in chunks(self._kept_batches(), ROWS_PER_GROUP):
            self._write_split(chunk, wanted)
        parts, spooled = self._snapshot_parts()
        parts.close()
        with self.spooling():
            spooled.close()
        self._listed("tag_snapshots", parts)
        if changes is not None and changes.keys:
            self._write_changes(changes, [f"{spooled.folder}/{n}" for n, _ in spooled.written])

    def _write_changes(self, changes: Changes, listed: list[str]) -> None:
        """Write to `tag_deltas` what the spooled listings `listed` change; if DuckDB cannot
        compute that in its memory, store those repositories whole instead: a whole listing
        is always right, only larger (the first run of a day stores them so anyway)."""
        deltas = PartWriter(self.store, self._folder("tag_deltas", make=False), DELTA_SCHEMA)
        run = (self.run_id, changes.snapshot_at)
        try:
            batches = delta_batches(changes.warehouse, listed, changes.keys, run, ROWS_PER_GROUP)
            for chunk in chunks(batches, ROWS_PER_GROUP, DELTA_SCHEMA):
                deltas.write(chunk)
            deltas.close()
        except ComparisonTooLarge as exc:
            deltas.close()
            if deltas.written:
                self.store.remove_tree(deltas.folder)
            log.warning("%s; the run stores those %d repositories whole", exc, len(changes.keys))
            whole = PartWriter(
                self.store, self._folder("tag_snapshots", make=False), SNAPSHOT_SCHEMA, "whole"
            )
            for path in listed:
                for batch in pq.ParquetFile(path).iter_batches(ROWS_PER_GROUP):
                    whole.write(pa.Table.from_batches([batch]))
            whole.close()
            self._listed("tag_snapshots", whole)
            self.stored_whole = changes.keys
            return
        self._listed("tag_deltas", deltas)

    def _listed(self, table: str, parts: PartWriter) -> None:
        self.files += [{"table": table, "file": name, "rows": rows} for name, rows in parts.written]

    def _folder(self, table: str, make: bool = True) -> str:
        folder = f"{self.staging}/{partition(table, self.snapshot_date, self.run_id)}"
        if make:
            self.store.make_dirs(folder)
        return folder

    def _kept_batches(self) -> Iterator[pa.RecordBatch]:
        dropped = pa.array(sorted(self.dropped_endpoints), type=pa.string())
        for lane in self.lanes:
            for batch in lane.batches(skip=self._early.segments):
                if len(dropped):
                    batch = batch.filter(pc.invert(pc.is_in(batch.column("endpoint"), dropped)))
                yield batch

    def _write_table(self, table: str, data: pa.Table) -> None:
        if data.num_rows == 0 and table not in ("target_runs", "runs"):
            return  # an object fewer for every reader to list: no file reads as no rows
        path = f"{self._folder(table)}/{table}.parquet"
        pq.write_table(data, path, compression="zstd", filesystem=self.store.fs)
        if table != "runs":
            self.files.append({"table": table, "file": f"{table}.parquet", "rows": data.num_rows})

    def publish(self) -> None:
        """Put every table's partition in place and then write the commit record: the run is
        committed. Locally each partition is renamed into the lake, `runs` last."""
        assert self._record is not None, "write_run comes first"
        for table in TABLES[:-1]:
            self._move_into_place(table)
        failpoint("lake-half-published")
        self._write_table("runs", self._record)
        self._move_into_place("runs")
        self._remove_local_staging()

    def _move_into_place(self, table: str) -> None:
        if not self.store.local:
            return  # written under its final keys
        where = partition(table, self.snapshot_date, self.run_id)
        if not os.path.isdir(f"{self.staging}/{where}"):
            return  # a table this run has no file of (`tag_deltas` of a run listing all whole)
        target = self.store.path(where)
        self.store.make_dirs(target.rsplit("/", 1)[0])
        os.replace(f"{self.staging}/{where}", target)
        fsync(Path(target).parent)

    def abandon(self) -> bool:
        """Remove everything this run wrote (writing nothing more: the disk may be full);
        return False if some of it could not be removed (an object store out of reach: the
        next sync removes it once `output.orphan_grace` has passed)."""
        for lane in self.lanes:
            lane.discard()
        self._remove_local_staging()
        removed = True
        if not self.store.local:
            for table in TABLES[:-1]:
                try:
                    self.store.remove_tree(
                        self.store.path(partition(table, self.snapshot_date, self.run_id))
                    )
                except OSError:
                    removed = False
        return removed

    def _remove_local_staging(self) -> None:
        shutil.rmtree(self.spool, ignore_errors=True)
        if self.store.local:
            shutil.rmtree(self.staging, ignore_errors=True)


def key_texts(keys: frozenset[Key]) -> pa.Array:
    """Return repositories' keys as `split` takes them (`deltas.key_text`)."""
    return pa.array(sorted(key_text(k) for k in keys), type=pa.string())


def listed_whole(target_runs: pa.Table, keys: frozenset[Key]) -> pa.Table:
    """Return `target_runs` with the listing of the repositories `keys` FULL."""
    listing = pc.if_else(
        pc.is_in(keys_of(target_runs), value_set=key_texts(keys)),
        pa.scalar(FULL),
        target_runs.column("listing"),
    )
    return target_runs.set_column(target_runs.schema.get_field_index("listing"), "listing", listing)


def split(chunk: pa.Table, as_changes: pa.Array) -> tuple[pa.Table, pa.Table]:
    """Return the rows of repositories listed whole, and those of the repositories whose keys
    (`deltas.key_text`) are `as_changes`."""
    if not len(as_changes):
        return chunk, chunk.slice(0, 0)
    mask = pc.is_in(keys_of(chunk), as_changes)
    return chunk.filter(pc.invert(mask)), chunk.filter(mask)
