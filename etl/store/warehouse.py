"""The DuckDB warehouse: opening it (schema, macros and views from `sql/`, applied when the
database holds another version's), another connection to it, the readers' way in (or their
read-only copy), and that copy. What it knows is `etl.store.known`'s to ask; loading committed
lake runs into it is `etl.store.loading`'s job."""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import stat
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from functools import lru_cache
from graphlib import TopologicalSorter
from pathlib import Path

import duckdb

from etl.errors import DatabaseBusy, StorageError, UsageError
from etl.failpoints import failpoint
from etl.store.files import replacing
from etl.store.queries import ask, sql, sql_dir

log = logging.getLogger("etl.store.warehouse")

MEMORY_LIMIT_MB = 128  # a writer's DuckDB memory, spilled to disk beyond (DuckDB's MB: 10^6 bytes)
# What a writer (sync, load, rebuild) may not do: fetch or load an extension. It needs none
# (the lake is read through Arrow), and a file DuckDB would hand to one (a SQLite file named
# as output.duckdb) must be refused, not sent for over the network.
WRITER_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
# What a reader (report, diff, query) may not do besides: touch files, or change these
# settings back. With read_only, DuckDB also refuses every write to the database.
READER_CONFIG: dict[str, str | bool | int | float | list[str]] = {
    **WRITER_CONFIG,
    "enable_external_access": False,
}
SQLITE_MAGIC = b"SQLite format 3\0"  # how a SQLite database file begins
# The tables every swr-etl database has held, whatever its version: a file holding other
# tables or views and not these is another tool's.
OWN_TABLES = {"runs", "tag_history"}


# Macros and views: what `connect` creates on every read-write open, in dependency order.
DEFINITION_FOLDERS = ("macros", "views")
DEFINES = re.compile(r"(?i)\bCREATE OR REPLACE (?:VIEW|MACRO) (\w+)")
COMMENT = re.compile(r"--[^\n]*")
DEFINITION = re.compile(r"(?i)\bCREATE OR REPLACE (VIEW|MACRO)\b")


def definition_files() -> list[str]:
    """Return the macro and view files (`views/tags_current`, …) in an order where each comes
    after every file whose macro or view it names: the order is read from the SQL itself."""
    texts = {
        f"{folder}/{path.stem}": sql(f"{folder}/{path.stem}")
        for folder in DEFINITION_FOLDERS
        for path in sorted((sql_dir() / folder).glob("*.sql"))
    }
    owner = {defined: name for name, text in texts.items() for defined in DEFINES.findall(text)}
    # Sorted, not sets: the order (and so the digest of the definitions) is the same in every
    # process, whatever its string hashing; else a writer would re-apply them every other open.
    needs = {
        name: sorted(
            {
                owner[word]
                for word in set(re.findall(r"\b\w+\b", COMMENT.sub("", text))) & owner.keys()
                if owner[word] != name
            }
        )
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
    """Bring the database forward: missing tables created, every macro and view made anew;
    then mark it as holding this version's definitions. One transaction: all of it or none,
    and one commit instead of one a statement (half the time of a new database)."""
    con.execute("BEGIN TRANSACTION")
    try:
        con.execute(sql("schema"))
        for name in definition_files():
            con.execute(sql(name))
        con.execute(f"CREATE OR REPLACE MACRO {DIGEST_MACRO}() AS '{definitions_digest()}'")
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise


# A table of the schema, from the line that creates it to the one that closes it.
TABLE = re.compile(r"^CREATE (TABLE) IF NOT EXISTS (\w+) \(.*?\n\);", re.MULTILINE | re.DOTALL)


def define_for_reading(con: duckdb.DuckDBPyConnection) -> None:
    """On a read-only connection to a database another version wrote last, create this
    version's macros and views as temporary ones (they shadow the stored ones), so a reader
    upgraded before the next sync finds every view and macro it names, as this version
    defines them; a table this version adds is an empty temporary one until then."""
    held = set(ask(con, "known/tables").column("table_name"))
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
    no setting. Neither kind fetches or loads an extension, and a file that is not swr-etl's
    (garbage, SQLite's, another tool's DuckDB database) is StorageError before anything is
    written to it. Raises DatabaseBusy when another process holds the file open.
    """
    if read_only and not path.exists():
        raise UsageError(f"no database at {path} yet: run `swr-etl sync` first")
    con = opened(path, read_only)
    try:
        prepare(con, path, read_only)
        yield con
    finally:
        con.close()


def prepare(con: duckdb.DuckDBPyConnection, path: Path, read_only: bool) -> None:
    """Set the connection up (`connect`); a write DuckDB cannot make (a full disk) is
    StorageError naming the file."""
    try:
        con.execute("SET TimeZone = 'UTC'")
        if read_only:
            if not holds_these_definitions(con):
                readable_definitions(con, path)
            con.execute("SET lock_configuration = true")
            return
        # A sync must run in little memory whatever the registry's size: DuckDB spills to
        # disk beyond this, and keeps no insertion order it does not need. Readers (report,
        # query) keep DuckDB's defaults.
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT_MB}MB'")
        con.execute("SET write_buffer_row_group_count = 1")
        con.execute("SET preserve_insertion_order = false")
        if not holds_these_definitions(con):
            refuse_foreign(con, path)
            apply_schema(con)
    except duckdb.Error as exc:
        raise StorageError(f"cannot write DuckDB file {path}: {str(exc).splitlines()[0]}") from None


def opened(path: Path, read_only: bool) -> duckdb.DuckDBPyConnection:
    """Return DuckDB's connection to the file at `path` (one it refuses, or another tool's
    kind of file, is StorageError); a file this call created and could not make a database of
    (a full disk) is removed, not left for the next run to find broken."""
    # The file's first bytes are DuckDB's to read: a process that opens and closes the file
    # itself drops every POSIX lock it holds on it, the one DuckDB's connection holds included.
    new = not read_only and not os.path.lexists(path)
    try:
        return duckdb.connect(
            str(path), read_only=read_only, config=READER_CONFIG if read_only else WRITER_CONFIG
        )
    except duckdb.Error as exc:
        if new:
            for made in (path, Path(f"{path}.wal")):
                made.unlink(missing_ok=True)
        reason = str(exc).splitlines()[0]
        if "Could not set lock" in reason:
            raise DatabaseBusy(
                f"DuckDB file {path} is in use by another process ({_holder(reason)})"
            ) from None
        raise StorageError(f"cannot open DuckDB file {path}: {not_duckdb(path, reason)}") from None


def not_duckdb(path: Path, reason: str) -> str:
    """Return DuckDB's reason for refusing the file at `path`, said plainly when DuckDB would
    hand the file to an extension (none is fetched or loaded): another tool's database."""
    if "extension" not in reason.lower():
        return reason
    kind = "a SQLite database" if first_bytes(path).startswith(SQLITE_MAGIC) else "another tool's"
    return (
        f"it is not a valid DuckDB database file ({kind}); is output.duckdb the file `swr-etl "
        "sync` writes?"
    )


