"""The lake over years: old whole listings rewritten as changes (`swr-etl thin`), so that the
lake keeps every change and a whole listing of each repository only once a period.

A run chosen (started before a cut-off, and not the first run with whole listings of its
period) has its whole listings rewritten as the tags they open and close against the state
the lake held before it: the documented query (`sql/lake/state.sql`, docs/other-engines.md)
over the runs since each of its repositories was last listed whole, compared by the same rule
as a sync's changes (`etl.store.versioning`). Each step leaves every reader right, whether it
reads the commit records (`load`, `rebuild`) or globs the folders (the documented views):

1. the changes are written as new `tag_deltas` files of the run: a folder reader ignores a
   run's changes of a repository the same run lists whole;
2. a new `target_runs` file says `delta` for those repositories: a folder reader that finds
   both rows still takes the whole listing;
3. the commit record is replaced (one rename, or one PUT): record readers read the changes;
4. once `output.orphan_grace` has passed (readers that hold the old record still read the old
   files), the files the record no longer lists are deleted, `target_runs` first.

A marker (`etl.store.replaced`), written before step 1, names the files replaced; its
`clear_replaced` (run by `thin` and at the start of every sync) finishes step 4, or removes
what an attempt that died before step 3 wrote.
"""

from __future__ import annotations

import bisect
import os
import posixpath
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.errors import StorageError
from etl.failpoints import failpoint
from etl.results import Key
from etl.schemas import DELTA, DELTA_SCHEMA, RUN_FILES, SNAPSHOT_SCHEMA, TARGET_RUN_SCHEMA
from etl.status import TargetStatus
from etl.store import queries, versioning, warehouse
from etl.store.commits import COMMIT_RECORD, Commit, commits_in_order, listed_runs
from etl.store.deltas import KEY_COLUMNS
from etl.store.files import fsync, replacing
from etl.store.lake import STAGING, partition
from etl.store.loading import lake_dataset, lake_view
from etl.store.parts import ROWS_PER_GROUP, PartWriter
from etl.store.replaced import clear_replaced, marker_path, marker_text
from etl.store.storage import LakeStore

# The documented query names the run it answers for in its first line; here a table holds it.
WANTED_LATEST = "SELECT CAST(NULL AS STRING) AS run_id"
WANTED_RUN = "SELECT run_id FROM thin_wanted"
RUNS_READ = pa.schema(
    [("run_id", pa.string()), ("seq", pa.int64()), ("started_at", pa.timestamp("us", tz="UTC"))]
)


@dataclass(frozen=True)
class Thinned:
    """What one `thin` did."""

    runs: list[str]  # the runs whose whole listings are now stored as changes
    kept: list[str]  # runs older than the cut-off kept whole: the first of each period
    listing_bytes: int  # bytes of the whole listings replaced
    change_bytes: int  # bytes of the changes written in their place
    deleted: int  # replaced files deleted (their grace had passed)


