"""Loading committed lake runs into the DuckDB warehouse.

A run is loaded in one transaction and only once: `load_run` on a run already present changes
nothing. Tags are kept as versions (`tag_history`), so the database grows with changes, not
with tags × runs. `catch_up` loads what the database missed; `rebuild` makes it anew; both
load the records of cleanup applies too (`etl.store.cleanups`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from etl import schemas
from etl.errors import Refused, StorageError
from etl.failpoints import failpoint
from etl.results import Key
from etl.schemas import DELTA_SCHEMA
from etl.store import versioning
from etl.store.cleanups import load_cleanups
from etl.store.commits import Commit, commits_in_order, listed_runs
from etl.store.deltas import keys_table
from etl.store.known import (
    LOADS_BEFORE_SET_ASIDE,
    count_runs,
    latest_start_of,
    loaded_run_ids,
    next_seq,
    set_aside_in,
    set_aside_runs,
    version_parts,
)
from etl.store.ordering import runs_to_take_back, take_back
from etl.store.queries import ask, parquet_view, run_script, sql
from etl.store.storage import LakeStore
from etl.store.warehouse import connect

log = logging.getLogger("etl.store.loading")

# The versioning steps of a load, once per part of the targets (known.version_parts): the
# part's scope and current versions, then the one rule (etl.store.versioning).
VERSIONING_STEPS = ("load/version_scope", "load/version_current", *versioning.STEPS)


class LoadRefused(StorageError):
    """DuckDB refused a run's data, or the run's files do not match its commit record: the
    same run would fail again (a full disk or a busy file is not this)."""


def load_run(
    con: duckdb.DuckDBPyConnection, commit: Commit, continued: list[Key] | None = None
) -> bool:
    """Load one committed lake run in one transaction; return False if it was already loaded.

    `continued`: the targets already versioned in the transaction open on `con` (the load
    begun while the run crawled, `etl.store.early`); the load continues that transaction and
    leaves those targets out.

    Raises LoadRefused (one line) if DuckDB refuses a step or the run's files do not match its
    commit record, StorageError if the disk fails: either way nothing of the run is kept in
    the database, and the lake still holds it.
    """
    run_id = commit.run_id
    if continued is None:
        con.execute("BEGIN TRANSACTION")
    step = "reading the run"
    try:
        if ask(con, "known/run_loaded", run_id=run_id).rows:
            con.execute("ROLLBACK")
            return False
        started_at = commit.row.column("started_at")[0].as_py()
        params = {"seq": seq_for(con, commit), "run_id": run_id, "snapshot_at": started_at}
        _register_staged(con, commit, continued or [])
        for step, values in load_steps(con, params):
            run_script(con, step, **values)
        failpoint("warehouse-loading")
        step = "commit"
        con.execute("COMMIT")
        warn_overlaps(con, run_id)
    except StorageError as exc:
        rollback(con)
        raise LoadRefused(str(exc)) from None
    except duckdb.Error as exc:
        rollback(con)
        reason = str(exc).splitlines()[0]
        # A full or failing disk is not the run's fault: it must not count towards setting
        # the run aside.
        kind = StorageError if disk_trouble(exc) else LoadRefused
        raise kind(f"DuckDB could not load run {run_id} ({step}): {reason}") from None
    except BaseException:
        rollback(con)
        raise
    finally:
        drop_staged(con)
    return True


STAGED = ("target_runs", "manifests", "run", "early", "repositories", "discoveries")


def drop_staged(con: duckdb.DuckDBPyConnection) -> None:
    """Forget what a load staged, whether it got that far or not."""
    for name in STAGED:
        con.unregister(f"staged_{name}")  # a no-op for names that were not registered
    versioning.forget(con)


# DuckDB reports a failed write of its write-ahead log at COMMIT as a TransactionException,
# so the disk's trouble is also recognised by what the message says.
DISK_TROUBLE = ("No space left on device", "Disk quota exceeded", "Could not write file")


def disk_trouble(exc: duckdb.Error) -> bool:
    """Return True if DuckDB failed because of the disk, not because of the data."""
    return isinstance(exc, duckdb.IOException) or any(s in str(exc) for s in DISK_TROUBLE)


def rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll the open transaction back, if a failed COMMIT has not already ended it."""
    try:
        con.execute("ROLLBACK")
    except duckdb.TransactionException:
        pass


