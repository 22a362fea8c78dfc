"""The DuckDB warehouse: schema and views from `sql/`, and loading committed lake runs.

A run is loaded in one transaction and only once: `load_run` on a run already present changes
nothing. Tags are kept as versions (`tag_history`), so the database grows with changes, not
with tags × runs.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.dataset as ds

from etl import lake
from etl.errors import EtlError
from etl.failpoints import failpoint
from etl.pages import SNAPSHOT_SCHEMA

MEMORY_LIMIT = "128MB"

# Views are created in this order: a view may read those before it.
VIEWS = ("tags_current", "tag_snapshots", "tag_age", "tag_state", "tag_diff")
# Files with these prefixes are statements run by name, not views applied on open.
STATEMENT_PREFIXES = ("load_", "report_")
# The versioning steps of a load run once per part of the targets, so their hash joins hold at
# most about VERSIONS_PER_PART current versions whatever the registry size.
VERSIONING_STEPS = (
    "load_current_versions",
    "load_diff",
    "load_close_versions",
    "load_open_versions",
)
VERSIONS_PER_PART = 750_000  # measured: 1M versions fit in MEMORY_LIMIT, 96 MB was too little


def sql_dir() -> Path:
    """Return the folder of SQL files: packaged in the wheel, or `sql/` in a checkout."""
    packaged = resources.files("etl") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "sql"


def sql(name: str) -> str:
    """Return the text of `sql/<name>.sql`."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")


def view_files() -> list[str]:
    """Return the names of the SQL files that define views, in creation order."""
    extra = sorted(
        p.stem
        for p in sql_dir().glob("*.sql")
        if p.stem not in VIEWS and p.stem != "schema" and not p.stem.startswith(STATEMENT_PREFIXES)
    )
    return [*VIEWS, *extra]


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and (re)create every view: an old database is brought forward."""
    con.execute(sql("schema"))
    for name in view_files():
        con.execute(sql(name))


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to the warehouse with the schema and views applied."""
    if read_only and not path.exists():
        raise EtlError(f"no database at {path} yet: run `swr-etl sync` first")
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.Error as exc:
        raise EtlError(f"cannot open DuckDB file {path}: {exc}") from None
    try:
        con.execute("SET TimeZone = 'UTC'")
        if not read_only:
            # A sync must run in little memory whatever the registry's size: DuckDB spills to
            # disk beyond this, and keeps no insertion order it does not need. Readers
            # (report, query) keep DuckDB's defaults.
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            con.execute("SET preserve_insertion_order = false")
            apply_schema(con)
        yield con
    finally:
        con.close()


def loaded_run_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Return the ids of every run already in the warehouse."""
    return {row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()}


def manifest_digests(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Return the digests whose manifest is already stored."""
    return {row[0] for row in con.execute("SELECT digest FROM manifests").fetchall()}


def load_run(
    con: duckdb.DuckDBPyConnection, lake_path: Path, snapshot_date: str, run_id: str
) -> bool:
    """Load one committed lake run in one transaction; return False if it was already loaded.

    Raises EtlError (one line) if DuckDB refuses a step: nothing of the run is kept in the
    database, and the lake still holds it for the next sync's catch-up.
    """
    con.execute("BEGIN TRANSACTION")
    step = "reading the run"
    try:
        if con.execute("SELECT 1 FROM runs WHERE run_id = $r", {"r": run_id}).fetchall():
            con.execute("ROLLBACK")
            return False
        run = _read_one(lake_path, "runs", snapshot_date, run_id)
        started_at = run.column("started_at")[0].as_py()
        params = {"seq": next_seq(con), "run_id": run_id, "snapshot_at": started_at}
        _register_staged(con, lake_path, snapshot_date, run_id, run)
        for step, values in load_steps(con, params):
            text = sql(step)
            con.execute(text, named_params(text, values))
        failpoint("warehouse-loading")
        step = "commit"
        con.execute("COMMIT")
    except duckdb.Error as exc:
        con.execute("ROLLBACK")
        reason = str(exc).splitlines()[0]
        raise EtlError(
            f"DuckDB could not load run {run_id} ({step}): {reason}; "
            "the run stays in the lake and the next sync loads it"
        ) from None
    except BaseException:
        con.execute("ROLLBACK")
        raise
    finally:
        for name in ("staged_target_runs", "staged_manifests", "staged_run", "staged_tags"):
            con.unregister(name)  # a no-op for names that were not registered
        con.execute("DROP VIEW IF EXISTS staged_tags")
        con.execute("DROP TABLE IF EXISTS staged_diff")
        con.execute("DROP TABLE IF EXISTS staged_current")
    return True


