"""The DuckDB warehouse: opening it (schema, macros and views from `sql/`), the SQL files by
name, what it tells a run before it crawls, and the read-only copy for dashboards. Loading
committed lake runs into it is `etl.store.loading`'s job."""

from __future__ import annotations

import hashlib
import logging
import re
import shutil
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from functools import cache, lru_cache
from graphlib import TopologicalSorter
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pyarrow as pa

from etl.errors import DatabaseBusy, StorageError, UsageError
from etl.failpoints import failpoint
from etl.results import Key
from etl.store.files import replacing

log = logging.getLogger("etl.store.warehouse")

MEMORY_LIMIT = "128MB"
LOADS_BEFORE_SET_ASIDE = 2  # a run that fails to load this often is set aside for the database
# A run is compared with the current versions in parts of about this many versions, so that
# the comparison's hash joins hold whatever the registry size.
VERSIONS_PER_PART = 750_000  # measured: 1M versions fit in MEMORY_LIMIT, 96 MB was too little
# What a reader (report, diff, query) may not do: touch files, fetch or load extensions, or
# change these settings back. With read_only, DuckDB also refuses every write to the database.
READER_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "enable_external_access": False,
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}


def sql_dir() -> Path:
    """Return the folder of SQL files: packaged in the wheel, or `sql/` in a checkout."""
    packaged = resources.files("etl") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "sql"


@cache  # the files are part of the installed version: read each once
def sql(name: str) -> str:
    """Return the text of `sql/<name>.sql` (`name` may name a folder: `load/diff`)."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")


# Macros and views: what `connect` creates on every read-write open, in dependency order.
DEFINITION_FOLDERS = ("macros", "views")
DEFINES = re.compile(r"CREATE OR REPLACE (?:VIEW|MACRO) (\w+)", re.IGNORECASE)
COMMENT = re.compile(r"--[^\n]*")
DEFINITION = re.compile(r"CREATE OR REPLACE (VIEW|MACRO)\b", re.IGNORECASE)


def definition_files() -> list[str]:
    """Return the macro and view files (`views/tags_current`, …) in an order where each comes
    after every file whose macro or view it names: the order is read from the SQL itself."""
    texts = {
        f"{folder}/{path.stem}": sql(f"{folder}/{path.stem}")
        for folder in DEFINITION_FOLDERS
        for path in sorted((sql_dir() / folder).glob("*.sql"))
    }
    owner = {defined: name for name, text in texts.items() for defined in DEFINES.findall(text)}
    needs = {
        name: {
            owner[word]
            for word in set(re.findall(r"\b\w+\b", COMMENT.sub("", text))) & owner.keys()
            if owner[word] != name
        }
        for name, text in texts.items()
    }
    return list(TopologicalSorter(needs).static_order())


# A macro that answers which definitions the database holds: this version's are applied only
# when it answers otherwise (a new database, another version), not on every open.
DIGEST_MACRO = "swr_etl_definitions"


@lru_cache(maxsize=1)
def definitions_digest() -> str:
    """Return a digest of this version's schema, macros and views."""
    texts = [sql("schema"), *(sql(name) for name in definition_files())]
    return hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]


def holds_these_definitions(con: duckdb.DuckDBPyConnection) -> bool:
    """Return True if the database holds exactly this version's definitions."""
    try:
        held = con.execute(f"SELECT {DIGEST_MACRO}()").fetchall()
    except duckdb.Error:
        return False
    return held == [(definitions_digest(),)]


def apply_schema(con: duckdb.DuckDBPyConnection) -> None:
    """Create missing tables and (re)create every macro and view: an old database is brought
    forward. Then mark the database as holding this version's definitions."""
    con.execute(sql("schema"))
    for name in definition_files():
        con.execute(sql(name))
    con.execute(f"CREATE OR REPLACE MACRO {DIGEST_MACRO}() AS '{definitions_digest()}'")


