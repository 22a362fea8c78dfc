"""The lake's committed runs, read back: commit records, their order, their files, and what
is not (or no longer) committed.

A run is committed when its `runs` partition holds `runs.parquet`, the commit record. Readers
(the warehouse's catch-up and `rebuild`) take runs in the order of the sequence number the
record carries — never by wall-clock time, which can jump back — and read exactly the files it
lists, each checked against its recorded row count. Runs written before records carried these
(no `seq`, no `files`) are read as they were: in run-id order, every file of the partition.

Two folders beside the tables hold what is no longer committed:

    lake/_set_aside/R/…           a run DuckDB refused twice, moved out of the committed set
    lake/_load_failures/R.txt     one line per failed load of run R
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from etl.errors import NewerLakeFormat, StorageError
from etl.schemas import LAKE_FORMAT, UNVERSIONED_LAKE_FORMAT
from etl.store.lake import STAGING, TABLES, partition
from etl.store.storage import LakeStore

SET_ASIDE = "_set_aside"
COMMIT_RECORD = "runs.parquet"


@dataclass(frozen=True)
class Commit:
    """One committed run: where it is, its order, its writer and the files its record lists."""

    store: LakeStore
    snapshot_date: str
    run_id: str
    seq: int | None  # None: written before commit records carried one
    row: pa.Table  # the `runs` row as written
    files: dict[str, list[tuple[str, int]]] | None  # None: the record lists no files

    @property
    def started_at(self) -> datetime:
        value = self.row.column("started_at")[0].as_py()
        assert isinstance(value, datetime)
        return value

    @property
    def lake_format(self) -> object:
        """The lake format the record states (`UNVERSIONED_LAKE_FORMAT` for a record without
        the column, written before records carried one); `readable` checks it is one."""
        if "lake_format" not in self.row.column_names:
            return UNVERSIONED_LAKE_FORMAT
        return self.row.column("lake_format")[0].as_py()

    @property
    def writer(self) -> str | None:
        """The writer (config) that committed the run; None for runs written before."""
        if "writer" not in self.row.column_names:
            return None
        value = self.row.column("writer")[0].as_py()
        return value if isinstance(value, str) else None

    @property
    def writer_id(self) -> str | None:
        """The identity of the writer that committed the run (None for runs written before
        writers had one)."""
        if "writer_id" not in self.row.column_names:
            return None
        value = self.row.column("writer_id")[0].as_py()
        return value if isinstance(value, str) else None

    @property
    def order(self) -> tuple[int, datetime, int, str]:
        """Sort key: runs without a sequence number (older) first, by id; then by snapshot
        time, which orders one writer's runs as their sequence does (a clock that jumped back
        is corrected at the start of a run) and interleaves several writers' runs."""
        if self.seq is None:
            return (0, EPOCH, 0, self.run_id)
        return (1, self.started_at, self.seq, self.run_id)

    def files_of(self, table: str) -> list[str]:
        """Return the paths of the run's files of `table`, each checked against the record.

        Raises StorageError naming the run and the file when one is missing, unreadable or
        holds another number of rows than the record says.
        """
        folder = self.store.path(partition(table, self.snapshot_date, self.run_id))
        if self.files is None:
            return sorted(i.path for i in self.store.files(folder) if i.path.endswith(".parquet"))
        return [self._checked(f"{folder}/{name}", rows) for name, rows in self.files.get(table, [])]

    def _checked(self, path: str, rows: int) -> str:
        shown = self.store.show(path)
        try:
            found = pq.read_metadata(path, filesystem=self.store.fs).num_rows
        except FileNotFoundError:
            raise StorageError(
                f"run {self.run_id}: {shown} is missing (its commit record lists it)"
            ) from None
        except (OSError, pa.ArrowException) as exc:
            raise StorageError(f"run {self.run_id}: {shown} cannot be read: {exc}") from None
        if found != rows:
            raise StorageError(
                f"run {self.run_id}: {shown} has {found} rows, its commit record says {rows}"
            )
        return path


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def listed_runs(store: LakeStore) -> list[tuple[str, str]]:
    """Return (snapshot_date, run_id) of every committed run, by run id (reads no file)."""
    found = []
    for info in store.files(store.path("runs")):
        if info.base_name == COMMIT_RECORD:
            folder = posixpath.dirname(info.path)
            found.append((_value(posixpath.dirname(folder)), _value(folder)))
    return sorted(found, key=lambda pair: pair[1])