def load_steps(
    con: duckdb.DuckDBPyConnection, params: dict[str, Any]
) -> Iterator[tuple[str, dict[str, Any]]]:
    """Yield the SQL steps that load a run, in order, each with its parameters."""
    yield "load_target_runs", params
    parts = version_parts(con)
    for part in range(parts):
        for step in VERSIONING_STEPS:
            yield step, {**params, "part": part, "parts": parts}
    yield "load_manifests", params
    yield "load_run", params


def version_parts(con: duckdb.DuckDBPyConnection) -> int:
    """Return in how many parts to compare a run with the current versions."""
    (current,) = con.execute(
        "SELECT count(*) FROM tag_history WHERE valid_to_seq IS NULL"
    ).fetchall()
    return max(1, -(-int(current[0]) // VERSIONS_PER_PART))


def next_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchall()[0][0])


def params_for(step: str, params: dict[str, Any]) -> dict[str, Any]:
    """Return only the parameters a step's SQL names (DuckDB refuses unused ones)."""
    return named_params(sql(step), params)


def named_params(text: str, params: dict[str, Any]) -> dict[str, Any]:
    """Return only the parameters the SQL `text` names."""
    named = set(re.findall(r"\$([A-Za-z_]\w*)", text))
    return {k: v for k, v in params.items() if k in named}


def _read_one(lake_path: Path, table: str, snapshot_date: str, run_id: str) -> pa.Table:
    files = lake.run_files(lake_path, table, snapshot_date, run_id)
    if not files:
        raise EtlError(f"run {run_id} has no {table} in the lake at {lake_path}")
    return ds.dataset(files, format="parquet").to_table()


def _register_staged(
    con: duckdb.DuckDBPyConnection, lake_path: Path, snapshot_date: str, run_id: str, run: pa.Table
) -> None:
    tags = lake.run_files(lake_path, "tag_snapshots", snapshot_date, run_id)
    # DuckDB's own Parquet reader: faster than scanning through an Arrow dataset.
    if tags:
        con.read_parquet(tags).create_view("staged_tags")
    else:
        con.register("staged_tags", SNAPSHOT_SCHEMA.empty_table())
    con.register("staged_target_runs", _read_one(lake_path, "target_runs", snapshot_date, run_id))
    con.register("staged_manifests", _read_one(lake_path, "manifests", snapshot_date, run_id))
    con.register("staged_run", run)


def catch_up(con: duckdb.DuckDBPyConnection, lake_path: Path) -> list[str]:
    """Load every committed lake run the warehouse lacks, oldest first; return their ids."""
    have = loaded_run_ids(con)
    loaded = []
    for snapshot_date, run_id in lake.committed_runs(lake_path):
        if run_id not in have and load_run(con, lake_path, snapshot_date, run_id):
            loaded.append(run_id)
    return loaded


def rebuild(db_path: Path, lake_path: Path) -> list[str]:
    """Recreate the DuckDB file by replaying the lake's committed runs in order."""
    fresh = db_path.with_name(db_path.name + ".rebuild")
    fresh.unlink(missing_ok=True)
    with connect(fresh) as con:
        loaded = catch_up(con, lake_path)
        con.execute("CHECKPOINT")
    # The old file's write-ahead log belongs to the old file: drop it before the swap.
    Path(str(db_path) + ".wal").unlink(missing_ok=True)
    fresh.replace(db_path)
    return loaded


def publish_copy(db_path: Path, copy_path: Path) -> None:
    """Replace `copy_path` atomically with a copy of the (checkpointed, closed) database.

    Dashboards open the copy read-only: DuckDB lets one process write a file at a time, so
    readers of the copy never block the next sync, and they see whole runs only.
    """
    copy_path.parent.mkdir(parents=True, exist_ok=True)
    partial = copy_path.with_name(f".{copy_path.name}.{os.getpid()}.partial")
    shutil.copyfile(db_path, partial)
    os.replace(partial, copy_path)
