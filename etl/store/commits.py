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

import shutil
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from etl.errors import StorageError
from etl.store.lake import STAGING, TABLES, partition

SET_ASIDE = "_set_aside"
LOAD_FAILURES = "_load_failures"
LOADS_BEFORE_SET_ASIDE = 2


@dataclass(frozen=True)
class Commit:
    """One committed run: where it is, its sequence number and the files its record lists."""

    lake: Path
    snapshot_date: str
    run_id: str
    seq: int | None  # None: written before commit records carried one
    row: pa.Table  # the `runs` row as written
    files: dict[str, list[tuple[str, int]]] | None  # None: the record lists no files

    @property
    def order(self) -> tuple[int, int, str]:
        """Sort key: runs without a sequence number (older) first, by id; then by sequence."""
        return (0, 0, self.run_id) if self.seq is None else (1, self.seq, self.run_id)

    def files_of(self, table: str) -> list[str]:
        """Return the paths of the run's files of `table`, each checked against the record.

        Raises StorageError naming the run and the file when one is missing, unreadable or
        holds another number of rows than the record says.
        """
        folder = self.lake / partition(table, self.snapshot_date, self.run_id)
        if self.files is None:
            return sorted(str(p) for p in folder.glob("*.parquet"))
        return [str(self._checked(folder / name, rows)) for name, rows in self.files.get(table, [])]

    def _checked(self, path: Path, rows: int) -> Path:
        try:
            found = pq.ParquetFile(path).metadata.num_rows
        except FileNotFoundError:
            raise StorageError(
                f"run {self.run_id}: {path} is missing (its commit record lists it)"
            ) from None
        except (OSError, pa.ArrowException) as exc:
            raise StorageError(f"run {self.run_id}: {path} cannot be read: {exc}") from None
        if found != rows:
            raise StorageError(
                f"run {self.run_id}: {path} has {found} rows, its commit record says {rows}"
            )
        return path


def listed_runs(lake: Path) -> list[tuple[str, str]]:
    """Return (snapshot_date, run_id) of every committed run, by run id (reads no file)."""
    found = []
    for folder in (lake / "runs").glob("snapshot_date=*/run_id=*"):
        if (folder / "runs.parquet").exists():
            found.append((_value(folder.parent), _value(folder)))
    return sorted(found, key=lambda pair: pair[1])


def read_commit(lake: Path, snapshot_date: str, run_id: str) -> Commit:
    """Return the commit record of one run; raise StorageError if it cannot be read."""
    path = lake / partition("runs", snapshot_date, run_id) / "runs.parquet"
    try:
        row = pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise StorageError(
            f"run {run_id}: its commit record {path} cannot be read: {exc}"
        ) from None
    if row.num_rows != 1:
        raise StorageError(f"run {run_id}: its commit record {path} has {row.num_rows} rows")
    seq = row.column("seq")[0].as_py() if "seq" in row.column_names else None
    listed = row.column("files")[0].as_py() if "files" in row.column_names else None
    files: dict[str, list[tuple[str, int]]] | None = None
    if listed is not None:
        files = {}
        for entry in listed:
            files.setdefault(entry["table"], []).append((entry["file"], entry["rows"]))
    return Commit(lake, snapshot_date, run_id, seq, row, files)


def commits_in_order(lake: Path, runs: list[tuple[str, str]]) -> list[Commit]:
    """Return the commit records of `runs` in the order they were committed."""
    return sorted((read_commit(lake, date, run_id) for date, run_id in runs), key=_order)


def _order(commit: Commit) -> tuple[int, int, str]:
    return commit.order


def clean_uncommitted(lake: Path) -> list[str]:
    """Delete staging and any partition of a run that never committed; return their run ids.

    Partitions of a run being set aside (a crash mid-move) are moved after it, not deleted.
    Call it only while holding the lake's lock: any staging found then is a dead run's.
    """
    committed = {run_id for _, run_id in listed_runs(lake)}
    aside = {p.name for p in (lake / SET_ASIDE).glob("*")}
    removed: set[str] = set()
    staging = lake / STAGING
    if staging.exists():
        removed.update(p.name for p in staging.iterdir())
        shutil.rmtree(staging, ignore_errors=True)
    for table in TABLES:
        for folder in (lake / table).glob("snapshot_date=*/run_id=*"):
            run_id = _value(folder)
            if run_id in aside:
                _move(folder, lake / SET_ASIDE / run_id / folder.relative_to(lake))
            elif run_id not in committed:
                shutil.rmtree(folder, ignore_errors=True)
                removed.add(run_id)
    return sorted(removed)


def note_load_failure(lake: Path, run_id: str, reason: str) -> int:
    """Record that loading `run_id` failed; return how many times it has failed."""
    path = lake / LOAD_FAILURES / f"{run_id}.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as record:
        record.write(reason.replace("\n", " ") + "\n")
    return len(path.read_text(encoding="utf-8").splitlines())


def set_aside(lake: Path, snapshot_date: str, run_id: str, reason: str) -> Path:
    """Move a run out of the committed set into `_set_aside/<run_id>`; return that folder.

    The commit record moves first, so a crash midway leaves a run that is not committed, whose
    other partitions the next `clean_uncommitted` moves after it.
    """
    home = lake / SET_ASIDE / run_id
    home.mkdir(parents=True, exist_ok=True)
    (home / "reason.txt").write_text(reason + "\n", encoding="utf-8")
    for table in reversed(TABLES):  # `runs` first
        folder = lake / partition(table, snapshot_date, run_id)
        if folder.exists():
            _move(folder, home / partition(table, snapshot_date, run_id))
    (lake / LOAD_FAILURES / f"{run_id}.txt").unlink(missing_ok=True)
    return home


def set_aside_runs(lake: Path) -> list[tuple[str, str]]:
    """Return (run_id, reason) of every run set aside, by run id."""
    found = []
    for home in sorted((lake / SET_ASIDE).glob("*")):
        reason_file = home / "reason.txt"
        reason = reason_file.read_text(encoding="utf-8").strip() if reason_file.exists() else "?"
        found.append((home.name, reason))
    return found


def _move(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    source.replace(target)


def _value(folder: Path) -> str:
    """Return the value of a hive partition folder `key=value`."""
    return folder.name.split("=", 1)[1]
