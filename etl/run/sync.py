"""One sync run, end to end: config → lock → crawl → lake (atomic) → warehouse (one transaction).

Order matters for safety: nothing is written before the config, credentials sources and
output paths are checked; the lake run is published before the warehouse loads it, and a
warehouse that missed a published run (a crash in between) catches up at the next start.
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
import secrets
import shutil
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import duckdb
import pyarrow as pa

from etl.config import Config
from etl.config_file import check_output
from etl.errors import ConfigError, DatabaseBusy, EtlError, Interrupted, StorageError
from etl.failpoints import failpoint
from etl.results import SyncOutcome, TargetResult
from etl.run.crawl import CrawlSettings, crawl_targets
from etl.run.discovery import Discovery, Members, discover, endpoint_apis
from etl.run.endpoints import auth_for, client_for
from etl.run.guard import refuse_mass_removals
from etl.run.identity import writer_id
from etl.run.lock import OutputLock
from etl.run.records import discoveries_table, repositories_table, run_row, target_runs_table
from etl.run.runtime import release_memory, signals_cancel, signals_deferred
from etl.run.scope import fail_unknown_names, untracked_results
from etl.status import RunStatus
from etl.store import commits, lake, warehouse
from etl.store.storage import LakeStore, store_for
from etl.store.warehouse import LoadRefused
from etl.swr.auth import Auth
from etl.swr.client import RetryPolicy

log = logging.getLogger("etl.run.sync")


def prepare(config: Config, probe_write: bool = True) -> dict[str, Auth]:
    """Check the config, the credentials' sources and the outputs before any crawl (an
    object-storage lake with one listing and a probe write); return each endpoint's auth."""
    if not config.endpoints:
        raise ConfigError(
            "none given: a config without endpoints can only `swr-etl load` a shared lake",
            file=str(config.source),
            key="endpoints",
        )
    auths = {e.name: auth_for(e, config, i) for i, e in enumerate(config.endpoints)}
    check_outputs(config, probe_write)
    return auths


def check_outputs(config: Config, probe_write: bool) -> None:
    """Raise ConfigError if an output cannot be written: local paths by looking, an
    object-storage lake by one listing (and, with `probe_write`, a probe object)."""
    check_output(config)
    if config.output.dashboard is not None and importlib.util.find_spec("plotly") is None:
        # Found before the crawl, not after the commit: the page needs Plotly's script.
        raise ConfigError(
            "the dashboard needs plotly: pip install 'swr-tag-etl[dashboard]'",
            file=str(config.source),
            key="output.dashboard",
        )
    store_for(config.output).check_lake("output.lake", str(config.source), probe_write)


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
    current: dict[tuple[str, str, str], warehouse.Held]
    seq: int
    latest_start: datetime | None
    members: Members
    tracked: dict[tuple[str, str, str], str]  # what this writer tracks, and how it was selected
    writer_id: str  # this writer's identity (etl.run.identity)


def prepare_outputs(config: Config) -> StartState:
    """Remove what interrupted runs left, report set-aside runs, load the runs DuckDB missed,
    and return what the new run needs to know. Call it holding the output lock."""
    out = config.output
    store = store_for(out)
    store.make_dirs(store.root)
    shutil.rmtree(spool_root(config), ignore_errors=True)  # a killed run's (we hold the lock)
    grace = 0.0 if store.local else out.orphan_grace
    try:
        removed = commits.clean_uncommitted(store, grace)
    except OSError as exc:
        raise StorageError(f"cannot clean the lake {store.url}: {exc}") from None
    if removed:
        log.info("removed what interrupted runs left behind: %s", ", ".join(removed))
    identity = writer_id(out.duckdb)
    try:
        with warehouse.connect(out.duckdb) as con:
            caught_up = warehouse.catch_up(con, store)
            state = StartState(
                caught_up,
                warehouse.manifest_digests(con),
                warehouse.held(con),
                warehouse.next_seq(con),
                warehouse.latest_start(con),
                warehouse.scope_members(con),
                warehouse.tracked(con, config.writer, identity),
                identity,
            )
            warehouse.warn_shared_names(con)
            aside = warehouse.set_aside_runs(con)
    except DatabaseBusy as exc:
        raise DatabaseBusy(
            f"{exc}: nothing was crawled; close it, or let readers open output.readonly_copy"
        ) from None
    except LoadRefused as exc:
        raise LoadRefused(
            f"{exc}; the next sync tries it once more, then sets it aside and goes on"
        ) from None
    except OSError as exc:
        raise StorageError(f"cannot read the lake {store.url}: {exc}") from None
    report_set_aside(aside, out.duckdb, store)
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


def load_lake(config: Config) -> list[str]:
    """Load into DuckDB every committed lake run it lacks, without crawling (one warehouse
    for several writers sharing a lake); refresh the copy and the page; return the run ids."""
    check_outputs(config, probe_write=False)
    with output_lock(config):
        loaded = prepare_outputs(config).caught_up
        if loaded:
            refresh_outputs(config, loaded[-1])
    return loaded