def load_steps(
    con: duckdb.DuckDBPyConnection, params: dict[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield the SQL steps that load a run, in order, each with its parameters."""
    yield "load/target_runs", params
    parts = version_parts(con, params["seq"])
    for part in range(parts):
        for step in VERSIONING_STEPS:
            yield step, {**params, "part": part, "parts": parts}
    yield "load/target_sizes", params
    yield "load/manifests", params
    yield "load/discoveries", params
    yield "load/close_repositories", params
    yield "load/open_repositories", params
    yield "load/run_totals", params
    yield "load/run", params


def seq_for(con: duckdb.DuckDBPyConnection, commit: Commit) -> int:
    """Return the sequence number a run is loaded with: its commit record's, or the next one
    when that is taken (older runs carry none; another writer sharing the lake counts its own).

    Raises StorageError if a writer's run would come after a later run of the same writer:
    its tags' versions would be recorded out of order.
    """
    following = next_seq(con)
    if commit.seq is None or commit.seq >= following:
        return following if commit.seq is None else commit.seq
    # One writer by its identity, whatever the names of the others; by its name before ids.
    who, later = (
        commit.writer_id or commit.writer,
        latest_start_of(con, commit.writer_id, commit.writer),
    )
    if who is None or (later is not None and later >= commit.started_at):
        raise StorageError(
            f"run {commit.run_id} has sequence number {commit.seq}, but the database already "
            f"holds runs up to {following - 1}: `swr-etl rebuild` replays the lake in order"
        )
    return following


def warn_overlaps(con: duckdb.DuckDBPyConnection, run_id: str, shown: int = 5) -> None:
    """Say which repositories of a loaded run another writer synced just before: two configs
    that sync one repository interleave its history."""
    rows = con.execute(sql("load/overlaps"), {"run_id": run_id}).fetchall()
    for endpoint, namespace, repository, writer, other, other_run in rows[:shown]:
        log.warning(
            "%s/%s/%s is synced by two writers: %s (run %s) and %s (run %s); configs sharing "
            "a lake must not sync the same repository (name their endpoints apart)",
            endpoint,
            namespace,
            repository,
            other,
            other_run,
            writer,
            run_id,
        )
    if len(rows) > shown:
        log.warning("… and %d more repositories synced by two writers", len(rows) - shown)


def _read_one(commit: Commit, table: str, schema: pa.Schema | None = None) -> pa.Table:
    files = commit.files_of(table)
    if not files:
        raise StorageError(f"run {commit.run_id} has no {table} in the lake {commit.store.url}")
    data = lake_dataset(commit.store, files).to_table()
    return data if schema is None else conform(data, schema)


def lake_dataset(store: LakeStore, files: list[str], schema: pa.Schema | None = None) -> ds.Dataset:
    """Return the lake's Parquet `files` as one Arrow dataset; with a schema, a column a file
    lacks reads as NULL (a whole listing has no `op`, an older run's `target_runs` no
    `listing`)."""
    return ds.dataset(files, schema=schema, format="parquet", filesystem=store.fs)


def lake_view(
    con: duckdb.DuckDBPyConnection,
    name: str,
    store: LakeStore,
    files: list[str],
    schema: pa.Schema,
    columns: str = "*",
) -> None:
    """Make `name` read the lake's Parquet `files` (no file: no row of `schema`): in a folder
    with DuckDB's own reader (faster than an Arrow dataset, and it streams in little memory),
    on object storage through pyarrow's filesystem as `schema` (DuckDB scans it in batches)."""
    con.execute(f"DROP VIEW IF EXISTS {name}")
    con.unregister(name)
    if not files:
        con.register(name, schema.empty_table())
    elif store.local:
        parquet_view(con, name, files, columns)
    else:
        con.register(name, lake_dataset(store, files, schema))


def _register_staged(con: duckdb.DuckDBPyConnection, commit: Commit, early: list[Key]) -> None:
    # The run's tags: whole listings (`op` NULL) and changes (`op` open or close), as one;
    # the targets versioned while the run crawled (`early`) are out of the load's scope.
    changes = commit.files_of("tag_deltas")
    tags = commit.files_of("tag_snapshots") + changes
    columns = "*" if changes else "*, NULL::VARCHAR AS op"
    con.register("staged_early", keys_table(early))
    lake_view(con, versioning.LISTED, commit.store, tags, DELTA_SCHEMA, columns)
    con.register("staged_target_runs", _read_one(commit, "target_runs", schemas.TARGET_RUN_SCHEMA))
    for table, schema in OPTIONAL_TABLES.items():
        files = commit.files_of(table)
        data = lake_dataset(commit.store, files).to_table() if files else schema.empty_table()
        con.register(f"staged_{table}", conform(data, schema))
    con.register("staged_run", conform(commit.row, schemas.RUN_SCHEMA))


# Tables a run may not have: written before discovery existed, or with no row (not written).
OPTIONAL_TABLES = {
    "manifests": schemas.MANIFEST_SCHEMA,
    "repositories": schemas.REPOSITORY_ROW_SCHEMA,
    "discoveries": schemas.DISCOVERY_SCHEMA,
}


def conform(table: pa.Table, schema: pa.Schema) -> pa.Table:
    """Return `table` with every column of `schema`: one an older run lacks is all NULL."""
    columns = [
        table.column(f.name) if f.name in table.column_names else pa.nulls(table.num_rows, f.type)
        for f in schema
    ]
    return pa.Table.from_arrays(columns, schema=schema)


def catch_up(
    con: duckdb.DuckDBPyConnection,
    store: LakeStore,
    listed: list[tuple[str, str]] | None = None,
) -> list[str]:
    """Load every committed lake run the warehouse lacks, in the lake's order (taking back the
    runs loaded after one that arrives late: `etl.store.ordering`); return their ids.

    A run that fails to load a second time is set aside for this database (recorded in its
    `load_failures`; the lake is left as it is, since other writers may share it) and the
    others are loaded; after a first failure the error is raised, so that no later run is
    loaded before it. `listed`: the lake's committed runs, when the caller has listed them.
    The lake's records of cleanup applies the warehouse lacks are loaded first
    (`etl.store.cleanups`).
    """
    load_cleanups(con, store)
    have = loaded_run_ids(con) | set(set_aside_runs(con))
    listed = listed_runs(store) if listed is None else listed
    missing = [(date, run_id) for date, run_id in listed if run_id not in have]
    pending = commits_in_order(store, missing)
    if pending:  # one that sorts before loaded runs is loaded before them
        seq, again = runs_to_take_back(con, store, listed, pending[0])
        if seq is not None:
            take_back(con, seq, pending[0].run_id)
            pending = commits_in_order(store, missing + again)
    loaded = []
    for commit in pending:
        try:
            if load_run(con, commit):
                loaded.append(commit.run_id)
        except LoadRefused as exc:
            if note_load_failure(con, commit.run_id, str(exc)) < LOADS_BEFORE_SET_ASIDE:
                raise
            log.error(
                "run %s failed to load twice and is set aside for this database (the lake "
                "keeps it): %s",
                commit.run_id,
                exc,
            )
    return loaded


def note_load_failure(con: duckdb.DuckDBPyConnection, run_id: str, reason: str) -> int:
    """Count one more failed load of a run in this database; return how many there were."""
    text = sql("load/failure")
    rows = con.execute(text, {"run_id": run_id, "reason": reason.replace("\n", " ")})
    return int(rows.fetchall()[0][0])


def rebuild(db_path: Path, store: LakeStore, force: bool = False) -> list[str]:
    """Recreate the DuckDB file by replaying the lake's committed runs in order.

    Refuses (unless `force`) when the lake holds fewer committed runs than the database: an
    unmounted or emptied lake must not erase the database. Nothing changes if a run's files
    do not match its commit record.
    """
    in_lake = len(listed_runs(store))
    in_db = count_runs(db_path)
    if in_lake < in_db and not force:
        raise Refused(
            f"the lake {store.url} has {in_lake} committed run(s) and the database {db_path} "
            f"has {in_db}: rebuilding would lose runs (is the lake mounted?); "
            "`swr-etl rebuild --force` rebuilds anyway"
        )
    aside = set_aside_in(db_path)
    fresh = db_path.with_name(db_path.name + ".rebuild")
    fresh.unlink(missing_ok=True)
    try:
        with connect(fresh) as con:
            loaded = []
            wanted = [(d, r) for d, r in listed_runs(store) if r not in aside]
            for commit in commits_in_order(store, wanted):
                if load_run(con, commit):
                    loaded.append(commit.run_id)
            for run_id, reason in aside.items():  # still set aside for this database
                for _ in range(LOADS_BEFORE_SET_ASIDE):
                    note_load_failure(con, run_id, reason)
            load_cleanups(con, store)
            con.execute("CHECKPOINT")
    except BaseException:
        fresh.unlink(missing_ok=True)
        Path(str(fresh) + ".wal").unlink(missing_ok=True)
        raise
    # The old file's write-ahead log belongs to the old file: drop it before the swap.
    Path(str(db_path) + ".wal").unlink(missing_ok=True)
    fresh.replace(db_path)
    return loaded