# A table of the schema, from the line that creates it to the one that closes it.
TABLE = re.compile(r"^CREATE (TABLE) IF NOT EXISTS (\w+) \(.*?\n\);", re.MULTILINE | re.DOTALL)


def define_for_reading(con: duckdb.DuckDBPyConnection) -> None:
    """On a read-only connection to a database another version wrote last, create this
    version's macros and views as temporary ones (they shadow the stored ones), so a reader
    upgraded before the next sync finds every view and macro it names, as this version
    defines them; a table this version adds is an empty temporary one until then."""
    held = set(ask(con, "start/tables").column("table_name"))
    for table in TABLE.finditer(sql("schema")):
        if table.group(2) not in held:
            con.execute(table.group(0).replace(table.group(1), "TEMP TABLE", 1))
    for name in definition_files():
        con.execute(DEFINITION.sub(r"CREATE OR REPLACE TEMP \1", sql(name)))


def readable_definitions(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """`define_for_reading`, or StorageError for a DuckDB file that is not a warehouse (another
    tool's, an empty one): its tables are not there to define the views over."""
    try:
        define_for_reading(con)
    except duckdb.Error as exc:
        raise StorageError(
            f"cannot read DuckDB file {path}: it is not swr-etl's database "
            f"({str(exc).splitlines()[0]}); is output.duckdb the file `swr-etl sync` writes?"
        ) from None


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a connection to the warehouse with this version's schema, macros and views (applied
    when the database holds others; on a read-only connection, as temporary ones).

    A read-only connection can read the database and nothing else: no file, no extension,
    no setting. Raises DatabaseBusy when another process holds the file open.
    """
    if read_only and not path.exists():
        raise UsageError(f"no database at {path} yet: run `swr-etl sync` first")
    try:
        con = duckdb.connect(
            str(path), read_only=read_only, config=READER_CONFIG if read_only else {}
        )
    except duckdb.Error as exc:
        reason = str(exc).splitlines()[0]
        if "Could not set lock" in reason:
            raise DatabaseBusy(
                f"DuckDB file {path} is in use by another process ({_holder(reason)})"
            ) from None
        raise StorageError(f"cannot open DuckDB file {path}: {reason}") from None
    try:
        con.execute("SET TimeZone = 'UTC'")
        if read_only:
            if not holds_these_definitions(con):
                readable_definitions(con, path)
            con.execute("SET lock_configuration = true")
        else:
            # A sync must run in little memory whatever the registry's size: DuckDB spills to
            # disk beyond this, and keeps no insertion order it does not need. Readers
            # (report, query) keep DuckDB's defaults.
            con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
            con.execute("SET write_buffer_row_group_count = 1")
            con.execute("SET preserve_insertion_order = false")
            if not holds_these_definitions(con):
                apply_schema(con)
        yield con
    finally:
        con.close()


@contextmanager
def reading(
    path: Path, copy: Path | None, note: Callable[[str], None]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-only connection to the warehouse at `path`, or to its read-only `copy`
    (telling `note` so) while another process holds the main file open: the one way readers
    (report, diff, query, dashboard) open it."""
    with ExitStack() as stack:
        try:
            con = stack.enter_context(connect(path, read_only=True))
        except DatabaseBusy as exc:
            if copy is None or not copy.exists():
                raise DatabaseBusy(
                    f"{exc}; set output.readonly_copy so that readers have a copy to open"
                ) from None
            note(
                f"note: {exc}; reading the read-only copy {copy} instead "
                "(as of the last run loaded before it was refreshed)"
            )
            con = stack.enter_context(connect(copy, read_only=True))
        yield con


class CurrentRepository(NamedTuple):
    """What a repository holds now: its current tags, under which tag filter, when the lake
    last stored its tags whole (None: never), the identity of the writer of its latest sync
    (None: a run written before writers had one), and how many of its tags a cleanup has
    deleted since (the next sync expects them gone)."""

    tags: int
    tag_filter: str | None
    listed_at: datetime | None = None
    written_by: str | None = None
    cleaned: int = 0