def run_sync(
    config: Config,
    on_done: Callable[[TargetResult], None] = lambda result: None,
    accept_removals: bool = False,
    on_targets: Callable[[int], None] = lambda count: None,
) -> SyncOutcome:
    """Run one sync and return its outcome; raises LockHeldError if another sync runs.

    `on_targets` hears how many targets the run has once discovery has found them, `on_done`
    each target's result as it finishes. With `output.metrics`, every run that took the lock
    leaves its metrics, failed ones included."""
    auths = prepare(config)
    started = datetime.now(UTC)
    with output_lock(config):
        try:
            outcome = _run_locked(config, auths, on_done, accept_removals, on_targets)
        except BaseException as exc:
            if config.output.metrics is not None:
                from etl.present.metrics import write_failed_run_metrics

                stopped = isinstance(exc, (Interrupted, KeyboardInterrupt))
                write_failed_run_metrics(config, started, interrupted=stopped)
            raise
    metrics = config.output.metrics
    if metrics is not None:
        from etl.present.metrics import deliver_metrics, run_metrics

        refreshing(
            "the metrics file",
            metrics,
            lambda: deliver_metrics(config, run_metrics(outcome.summary)),
        )
    return outcome


def _run_locked(
    config: Config,
    auths: dict[str, Auth],
    on_done: Callable[[TargetResult], None],
    accept_removals: bool,
    on_targets: Callable[[int], None],
) -> SyncOutcome:
    out = config.output
    state = prepare_outputs(config)
    started = run_start(state.latest_start)
    run_id = new_run_id(started)
    store = store_for(out)
    writer = lake.RunWriter(store, run_id, started.strftime("%Y-%m-%d"), spool_for(config, run_id))
    try:
        context = RunContext(run_id, started, state)
        results, discovery = asyncio.run(
            _crawl(config, auths, writer, context, on_done, on_targets)
        )
        release_memory()
        fail_unknown_names(results, state.current)
        if not accept_removals:
            share = config.crawl.max_removed_share
            for endpoint in refuse_mass_removals(results, state.current, share):
                writer.drop_endpoint(endpoint)
        run = run_row(
            run_id, state.seq, started, results, discovery, config.writer, state.writer_id
        )
        untracked = untracked_results(state.tracked, results)
        writer.write_run(
            target_runs_table(run_id, started, results + untracked),
            pa.Table.from_pylist([run], schema=lake.RUN_SCHEMA),
            repositories_table(run_id, started, discovery.listings),
            discoveries_table(run_id, started, discovery),
        )
        failpoint("lake-written")
        # A signal between the renames would leave a run half-visible: hold it until done.
        with signals_deferred():
            writer.publish()
        failpoint("lake-published")
        release_memory()
    except (OSError, pa.ArrowException) as exc:
        left = (
            "what it wrote was removed"
            if writer.abandon()
            else "what it wrote could not all be removed: the next sync removes it after "
            "output.orphan_grace"
        )
        raise StorageError(
            f"cannot write the lake at {store.url}: {exc}; nothing of this run was committed "
            f"and {left}"
        ) from None
    except BaseException:
        writer.abandon()
        raise
    # Imported after the crawl: what the summary needs is not on the way to the first request.
    from etl.present.summary import bare_summary, summarise_run

    where = places(config, writer.snapshot_date, run_id)
    with ExitStack() as stack:
        con = load_published(config, writer.snapshot_date, run_id, stack)
        try:
            # The load's connection: within the sync's memory limit (spilling beyond it).
            summary = summarise_run(con, run_id, where)
        except (EtlError, duckdb.Error) as exc:
            # The run is committed and loaded: a summary that cannot be read must not fail it.
            log.warning("run %s is committed, but its summary could not be read: %s", run_id, exc)
            summary = bare_summary(run, where)
    failpoint("warehouse-loaded")
    refresh_outputs(config, run_id, draw_page=run["status"] != RunStatus.FAILED)
    return SyncOutcome(run_id, results, run, state.caught_up, discovery.failures(), summary)


def refresh_outputs(config: Config, run_id: str, draw_page: bool = True) -> None:
    """Refresh the read-only copy and the dashboard page of a loaded run. The run is loaded:
    one that cannot be refreshed (a reader holds the DuckDB file, a full disk) is a warning that
    says so and when it will be, never a failed run; an interrupt still stops the process."""
    out = config.output
    if out.readonly_copy is not None:
        refreshing("the read-only copy", out.readonly_copy, lambda: refresh_copy(config, run_id))
    if out.dashboard is not None and draw_page:
        refreshing("the dashboard", out.dashboard, lambda: refresh_dashboard(config, run_id))


def refreshing(what: str, where: Path, refresh: Callable[[], None]) -> None:
    """Run one refresh; on a storage error, log a warning naming what was not refreshed."""
    try:
        refresh()
    except (StorageError, OSError) as exc:
        log.warning(
            "%s %s was not refreshed (%s); the next sync or `swr-etl load` refreshes it",
            what,
            where,
            exc,
        )