def runs_to_thin(
    ordered: list[Commit], cutoff: datetime, keep_every_s: float
) -> tuple[list[Commit], list[Commit]]:
    """Return the runs (in load order) whose whole listings become changes, and those kept
    whole: of the runs started before `cutoff` that hold whole listings, the first of each
    `keep_every_s` period (counted in UTC from the epoch) is kept. Runs whose record
    lists no files (written before records did) are left as they are."""
    chosen: list[Commit] = []
    kept: list[Commit] = []
    periods: set[int] = set()
    for commit in ordered:
        if commit.files is None or not commit.files.get("tag_snapshots"):
            continue
        if commit.started_at >= cutoff:
            continue
        period = int(commit.started_at.timestamp() // keep_every_s)
        if period not in periods:
            periods.add(period)
            kept.append(commit)
        else:
            chosen.append(commit)
    return chosen, kept


def thin(
    store: LakeStore,
    older_than_s: float,
    keep_every_s: float,
    grace_s: float,
    now: datetime | None = None,
) -> Thinned:
    """Rewrite as changes the whole listings of the lake's runs started more than
    `older_than_s` ago but the first of each `keep_every_s` period, then delete the files
    replaced more than `grace_s` ago. Call it holding the lake's lock (a local folder)."""
    now = now or datetime.now(UTC)
    if store.local:  # what a killed thin left in staging (we hold the lake's lock)
        for name in store.children(store.path(STAGING)):
            if name.startswith("thin-"):
                store.remove_tree(store.path(STAGING, name))
    ordered = commits_in_order(store, listed_runs(store))
    chosen, kept = runs_to_thin(ordered, now - timedelta(seconds=older_than_s), keep_every_s)
    listing_bytes = change_bytes = 0
    position = {commit.run_id: index for index, commit in enumerate(ordered)}
    last = max((position[c.run_id] for c in chosen), default=-1)
    sightings = Sightings.of(ordered[:last])
    with tempfile.TemporaryDirectory(prefix="swr-etl-thin-") as spill, duckdb.connect() as con:
        # In little memory whatever the lake's size, as a sync: DuckDB spills beyond it. One
        # thread: two ran out of that limit at 200,000 tags (each holds buffers of its own).
        con.execute(f"SET memory_limit = '{warehouse.MEMORY_LIMIT_MB}MB'")
        con.execute(f"SET temp_directory = '{spill}'")
        con.execute("SET preserve_insertion_order = false")
        con.execute("SET threads = 1")
        versioning.define_rule(con)
        con.register("runs", _runs(ordered))
        for commit in chosen:
            try:
                replaced, written = _thin_run(con, ordered, position[commit.run_id], sightings)
            except (OSError, pa.ArrowException, duckdb.Error) as exc:
                reason = " ".join(str(exc).split())[:300]
                raise StorageError(
                    f"cannot thin run {commit.run_id} in {store.url}: {reason}; it reads as "
                    "before, and what this attempt wrote is removed by the next thin or sync"
                ) from None
            listing_bytes += replaced
            change_bytes += written
    deleted = clear_replaced(store, grace_s)
    return Thinned(
        [c.run_id for c in chosen], [c.run_id for c in kept], listing_bytes, change_bytes, deleted
    )


def _runs(ordered: list[Commit]) -> pa.Table:
    rows = [
        {
            name: c.row.column(name)[0].as_py() if name in c.row.column_names else None
            for name in RUNS_READ.names
        }
        for c in ordered
    ]
    return pa.Table.from_pylist(rows, schema=RUNS_READ)


def _thin_run(
    con: duckdb.DuckDBPyConnection, ordered: list[Commit], index: int, sightings: Sightings
) -> tuple[int, int]:
    """Rewrite the whole listings of run `ordered[index]` as changes; return the bytes of the
    listings replaced and of the changes written."""
    commit = ordered[index]
    store = commit.store
    snapshots = commit.files_of("tag_snapshots")
    old_target_runs = commit.files_of("target_runs")
    target_runs = lake_dataset(store, old_target_runs, TARGET_RUN_SCHEMA).to_table()
    whole = target_runs.filter(_whole(target_runs))
    keys = pa.table({name: whole.column(name) for name in KEY_COLUMNS})
    con.register(versioning.TARGETS, keys)
    listed_as = "*, NULL::VARCHAR AS op"  # whole listings, as the rule reads them
    lake_view(con, versioning.LISTED, store, snapshots, DELTA_SCHEMA, listed_as)
    _state_before(con, ordered, index, {tuple(k.values()) for k in keys.to_pylist()}, sightings)
    queries.run_script(con, "lake/known_before")  # held once: compared part by part
    token = secrets.token_hex(4)
    marker = marker_path(store, commit, token)
    store.write_text(marker, marker_text(commit, token, old_target_runs + snapshots))
    written = _write_changes(con, commit, token)
    failpoint("thin-changes-written")
    new_target_runs = _write_target_runs(commit, token, _as_changes(target_runs))
    failpoint("thin-target-runs-written")
    _replace_record(commit, written, new_target_runs)
    store.write_text(marker, marker_text(commit, token, old_target_runs + snapshots))
    failpoint("thin-recorded")
    if store.local:
        shutil.rmtree(store.path(STAGING, f"thin-{token}"), ignore_errors=True)
    replaced = sum(_size(store, path) for path in snapshots)
    folder = store.path(partition("tag_deltas", commit.snapshot_date, commit.run_id))
    return replaced, sum(_size(store, f"{folder}/{name}") for name, _ in written)


def _whole(target_runs: pa.Table) -> pa.Array:
    """Which rows are of repositories the run listed whole (ok, not stored as changes)."""
    ok = pc.equal(target_runs.column("status"), "ok")
    whole = pc.invert(pc.fill_null(pc.equal(target_runs.column("listing"), "delta"), False))
    return pc.and_(ok, whole)


def _state_before(
    con: duckdb.DuckDBPyConnection,
    ordered: list[Commit],
    index: int,
    wanted: set[Key],
    sightings: Sightings,
) -> None:
    """Make `lake_known` the registry after the run before
    `ordered[index]`, by the documented query over the runs since each repository in `wanted`
    was last listed whole (earlier runs cannot change what it says of them)."""
    store = ordered[index].store
    window = ordered[sightings.window_start(index, wanted) : index]
    files = {
        table: [path for commit in window for path in commit.files_of(table)]
        for table in ("target_runs", "tag_snapshots", "tag_deltas")
    }
    # Few rows, and older runs' files may all lack `listing`: read through Arrow with it.
    target_runs = lake_dataset(store, files["target_runs"], TARGET_RUN_SCHEMA).to_table()
    con.register("target_runs", target_runs)
    lake_view(con, "tag_snapshots", store, files["tag_snapshots"], SNAPSHOT_SCHEMA)
    lake_view(con, "tag_deltas", store, files["tag_deltas"], DELTA_SCHEMA)
    before = ordered[index - 1].run_id if index else None
    con.register("thin_wanted", pa.table({"run_id": pa.array([before], pa.string())}))
    text = queries.sql("lake/state").replace(WANTED_LATEST, WANTED_RUN, 1).rstrip().rstrip(";")
    con.sql(text).create_view("lake_known", replace=True)


@dataclass(frozen=True)
class Sightings:
    """Where each repository was synced, by position in load order: its first sync, and its
    syncs that say whole what it holds (a whole listing, or none left: not found, untracked)."""

    first: dict[Key, int]
    whole: dict[Key, list[int]]  # ascending

    @classmethod
    def of(cls, ordered: list[Commit]) -> Sightings:
        """Read the `target_runs` of every run in `ordered` (one pass)."""
        first: dict[Key, int] = {}
        whole: dict[Key, list[int]] = {}
        for position, commit in enumerate(ordered):
            rows = lake_dataset(commit.store, commit.files_of("target_runs"), TARGET_RUN_SCHEMA)
            table = rows.to_table(columns=[*KEY_COLUMNS, "status", "listing"])
            for row in table.to_pylist():
                key = (row["endpoint"], row["namespace"], row["repository"])
                first.setdefault(key, position)
                if TargetStatus(row["status"]).synced and row["listing"] != DELTA:
                    whole.setdefault(key, []).append(position)
        return cls(first, whole)

    def window_start(self, index: int, wanted: set[Key]) -> int:
        """Return the first position the state before run `index` needs for `wanted`: the
        earliest of their last whole syncs before it (or first syncs, for one without)."""
        start = index
        for key in wanted:
            positions = self.whole.get(key, [])
            before = bisect.bisect_left(positions, index)
            if before:
                start = min(start, positions[before - 1])
            elif self.first.get(key, index) < index:
                start = min(start, self.first[key])
        return start


def _write_changes(
    con: duckdb.DuckDBPyConnection, commit: Commit, token: str
) -> list[tuple[str, int]]:
    """Write the run's changes as `tag_deltas` files named for `token`; return (name, rows)."""
    store = commit.store
    final = store.path(partition("tag_deltas", commit.snapshot_date, commit.run_id))
    folder = store.path(STAGING, f"thin-{token}") if store.local else final
    parts = PartWriter(store, folder, DELTA_SCHEMA, prefix=f"thin-{token}")
    run = (commit.run_id, commit.started_at)
    for batch in versioning.lake_changes(con, run, 1, ROWS_PER_GROUP):
        parts.write(pa.Table.from_batches([batch]))
    parts.close()
    if store.local:
        for name, _ in parts.written:
            _move_into(store, f"{folder}/{name}", f"{final}/{name}")
    return parts.written


def _as_changes(target_runs: pa.Table) -> pa.Table:
    """Return `target_runs` with `listing = 'delta'` for the repositories listed whole."""
    changed = _whole(target_runs)
    listing = pc.if_else(changed, pa.scalar("delta"), target_runs.column("listing"))
    return target_runs.set_column(target_runs.schema.get_field_index("listing"), "listing", listing)


def _write_target_runs(commit: Commit, token: str, rows: pa.Table) -> tuple[str, int]:
    """Write the run's new `target_runs` file; return its (name, rows)."""
    store = commit.store
    name = f"target_runs-{token}.parquet"
    final = store.path(partition("target_runs", commit.snapshot_date, commit.run_id), name)
    path = store.path(STAGING, f"thin-{token}", name) if store.local else final
    store.make_dirs(posixpath.dirname(path))
    pq.write_table(rows, path, compression="zstd", filesystem=store.fs)
    if store.local:
        _move_into(store, path, final)
    return name, rows.num_rows


def _replace_record(
    commit: Commit, changes_written: list[tuple[str, int]], target_runs: tuple[str, int]
) -> None:
    """Replace the run's commit record with one that lists the changes and the new
    `target_runs` instead of the whole listings and the old one: one rename, or one PUT."""
    assert commit.files is not None
    entries = [
        {"table": table, "file": name, "rows": rows}
        for table, listed in commit.files.items()
        if table not in ("tag_snapshots", "target_runs")
        for name, rows in listed
    ]
    entries += [{"table": "tag_deltas", "file": n, "rows": r} for n, r in changes_written]
    entries.append({"table": "target_runs", "file": target_runs[0], "rows": target_runs[1]})
    row = commit.row
    files = pa.array([entries], type=RUN_FILES)
    row = row.set_column(row.schema.get_field_index("files"), "files", files)
    store = commit.store
    record = store.path(partition("runs", commit.snapshot_date, commit.run_id), COMMIT_RECORD)
    if not store.local:
        pq.write_table(row, record, compression="zstd", filesystem=store.fs)
        return
    with replacing(Path(record)) as partial:  # `.runs.parquet.PID.partial`: no reader globs it
        pq.write_table(row, partial, compression="zstd")
        fsync(partial)
    fsync(posixpath.dirname(record))


def _move_into(store: LakeStore, source: str, target: str) -> None:
    store.make_dirs(posixpath.dirname(target))
    fsync(source)
    os.replace(source, target)
    fsync(posixpath.dirname(target))


def _size(store: LakeStore, path: str) -> int:
    return int(store.fs.get_file_info(path).size or 0)
