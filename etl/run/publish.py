"""After a run is committed to the lake: its load into DuckDB, then the outputs readers open
(the read-only copy, the dashboard page). Every failure here says the same two things: what
is committed where, and what the next sync does (`Committed`)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Protocol

import duckdb

from etl.config import OutputConfig
from etl.errors import EtlError, Interrupted, StorageError
from etl.results import Key, RunSummary
from etl.store import commits, lake, warehouse
from etl.store.loading import LoadRefused, load_run, note_load_failure
from etl.store.storage import LakeStore

log = logging.getLogger("etl.run.publish")
NEXT_LOADS = "the next sync loads it"


class Reports(Protocol):
    """What a run hands its reports to: the metrics file and the page. The caller supplies
    them (`etl.job` wires `etl.present`): a run never imports how it is presented."""

    def metrics(self, summary: RunSummary) -> None:
        """Write (and deliver) the metrics of a finished run."""

    def failed_metrics(self, started: datetime, interrupted: bool) -> None:
        """Write the metrics of a run that failed or was interrupted before it finished."""

    def page(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        """Write the dashboard page of the warehouse behind `con`."""


@dataclass(frozen=True)
class Committed:
    """Where a committed run stands, in the words every message of the run uses."""

    run_id: str
    lake: str
    duckdb: Path

    def in_lake(self) -> str:
        """`run X is committed to the lake at URL`."""
        return f"run {self.run_id} is committed to the lake at {self.lake}"

    def loaded(self) -> str:
        """`run X is committed to the lake and loaded into FILE`."""
        return f"run {self.run_id} is committed to the lake and loaded into {self.duckdb}"


def committed(out: OutputConfig, store: LakeStore, run_id: str) -> Committed:
    """Return where run `run_id` stands once committed to `store` (and loaded into
    `out.duckdb`)."""
    return Committed(run_id, store.url, out.duckdb)


def refresh_outputs(
    out: OutputConfig, store: LakeStore, run_id: str, reports: Reports | None
) -> dict[str, str]:
    """Refresh the read-only copy and the dashboard page of a loaded run; return those
    refreshed, by name (what the summary says the run was written to). The run is loaded: one
    that cannot be refreshed (a reader holds the DuckDB file, a full disk) is a warning that
    says so and when it will be, never a failed run; an interrupt still stops the process.
    Without `reports` (a failed run) the page is left as it was."""
    refreshed = {}
    if (copy := out.readonly_copy) is not None:
        if refreshing("the read-only copy", copy, lambda: refresh_copy(out, store, run_id)):
            refreshed["read-only copy"] = str(copy)
    if (dashboard := out.dashboard) is not None and reports is not None:
        page = reports.page
        if refreshing(
            "the dashboard", dashboard, lambda: refresh_dashboard(out, store, run_id, page)
        ):
            refreshed["dashboard"] = str(dashboard)
    return refreshed


def refreshing(what: str, where: Path, refresh: Callable[[], None]) -> bool:
    """Run one refresh of an output after a committed run and return True; on any failure (a
    full disk, a DuckDB or Plotly error, memory), log a warning naming what was not refreshed
    and when it will be, and return False: the run stands, its exit code and summary are its
    targets'. An interrupt stops."""
    try:
        refresh()
    except Interrupted:
        raise
    except Exception as exc:  # noqa: BLE001 - an output is never worth the committed run
        known = isinstance(exc, (EtlError, OSError))
        reason = str(exc) if known else f"{type(exc).__name__}: {exc}"
        log.warning(
            "%s %s was not refreshed (%s); the next sync or `swr-etl load` refreshes it",
            what,
            where,
            reason.rstrip(": "),
        )
        return False
    return True


def places(out: OutputConfig, store: LakeStore, snapshot_date: str, run_id: str) -> dict[str, str]:
    """Return where a loaded run went: its commit record's partition of the lake and the DuckDB
    file (the copy and the page, once refreshed, are `refresh_outputs`'s to add)."""
    return {
        "lake": store.show(store.path(lake.partition("runs", snapshot_date, run_id))),
        "duckdb": str(out.duckdb),
    }


def refresh_dashboard(
    out: OutputConfig,
    store: LakeStore,
    run_id: str,
    write_page: Callable[[duckdb.DuckDBPyConnection, Path], None],
) -> None:
    """Rewrite the dashboard page; on failure say that the run itself is safe."""
    assert out.dashboard is not None
    try:
        with warehouse.connect(out.duckdb) as con:  # within the sync's memory limit
            write_page(con, out.dashboard)
    except OSError as exc:
        raise StorageError(
            f"cannot write the dashboard {out.dashboard}: {exc.strerror or exc}; "
            f"{committed(out, store, run_id).loaded()}"
        ) from None


def load_committed_run(
    out: OutputConfig,
    store: LakeStore,
    snapshot_date: str,
    run_id: str,
    con: duckdb.DuckDBPyConnection,
    continued: list[Key] | None = None,
) -> None:
    """Load a run just committed to the lake into DuckDB over `con` (continuing its open
    transaction, in which the `continued` targets are versioned, if any); on any failure,
    raise one line that says the run is safe in the lake and what the next sync will do."""
    where = committed(out, store, run_id).in_lake()
    try:
        load_run(con, commits.read_commit(store, snapshot_date, run_id), continued)
        checkpoint(con, out.duckdb, run_id)
    except Interrupted as exc:
        raise Interrupted(
            exc.signum, f"{where} but not loaded into {out.duckdb}; {NEXT_LOADS}"
        ) from None
    except LoadRefused as exc:
        note_load_failure(con, run_id, str(exc))
        raise LoadRefused(
            f"{exc}; {where}; the next sync tries once more, then sets it aside and goes on"
        ) from None
    except StorageError as exc:
        raise type(exc)(f"{exc}; {where} and {NEXT_LOADS}") from None
    except duckdb.Error as exc:
        raise StorageError(
            f"DuckDB could not open {out.duckdb}: {str(exc).splitlines()[0]}; {where} and "
            f"{NEXT_LOADS}"
        ) from None


def checkpoint(con: duckdb.DuckDBPyConnection, path: Path, run_id: str) -> None:
    """Fold DuckDB's write-ahead log into the file; raise StorageError (the run is loaded)."""
    try:
        con.execute("CHECKPOINT")
    except duckdb.Error as exc:
        raise StorageError(
            f"DuckDB could not checkpoint {path}: {str(exc).splitlines()[0]}; run {run_id} "
            "is loaded (in DuckDB's write-ahead log) and committed to the lake"
        ) from None


def refresh_copy(out: OutputConfig, store: LakeStore, run_id: str) -> None:
    """Replace the read-only copy; on failure say that the run itself is safe."""
    assert out.readonly_copy is not None
    done = committed(out, store, run_id).loaded()
    stale = f"the read-only copy {out.readonly_copy} was not refreshed (the next sync does it)"
    try:
        warehouse.publish_copy(out.duckdb, out.readonly_copy)
    except Interrupted as exc:
        raise Interrupted(exc.signum, f"{done}; {stale}") from None
    except OSError as exc:
        raise StorageError(f"{exc.strerror or exc}: {done}; {stale}") from None