def places(config: Config, snapshot_date: str, run_id: str) -> dict[str, str]:
    """Return where a run went: its lake partition, the DuckDB file, the copy, the page."""
    out = config.output
    store = store_for(out)
    found = {
        "lake": store.show(store.path(lake.partition("tag_snapshots", snapshot_date, run_id))),
        "duckdb": str(out.duckdb),
    }
    for name, path in (("read-only copy", out.readonly_copy), ("dashboard", out.dashboard)):
        if path is not None:
            found[name] = str(path)
    return found


def refresh_dashboard(config: Config, run_id: str) -> None:
    """Rewrite the dashboard page; on failure say that the run itself is safe."""
    from etl.present.dashboard import write_dashboard  # plotly only when a page is asked for

    out = config.output
    assert out.dashboard is not None
    try:
        with warehouse.connect(out.duckdb) as con:  # within the sync's memory limit
            write_dashboard(con, out.dashboard)
    except OSError as exc:
        raise StorageError(
            f"cannot write the dashboard {out.dashboard}: {exc.strerror or exc}; run {run_id} "
            "is committed to the lake and loaded into DuckDB"
        ) from None


def load_published(
    config: Config, snapshot_date: str, run_id: str, stack: ExitStack
) -> duckdb.DuckDBPyConnection:
    """Load a run just committed to the lake into DuckDB and return the connection, open until
    `stack` closes; on any failure, raise one line that says the run is safe in the lake and
    what the next sync will do."""
    out = config.output
    store = store_for(out)
    where = f"run {run_id} is committed to the lake at {store.url}"
    try:
        con = stack.enter_context(warehouse.connect(out.duckdb))
        warehouse.load_run(con, commits.read_commit(store, snapshot_date, run_id))
        checkpoint(con, out.duckdb, run_id)
        return con
    except Interrupted as exc:
        raise Interrupted(
            exc.signum, f"{where} but not loaded into {out.duckdb}; the next sync loads it"
        ) from None
    except LoadRefused as exc:
        warehouse.note_load_failure(con, run_id, str(exc))
        raise LoadRefused(
            f"{exc}; {where}; the next sync tries once more, then sets it aside and goes on"
        ) from None
    except StorageError as exc:
        raise type(exc)(f"{exc}; {where} and the next sync loads it") from None
    except duckdb.Error as exc:
        raise StorageError(
            f"DuckDB could not open {out.duckdb}: {str(exc).splitlines()[0]}; {where} and the "
            "next sync loads it"
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


def refresh_copy(config: Config, run_id: str) -> None:
    """Replace the read-only copy; on failure say that the run itself is safe."""
    out = config.output
    assert out.readonly_copy is not None
    done = f"run {run_id} is committed to the lake and loaded into {out.duckdb}"
    stale = f"the read-only copy {out.readonly_copy} was not refreshed (the next sync does it)"
    try:
        warehouse.publish_copy(out.duckdb, out.readonly_copy)
    except Interrupted as exc:
        raise Interrupted(exc.signum, f"{done}; {stale}") from None
    except OSError as exc:
        raise StorageError(f"{exc.strerror or exc}: {done}; {stale}") from None


@dataclass(frozen=True)
class RunContext:
    """What the crawl of one run needs to know about it."""

    run_id: str
    started: datetime
    state: StartState


async def _crawl(
    config: Config,
    auths: dict[str, Auth],
    writer: lake.RunWriter,
    run: RunContext,
    on_done: Callable[[TargetResult], None],
    on_targets: Callable[[int], None],
) -> tuple[list[TargetResult], Discovery]:
    crawl = config.crawl
    in_flight = asyncio.Semaphore(crawl.concurrency)
    retry = RetryPolicy(max_attempts=crawl.max_attempts)
    async with AsyncExitStack() as stack:
        # One connection pool for all endpoints: `concurrency` caps connections, not only requests.
        connector = aiohttp.TCPConnector(limit=crawl.concurrency)
        stack.push_async_callback(connector.close)
        clients = {}
        for endpoint in config.endpoints:
            client = client_for(
                endpoint,
                crawl,
                auths[endpoint.name],
                retry=retry,
                in_flight=in_flight,
                connector=connector,
            )
            clients[endpoint.name] = await stack.enter_async_context(client)
        settings = CrawlSettings(
            run.run_id,
            run.started,
            crawl.page_size,
            crawl.with_manifest,
            crawl.concurrency,
            run.state.known_manifests,
            deadline=time.monotonic() + crawl.deadline_s,
            deadline_s=crawl.deadline_s,
        )
        with signals_cancel(asyncio.current_task()) as received:
            try:
                apis = await endpoint_apis(config, clients)
                settings.apis = apis
                found = await discover(config, clients, run.state.members, apis)
                on_targets(len(found.targets) + len(found.decided))
                for result in found.decided:
                    on_done(result)
                crawled = await crawl_targets(found.targets, clients, writer, settings, on_done)
                return crawled + found.decided, found
            except asyncio.CancelledError:
                if received:
                    raise Interrupted(received[0]) from None
                raise