def first_bytes(path: Path) -> bytes:
    """Return the first bytes of the regular file at `path` (none for anything else), read
    without blocking. Only for a file DuckDB refused: no connection of this process holds it,
    so closing it drops no lock of DuckDB's (POSIX locks go with any close of the file)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | os.O_NOCTTY)
    except OSError:
        return b""
    try:
        return os.read(fd, len(SQLITE_MAGIC)) if stat.S_ISREG(os.fstat(fd).st_mode) else b""
    finally:
        os.close(fd)


def refuse_foreign(con: duckdb.DuckDBPyConnection, path: Path) -> None:
    """Raise StorageError, having written nothing, if the database at `path` is another
    tool's: it holds tables or views, and not the ones every swr-etl database holds."""
    held = set(ask(con, "known/relations").column("name"))
    if held and not OWN_TABLES <= held:
        shown = ", ".join(sorted(held)[:3]) + (", …" if len(held) > 3 else "")
        raise StorageError(
            f"cannot write DuckDB file {path}: it is not swr-etl's database (it holds {shown}); "
            "is output.duckdb the file `swr-etl sync` writes? It is left as it was"
        )


@contextmanager
def cursor(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield another connection to the warehouse behind `con` (one of its own, for another
    thread or transaction), answering in UTC as every connection of the warehouse does."""
    with con.cursor() as other:
        other.execute("SET TimeZone = 'UTC'")
        yield other


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


def _holder(reason: str) -> str:
    """Return who holds a DuckDB file, from DuckDB's lock message."""
    match = re.search(r"held in (.+?) \(PID (\d+)\)", reason)
    return f"pid {match.group(2)}, {Path(match.group(1)).name}" if match else "unknown process"


def publish_copy(db_path: Path, copy_path: Path) -> None:
    """Replace `copy_path` atomically with a copy of the (checkpointed, closed) database.

    Dashboards open the copy read-only: DuckDB lets one process write a file at a time, so
    readers of the copy never block the next sync, and they see whole runs only. The partial
    copy is removed on every way out.
    """
    with replacing(copy_path, clean_stale=True) as partial:  # callers hold the output lock
        shutil.copyfile(db_path, partial)
        failpoint("copy-written")
