"""Before a run crawls: the config, credentials and outputs checked, the lock, what interrupted
runs left removed, the runs DuckDB missed loaded, and what the new run needs to know
(`StartState`). Nothing is written to the lake before all of it holds."""

from __future__ import annotations

import importlib.util
import logging
import secrets
import shutil
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from etl.config import EndpointConfig, OutputConfig
from etl.config_file import check_ca_bundles, check_output_paths
from etl.errors import NEEDS_PLOTLY, ConfigError, DatabaseBusy, NewerLakeFormat, StorageError
from etl.results import Key
from etl.run.discovery import Members
from etl.run.endpoints import auths_for
from etl.run.identity import writer_id
from etl.run.lock import OutputLock
from etl.store import commits, known, lake, replaced, warehouse
from etl.store.loading import LoadRefused, catch_up
from etl.store.storage import LakeStore
from etl.swr.auth import Auth

log = logging.getLogger("etl.run.start")


def checked_before_run(
    endpoints: list[EndpointConfig],
    timeout_s: float,
    out: OutputConfig,
    store: LakeStore,
    source: str,
    probe_write: bool = True,
) -> dict[str, Auth]:
    """Check the endpoints, the credentials' sources and the outputs (of the config file
    `source`) before any crawl (an object-storage lake with one listing and a probe write);
    return each endpoint's auth."""
    if not endpoints:
        raise ConfigError(
            "none given: a config without endpoints can only `swr-etl load` a shared lake",
            file=source,
            key="endpoints",
        )
    auths = auths_for(endpoints, timeout_s, source)
    check_ca_bundles(endpoints, source)
    check_outputs(out, store, source, probe_write)
    return auths


def check_outputs(out: OutputConfig, store: LakeStore, source: str, probe_write: bool) -> None:
    """Raise ConfigError (naming the config file `source`) if an output cannot be written:
    local paths by looking, an object-storage lake by one listing (and, with `probe_write`, a
    probe object)."""
    check_output_paths(out, source)
    if out.dashboard is not None and importlib.util.find_spec("plotly") is None:
        # Found before the crawl, not after the commit: the page needs Plotly's script.
        raise ConfigError(NEEDS_PLOTLY, file=source, key="output.dashboard")
    store.check_lake("output.lake", source, probe_write)


def new_run_id(started: datetime) -> str:
    """Return a unique run id that names its start: 20261127T080000.123456Z-1a2b3c.

    Ids name runs; they do not order them. Runs are ordered by the sequence number their
    commit record carries, since a wall clock can jump back.
    """
    return f"{started:%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(3)}"


def wall_clock() -> datetime:
    """Return what this machine's clock reads now (UTC): the one place a run reads it."""
    return datetime.now(UTC)


def run_start(latest: known.LatestRun | None, writer_id: str, now: datetime) -> datetime:
    """Return this run's snapshot time: `now`, or just after the latest run's start when the
    clock reads earlier, so that versions never end before they begin and runs keep the lake's
    order. Says so when it corrects the time, and whose clock it suspects: this machine's when
    the latest run is this writer's (an NTP step, a restored VM), else the other writer's."""
    if latest is None or now > latest.started_at:
        return now
    corrected = latest.started_at + timedelta(microseconds=1)
    times = (now.isoformat(), latest.started_at.isoformat(), corrected.isoformat())
    if latest.writer_id is None or latest.writer_id == writer_id:
        log.warning(
            "the clock reads %s, not after the latest run's start %s (did it jump back?): this "
            "run is recorded at %s",
            *times,
        )
        return corrected
    log.warning(
        "this machine's clock reads %s, before the start %s of run %s of writer %s (%s): this "
        "run is recorded at %s to follow it in the lake's order (does that writer's clock run "
        "ahead?); whole listings are still judged by this machine's clock",
        times[0],
        times[1],
        latest.run_id,
        latest.writer,
        latest.writer_id,
        times[2],
    )
    return corrected


def output_lock(out: OutputConfig) -> OutputLock:
    """Return the lock a writer of the outputs holds: the DuckDB file's, and a local lake's.

    An object-storage lake has no lock: several writers share it, each run under keys of its
    own, and uncommitted runs are removed only after `output.orphan_grace`.
    """
    paths = [out.duckdb.with_name(out.duckdb.name + ".lock")]
    if isinstance(out.lake, Path):
        paths.append(out.lake / lake.LOCK)
    return OutputLock(*paths)


def spool_for(out: OutputConfig, run_id: str) -> Path:
    """Return the local folder where a run's crawl gathers its pages: in a local lake's
    staging, or beside the DuckDB file when the lake is on object storage."""
    if isinstance(out.lake, Path):
        return out.lake / lake.STAGING / run_id
    return spool_root(out) / run_id


def spool_root(out: OutputConfig) -> Path:
    """Return the folder of the runs' spools beside the DuckDB file (object-storage lakes)."""
    return out.duckdb.with_name(out.duckdb.name + ".spool")