def loaded_run_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Return the ids of every run already in the warehouse."""
    return {row[0] for row in con.execute("SELECT run_id FROM runs").fetchall()}


def current_repositories(con: duckdb.DuckDBPyConnection) -> dict[Key, CurrentRepository]:
    """Return what each (endpoint, namespace, repository) holds now (`CurrentRepository`)."""
    rows = con.execute(sql("start/held")).fetchall()
    return {(e, n, r): CurrentRepository(int(tags), *rest) for e, n, r, tags, *rest in rows}


def scope_members(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """Return, per (endpoint, pattern), the repositories the pattern selected in earlier runs
    that still count as existing."""
    members: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for endpoint, pattern, namespace, repository in con.execute(
        sql("start/scope_members")
    ).fetchall():
        members.setdefault((endpoint, pattern), set()).add((namespace, repository))
    return members


def tracked(
    con: duckdb.DuckDBPyConnection, writer: str | None, writer_id: str | None
) -> dict[Key, str]:
    """Return the repositories the writer with identity `writer_id` (named `writer`) tracks
    now, each with how it was selected: a run that no longer selects one records it as
    untracked."""
    params = {"writer": writer, "writer_id": writer_id}
    rows = con.execute(sql("start/tracked"), params).fetchall()
    return {(e, n, r): selected_by for e, n, r, selected_by in rows}


def lost_identities(con: duckdb.DuckDBPyConnection, writer: str, endpoints: list[str]) -> list[str]:
    """Return the identities of the writers named `writer` whose repositories lie on one of
    `endpoints`: the one a writer that lost its identity file had, if there is one."""
    if not endpoints:
        return []
    rows = con.execute(sql("start/lost_identities"), {"writer": writer, "endpoints": endpoints})
    return [row[0] for row in rows.fetchall()]


def last_writers(con: duckdb.DuckDBPyConnection) -> dict[Key, tuple[str, str]]:
    """Return, per (endpoint, namespace, repository), the writer and run that last synced it."""
    rows = con.execute(sql("start/last_writers")).fetchall()
    return {(e, n, r): (writer, run_id) for e, n, r, writer, run_id in rows}


def latest_start(con: duckdb.DuckDBPyConnection) -> datetime | None:
    """Return when the latest loaded run started (None before the first)."""
    value = con.execute("SELECT max(started_at) FROM runs").fetchall()[0][0]
    return value if isinstance(value, datetime) else None


def manifest_digests(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Return the digests whose manifest is already stored."""
    return {row[0] for row in con.execute("SELECT digest FROM manifests").fetchall()}


def _holder(reason: str) -> str:
    """Return who holds a DuckDB file, from DuckDB's lock message."""
    match = re.search(r"held in (.+?) \(PID (\d+)\)", reason)
    return f"pid {match.group(2)}, {Path(match.group(1)).name}" if match else "unknown process"


def next_seq(con: duckdb.DuckDBPyConnection) -> int:
    """Return the sequence number after the latest loaded run's."""
    return int(con.execute("SELECT coalesce(max(seq), 0) + 1 FROM runs").fetchall()[0][0])