def read_commit(store: LakeStore, snapshot_date: str, run_id: str) -> Commit:
    """Return the commit record of one run; raise StorageError if it cannot be read, and
    NewerLakeFormat if this release cannot read the run (see `readable`)."""
    path = store.path(partition("runs", snapshot_date, run_id), COMMIT_RECORD)
    try:
        row = pq.read_table(path, filesystem=store.fs)
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(
            f"run {run_id}: its commit record {store.show(path)} cannot be read: {exc}"
        ) from None
    if row.num_rows != 1:
        raise StorageError(
            f"run {run_id}: its commit record {store.show(path)} has {row.num_rows} rows"
        )
    seq = row.column("seq")[0].as_py() if "seq" in row.column_names else None
    listed = row.column("files")[0].as_py() if "files" in row.column_names else None
    files: dict[str, list[tuple[str, int]]] | None = None
    if listed is not None:
        files = {}
        for entry in listed:
            files.setdefault(entry["table"], []).append((entry["file"], entry["rows"]))
    return readable(Commit(store, snapshot_date, run_id, seq, row, files))


# The tables a record's `files` may name: every table of a run but the record itself.
FILE_TABLES = frozenset(TABLES) - {"runs"}


def readable(commit: Commit) -> Commit:
    """Return `commit` if this release reads its format; raise NewerLakeFormat otherwise: a
    run of a newer format, one stating a format that is no positive integer (NULL, '3', 2.5:
    never read as format 1, which only a record without the column is), or one whose record
    lists a table this release does not know (`runs` included), would be read as part of
    itself."""
    found = commit.lake_format
    version = found if isinstance(found, int) and not isinstance(found, bool) else 0
    unknown = sorted(set(commit.files or {}) - FILE_TABLES)
    if 1 <= version <= LAKE_FORMAT and not unknown:
        return commit
    if version < 1:
        what = f"lake_format {found!r}, not a lake format this release knows"
    elif unknown:
        what = f"a table {unknown[0]!r}"
    else:
        what = f"lake format {version}"
    raise newer_lake_format(f"run {commit.run_id}", commit.store.url, what)


def newer_lake_format(subject: str, lake: str, what: str) -> NewerLakeFormat:
    """Return the error of a reader that meets `subject` of the lake written with `what` (a
    newer format, a table it does not know): one line, both formats, what to do."""
    return NewerLakeFormat(
        f"{subject} in the lake at {lake} is written with {what}, and this release of swr-etl "
        f"reads lake formats up to {LAKE_FORMAT}: upgrade swr-etl before it reads this lake "
        "(a shared lake upgrades its readers first)"
    )


def commits_in_order(store: LakeStore, runs: list[tuple[str, str]]) -> list[Commit]:
    """Return the commit records of `runs` in the order they are loaded."""
    return sorted((read_commit(store, date, run_id) for date, run_id in runs), key=_order)


def _order(commit: Commit) -> tuple[int, datetime, int, str]:
    return commit.order


def clean_uncommitted(store: LakeStore, grace_s: float = 0.0) -> list[str]:
    """Delete staging and the partitions of runs that never committed; return their run ids.

    Partitions of a run being set aside (a crash mid-move) are moved after it, not deleted.
    With `grace_s`, a run's partitions are kept while any of its files is younger than that:
    on object storage, with no lock, they may be another writer's run in progress. Locally,
    call it with no grace and only while holding the lake's lock.
    """
    committed = {run_id for _, run_id in listed_runs(store)}
    aside = set(store.children(store.path(SET_ASIDE)))
    removed: set[str] = set()
    if store.local:
        staging = store.path(STAGING)
        removed.update(store.children(staging))
        store.remove_tree(staging)
    cutoff = datetime.now(UTC) - timedelta(seconds=grace_s)
    for table in TABLES:
        for folder, newest in _partitions(store, table).items():
            run_id = _value(folder)
            if run_id in aside:
                relative = folder[len(store.root) + 1 :]
                store.move_tree(folder, store.path(SET_ASIDE, run_id, relative))
            elif run_id not in committed and (grace_s <= 0 or newest < cutoff):
                store.remove_tree(folder)
                removed.add(run_id)
    return sorted(removed)


def _partitions(store: LakeStore, table: str) -> dict[str, datetime]:
    """Return each `snapshot_date=…/run_id=…` partition of a table with its newest file's time."""
    found: dict[str, datetime] = {}
    for info in store.files(store.path(table)):
        folder = posixpath.dirname(info.path)
        if not posixpath.basename(folder).startswith("run_id="):
            continue
        mtime = info.mtime if isinstance(info.mtime, datetime) else EPOCH
        found[folder] = max(found.get(folder, EPOCH), mtime.astimezone(UTC))
    return found


def set_aside_runs(store: LakeStore) -> list[tuple[str, str]]:
    """Return (run_id, reason) of every run an earlier version set aside in the lake itself
    (runs are now set aside in each database's `load_failures`, never moved), by run id."""
    found = []
    for run_id in sorted(store.children(store.path(SET_ASIDE))):
        reason_file = store.path(SET_ASIDE, run_id, "reason.txt")
        reason = store.read_text(reason_file).strip() if store.exists(reason_file) else "?"
        found.append((run_id, reason))
    return found


def _value(folder: str) -> str:
    """Return the value of a hive partition folder `…/key=value`."""
    return posixpath.basename(folder).split("=", 1)[1]