@dataclass(frozen=True)
class StartState:
    """What the warehouse tells a run before it crawls."""

    caught_up: list[str]
    known_manifests: set[str]
    current: dict[Key, known.CurrentRepository]
    seq: int
    latest: known.LatestRun | None  # the latest run it holds (its start orders the next)
    members: Members
    tracked: dict[Key, str]  # what this writer tracks, and how it was selected
    writer_id: str  # this writer's identity (etl.run.identity)
    set_aside: frozenset[str] = frozenset()  # committed runs this database does not hold
    beyond_lake: frozenset[str] = frozenset()  # runs this database holds and the lake does not

    @property
    def lake_matches(self) -> bool:
        """True if the database holds exactly the lake's committed runs: a run's changes
        computed against it are changes against what the lake's readers see."""
        return not self.set_aside and not self.beyond_lake


@contextmanager
def warehouse_caught_up(
    out: OutputConfig, store: LakeStore, writer: str, endpoints: list[str]
) -> Iterator[tuple[StartState, duckdb.DuckDBPyConnection]]:
    """Remove what interrupted runs left, report set-aside runs, load the runs DuckDB missed,
    and yield what the new run of `writer` (on `endpoints`) needs to know with the warehouse's
    connection, open until the context ends (no other process can open the file meanwhile).
    Enter it holding the output lock."""
    clean_after_interrupted_runs(out, store)
    with ExitStack() as held:
        try:
            con = held.enter_context(warehouse.connect(out.duckdb))
            state = start_state(out.duckdb, writer, endpoints, store, con)
        except DatabaseBusy as exc:
            raise DatabaseBusy(
                f"{exc}: nothing was crawled; close it, or let readers open output.readonly_copy"
            ) from None
        except LoadRefused as exc:
            raise LoadRefused(
                f"{exc}; the next sync tries it once more, then sets it aside and goes on"
            ) from None
        except NewerLakeFormat as exc:
            raise refused_before_run(exc) from None
        except OSError as exc:
            raise StorageError(f"cannot read the lake {store.url}: {exc}") from None
        yield state, con


def refused_before_run(exc: NewerLakeFormat) -> NewerLakeFormat:
    """Return the line of a run (or a plan) that met a run this release cannot read before it
    did anything: the same words from `sync` and `plan`."""
    return NewerLakeFormat(f"{exc}; nothing was loaded, crawled or written")


def clean_after_interrupted_runs(out: OutputConfig, store: LakeStore) -> None:
    """Remove what interrupted runs (and `thin`s) left in the lake and the spool."""
    store.make_dirs(store.root)
    shutil.rmtree(spool_root(out), ignore_errors=True)  # a killed run's (we hold the lock)
    grace = 0.0 if store.local else out.orphan_grace
    try:
        removed = commits.clean_uncommitted(store, grace)
        replaced.clear_replaced(store, out.orphan_grace)  # what `thin` replaced
    except OSError as exc:
        raise StorageError(f"cannot clean the lake {store.url}: {exc}") from None
    if removed:
        log.info("removed what interrupted runs left behind: %s", ", ".join(removed))


def start_state(
    duckdb_path: Path,
    writer: str,
    endpoints: list[str],
    store: LakeStore,
    con: duckdb.DuckDBPyConnection,
) -> StartState:
    """Load the committed runs the warehouse lacks and return what the new run of `writer`
    needs to know, with its identity (found again in the lake if its file was lost)."""
    listed = commits.listed_runs(store)
    caught_up = catch_up(con, store, listed)
    identity = writer_id(duckdb_path, lambda: known.lost_identities(con, writer, endpoints))
    aside = known.set_aside_runs(con)
    beyond = known.loaded_run_ids(con) - {run_id for _, run_id in listed}
    state = StartState(
        caught_up,
        known.manifest_digests(con),
        known.current_repositories(con),
        known.next_seq(con),
        known.latest_run(con),
        known.scope_members(con),
        known.tracked(con, writer, identity),
        identity,
        frozenset(aside),
        frozenset(beyond),
    )
    known.warn_shared_names(con)
    report_set_aside(aside, duckdb_path, store)
    return state


def report_set_aside(aside: dict[str, str], duckdb_path: Path, store: LakeStore) -> None:
    """Log every run set aside: for this database (`aside`, run id → reason), and in the lake
    itself by an earlier version."""
    for run_id, reason in aside.items():
        log.error(
            "run %s is set aside for this database and missing from it: %s (it stays in the lake; "
            "to load it again, delete its row from the load_failures table of %s and sync)",
            run_id,
            reason,
            duckdb_path,
        )
    for run_id, reason in commits.set_aside_runs(store):  # moved aside by an earlier version
        log.error(
            "run %s is set aside in %s and missing from the database: %s (repair it and move it "
            "back, or delete it)",
            run_id,
            store.show(store.path(commits.SET_ASIDE, run_id)),
            reason,
        )
