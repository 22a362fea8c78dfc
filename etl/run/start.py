"""Before a run crawls: the config, credentials and outputs checked, the lock, what interrupted
runs left removed, the runs DuckDB missed loaded, and what the new run needs to know
(`StartState`). Nothing is written to the lake before all of it holds."""

from __future__ import annotations

import importlib.util
import logging
import secrets
import shutil
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb

from etl.config import Config
from etl.config_file import check_ca_bundles, check_output
from etl.errors import NEEDS_PLOTLY, ConfigError, DatabaseBusy, NewerLakeFormat, StorageError
from etl.results import Key
from etl.run.discovery import Members
from etl.run.endpoints import auth_for
from etl.run.identity import writer_id
from etl.run.lock import OutputLock
from etl.store import commits, lake, replaced, warehouse
from etl.store.loading import LoadRefused, catch_up
from etl.store.storage import LakeStore
from etl.swr.auth import Auth

log = logging.getLogger("etl.run.start")


def prepare(config: Config, store: LakeStore, probe_write: bool = True) -> dict[str, Auth]:
    """Check the config, the credentials' sources and the outputs before any crawl (an
    object-storage lake with one listing and a probe write); return each endpoint's auth."""
    if not config.endpoints:
        raise ConfigError(
            "none given: a config without endpoints can only `swr-etl load` a shared lake",
            file=str(config.source),
            key="endpoints",
        )
    auths = {e.name: auth_for(e, config, i) for i, e in enumerate(config.endpoints)}
    check_ca_bundles(config.endpoints, str(config.source))
    check_outputs(config, store, probe_write)
    return auths


def check_outputs(config: Config, store: LakeStore, probe_write: bool) -> None:
    """Raise ConfigError if an output cannot be written: local paths by looking, an
    object-storage lake by one listing (and, with `probe_write`, a probe object)."""
    check_output(config)
    if config.output.dashboard is not None and importlib.util.find_spec("plotly") is None:
        # Found before the crawl, not after the commit: the page needs Plotly's script.
        raise ConfigError(
            NEEDS_PLOTLY,
            file=str(config.source),
            key="output.dashboard",
        )
    store.check_lake("output.lake", str(config.source), probe_write)


def new_run_id(started: datetime) -> str:
    """Return a unique run id that names its start: 20261127T080000.123456Z-1a2b3c.

    Ids name runs; they do not order them. Runs are ordered by the sequence number their
    commit record carries, since a wall clock can jump back.
    """
    return f"{started:%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(3)}"


def run_start(latest: datetime | None) -> datetime:
    """Return this run's snapshot time: now, or just after the latest run's start when the
    clock reads earlier (an NTP step, a restored VM), so that versions never end before they
    begin. Says so when it corrects the clock."""
    now = datetime.now(UTC)
    if latest is None or now > latest:
        return now
    corrected = latest + timedelta(microseconds=1)
    log.warning(
        "the clock reads %s, not after the latest run's start %s (did it jump back?): this run "
        "is recorded at %s",
        now.isoformat(),
        latest.isoformat(),
        corrected.isoformat(),
    )
    return corrected


def output_lock(config: Config) -> OutputLock:
    """Return the lock a writer of the outputs holds: the DuckDB file's, and a local lake's.

    An object-storage lake has no lock: several writers share it, each run under keys of its
    own, and uncommitted runs are removed only after `output.orphan_grace`.
    """
    out = config.output
    paths = [out.duckdb.with_name(out.duckdb.name + ".lock")]
    if isinstance(out.lake, Path):
        paths.append(out.lake / lake.LOCK)
    return OutputLock(*paths)


def spool_for(config: Config, run_id: str) -> Path:
    """Return the local folder where a run's crawl gathers its pages: in a local lake's
    staging, or beside the DuckDB file when the lake is on object storage."""
    if isinstance(config.output.lake, Path):
        return config.output.lake / lake.STAGING / run_id
    return spool_root(config) / run_id


def spool_root(config: Config) -> Path:
    return config.output.duckdb.with_name(config.output.duckdb.name + ".spool")


@dataclass(frozen=True)
class StartState:
    """What the warehouse tells a run before it crawls."""

    caught_up: list[str]
    known_manifests: set[str]
    current: dict[Key, warehouse.CurrentRepository]
    seq: int
    latest_start: datetime | None
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


def prepare_outputs(
    config: Config, store: LakeStore, held: ExitStack
) -> tuple[StartState, duckdb.DuckDBPyConnection]:
    """Remove what interrupted runs left, report set-aside runs, load the runs DuckDB missed,
    and return what the new run needs to know with the warehouse's connection, open until
    `held` closes (no other process can open the file meanwhile). Call it holding the output
    lock."""
    out = config.output
    store.make_dirs(store.root)
    shutil.rmtree(spool_root(config), ignore_errors=True)  # a killed run's (we hold the lock)
    grace = 0.0 if store.local else out.orphan_grace
    try:
        removed = commits.clean_uncommitted(store, grace)
        replaced.clear_replaced(store, out.orphan_grace)  # what `thin` replaced
    except OSError as exc:
        raise StorageError(f"cannot clean the lake {store.url}: {exc}") from None
    if removed:
        log.info("removed what interrupted runs left behind: %s", ", ".join(removed))
    try:
        con = held.enter_context(warehouse.connect(out.duckdb))
        state = start_state(config, store, con)
    except DatabaseBusy as exc:
        raise DatabaseBusy(
            f"{exc}: nothing was crawled; close it, or let readers open output.readonly_copy"
        ) from None
    except LoadRefused as exc:
        raise LoadRefused(
            f"{exc}; the next sync tries it once more, then sets it aside and goes on"
        ) from None
    except NewerLakeFormat as exc:
        raise NewerLakeFormat(f"{exc}; nothing was loaded, crawled or written") from None
    except OSError as exc:
        raise StorageError(f"cannot read the lake {store.url}: {exc}") from None
    return state, con


def start_state(config: Config, store: LakeStore, con: duckdb.DuckDBPyConnection) -> StartState:
    """Load the committed runs the warehouse lacks and return what the new run needs to know,
    with the writer's identity (found again in the lake if its file was lost)."""
    listed = commits.listed_runs(store)
    caught_up = catch_up(con, store, listed)
    endpoints = [endpoint.name for endpoint in config.endpoints]
    identity = writer_id(
        config.output.duckdb, lambda: warehouse.lost_identities(con, config.writer, endpoints)
    )
    aside = warehouse.set_aside_runs(con)
    beyond = warehouse.loaded_run_ids(con) - {run_id for _, run_id in listed}
    state = StartState(
        caught_up,
        warehouse.manifest_digests(con),
        warehouse.current_repositories(con),
        warehouse.next_seq(con),
        warehouse.latest_start(con),
        warehouse.scope_members(con),
        warehouse.tracked(con, config.writer, identity),
        identity,
        frozenset(aside),
        frozenset(beyond),
    )
    warehouse.warn_shared_names(con)
    report_set_aside(aside, config.output.duckdb, store)
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