def shared_names(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Return each writer name that more than one writer (machine) uses, with how many."""
    return {name: int(count) for name, count in con.execute(sql("start/shared_names")).fetchall()}


def warn_shared_names(con: duckdb.DuckDBPyConnection) -> None:
    """Say which writer names more than one writer (machine) uses: their runs are kept apart
    by identity, but people read the name."""
    for name, count in shared_names(con).items():
        log.warning(
            "%d writers write under the name %r (each keeps its identity beside its database); "
            "give each config its own output.writer so that people can tell them apart",
            count,
            name,
        )


def named_params(text: str, params: dict[str, Any]) -> dict[str, Any]:
    """Return only the parameters the SQL `text` names."""
    named = set(re.findall(r"\$([A-Za-z_]\w*)", text))
    return {k: v for k, v in params.items() if k in named}


@dataclass(frozen=True)
class Answer:
    """A query's answer: its column names and rows, as every reader of the views gets it."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        """One column's values, in row order."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def first(self) -> dict[str, Any]:
        """The first row by column name (empty when there is none)."""
        return dict(zip(self.columns, self.rows[0], strict=True)) if self.rows else {}


def answer(con: duckdb.DuckDBPyConnection, text: str, **params: Any) -> Answer:
    """Return the answer of the SQL `text`, given the parameters it names (a statement that
    returns nothing answers with no columns)."""
    result = con.execute(text, named_params(text, params) or None)
    columns = [d[0] for d in result.description or []]
    return Answer(columns, result.fetchall() if columns else [])


def parquet_view(
    con: duckdb.DuckDBPyConnection, name: str, files: list[str], columns: str = "*"
) -> None:
    """Create the temporary view `name` over local Parquet `files` (their columns by name),
    read by DuckDB's own reader: nothing of it is stored in the database."""
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS "
        f"SELECT {columns} FROM read_parquet([{listed}], union_by_name = true, "
        "hive_partitioning = false)"  # the files' columns alone, not their folders' keys
    )


def version_parts(con: duckdb.DuckDBPyConnection, seq: int | None = None) -> int:
    """Return in how many parts to compare run `seq` with the versions current before it
    (not those it started while it crawled)."""
    (current,) = con.execute(
        "SELECT count(*) FROM tag_history "
        "WHERE valid_to_seq IS NULL AND ($s IS NULL OR valid_from_seq < $s)",
        {"s": seq},
    ).fetchall()
    return max(1, -(-int(current[0]) // VERSIONS_PER_PART))


def answer_batches(
    con: duckdb.DuckDBPyConnection, text: str, rows: int, **params: Any
) -> pa.RecordBatchReader:
    """Return the answer of the SQL `text` as a stream of Arrow batches of about `rows` rows
    (what is not read yet is not held)."""
    # A relation's reader streams; an executed result's would copy every row first.
    relation = con.sql(text, params=named_params(text, params) or None)
    return relation.to_arrow_reader(batch_size=rows)


def run_script(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> None:
    """Run every statement of `sql/<name>.sql` in order, each given the parameters it names
    (DuckDB binds parameters to one statement at a time)."""
    for text in filter(str.strip, sql(name).split(";\n")):
        con.execute(text, named_params(text, params) or None)


def ask(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> Answer:
    """Return the answer of `sql/<name>.sql`, given the parameters it names."""
    return answer(con, sql(name), **params)


def set_aside_runs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Return the runs set aside for this database, each with the reason of its last failure."""
    rows = con.execute(sql("start/set_aside"), {"loads": LOADS_BEFORE_SET_ASIDE}).fetchall()
    return {run_id: reason for run_id, reason in rows}


def set_aside_in(db_path: Path) -> dict[str, str]:
    """Return the runs set aside for the database at `db_path` (none if there is none)."""
    if not db_path.exists():
        return {}
    with connect(db_path, read_only=True) as con:
        return set_aside_runs(con)


def count_runs(db_path: Path) -> int:
    """Return how many runs the database at `db_path` holds (0 if there is none)."""
    if not db_path.exists():
        return 0
    with connect(db_path, read_only=True) as con:
        return int(con.execute("SELECT count(*) FROM runs").fetchall()[0][0])


def publish_copy(db_path: Path, copy_path: Path) -> None:
    """Replace `copy_path` atomically with a copy of the (checkpointed, closed) database.

    Dashboards open the copy read-only: DuckDB lets one process write a file at a time, so
    readers of the copy never block the next sync, and they see whole runs only. The partial
    copy is removed on every way out.
    """
    with replacing(copy_path, clean_stale=True) as partial:  # callers hold the output lock
        shutil.copyfile(db_path, partial)
        failpoint("copy-written")
