"""One sync run, end to end, as its steps in order: check → lock → start → crawl (with the
load beside it) → settle → commit to the lake (atomic) → load into DuckDB (one transaction) →
summary and outputs.

Order matters for safety: nothing is written before the config, credentials sources and
output paths are checked (`start`); the lake run is published before the warehouse loads it,
and a warehouse that missed a published run (a crash in between) catches up at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager, suppress
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial

import duckdb
import pyarrow as pa

from etl import schemas
from etl.config import CrawlConfig, EndpointConfig, OutputConfig
from etl.errors import EtlError, Interrupted, LockHeldError, StorageError, WriteFailed
from etl.failpoints import failpoint
from etl.results import Key, RunRecord, RunSummary, SyncOutcome, Target, TargetResult
from etl.run import unchanged
from etl.run.crawl import CrawlSettings, crawl_targets
from etl.run.discovery import Discovery, discover, endpoint_apis
from etl.run.early import LoadBesideCrawl
from etl.run.endpoints import open_clients, sum_waited
from etl.run.guard import refuse_mass_removals
from etl.run.listings import delta_targets
from etl.run.publish import (
    Reports,
    committed,
    load_committed_run,
    places,
    refresh_outputs,
    refreshing,
)
from etl.run.records import discoveries_table, repositories_table, run_row, target_runs_table
from etl.run.runtime import release_memory, signals_cancel, signals_deferred
from etl.run.scope import fail_unknown_names, untracked_results
from etl.run.start import (
    StartState,
    check_outputs,
    checked_before_run,
    new_run_id,
    output_lock,
    run_start,
    spool_for,
    wall_clock,
    warehouse_caught_up,
)
from etl.status import RunStatus
from etl.store import lake
from etl.store.early import OpenVersions
from etl.store.lake import Changes
from etl.store.storage import LakeStore, store_for
from etl.store.summaries import bare_summary, summarise_run
from etl.store.warehouse import cursor
from etl.swr.auth import Auth
from etl.swr.lists import Api

log = logging.getLogger("etl.run.sync")


@dataclass(frozen=True)
class Hooks:
    """What the caller hears while a run goes: how many targets it has once discovery has
    found them, each target's result as it finishes."""

    on_targets: Callable[[int], None] = lambda count: None
    on_done: Callable[[TargetResult], None] = lambda result: None


@dataclass(frozen=True)
class Run:
    """One started run: its id and start (`started`, after every run the warehouse holds;
    `clock`, what this machine's clock read then), what the warehouse said before it began,
    the lake partition it writes, the load beside its crawl, and where its outputs go
    (`writer`: the config's name in the lake). `started_run` makes it and owns what it holds."""

    run_id: str
    started: datetime
    clock: datetime
    state: StartState
    lake: lake.RunWriter
    early: LoadBesideCrawl
    out: OutputConfig
    writer: str

    @property
    def store(self) -> LakeStore:
        """The lake the run is written to."""
        return self.lake.store


def run_sync(
    endpoints: list[EndpointConfig],
    crawl: CrawlConfig,
    out: OutputConfig,
    reports: Reports,
    *,
    writer: str,
    source: str,
    hooks: Hooks | None = None,
    accept_removals: bool = False,
) -> SyncOutcome:
    """Run one sync of `endpoints` into `out` as `writer` (the config file `source` names
    errors) and return its outcome; raises LockHeldError if another sync runs.

    `hooks` hear how many targets the run has and each target's result as it finishes;
    `reports` get its metrics and page. With `output.metrics`, every run that took the lock
    leaves its metrics, failed ones included, once the lock is released: a slow Pushgateway
    holds this process only, never the next run's lock."""
    store = store_for(out)  # one per run: S3 resolves its credentials per client
    auths = checked_before_run(endpoints, crawl.timeout_s, out, store, source)
    started = datetime.now(UTC)
    try:
        with output_lock(out):
            with started_run(out, store, writer, [e.name for e in endpoints]) as run:
                outcome = run_steps(run, endpoints, crawl, auths, hooks or Hooks(), accept_removals)
            failpoint("warehouse-loaded")  # and no longer held: readers may open it
            shown = reports if outcome.run.status != RunStatus.FAILED else None
            outcome = written_to(outcome, refresh_outputs(out, store, outcome.run_id, shown))
    except LockHeldError:
        raise  # turned away: not a run, so it leaves no metrics
    except BaseException as exc:
        if out.metrics is not None:
            stopped = isinstance(exc, (Interrupted, KeyboardInterrupt))
            failed = partial(reports.failed_metrics, started, stopped)
            with suppress(Interrupted):  # a second signal: the run's own error is the news
                refreshing("the metrics file", out.metrics, failed)
        raise
    if out.metrics is not None:
        deliver_metrics(out, store, reports, outcome)
    return outcome


def written_to(outcome: SyncOutcome, refreshed: dict[str, str]) -> SyncOutcome:
    """Return `outcome` whose summary names, besides the lake and DuckDB, the outputs this run
    did refresh (a failed run leaves the page as it was; a full disk, the copy)."""
    places = {**outcome.summary.places, **refreshed}
    return replace(outcome, summary=replace(outcome.summary, places=places))


def deliver_metrics(
    out: OutputConfig, store: LakeStore, reports: Reports, outcome: SyncOutcome
) -> None:
    """Write (and push) a finished run's metrics: a failure is a warning; an interrupt says the
    run itself is done."""
    assert out.metrics is not None
    try:
        refreshing("the metrics file", out.metrics, lambda: reports.metrics(outcome.summary))
    except Interrupted as exc:
        done = committed(out, store, outcome.run_id).loaded()
        raise Interrupted(exc.signum, f"{done}; its metrics were not all delivered") from None


@contextmanager
def started_run(
    out: OutputConfig, store: LakeStore, writer: str, endpoints: list[str]
) -> Iterator[Run]:
    """Start a run: clean up after interrupted ones, catch DuckDB up and hold it until the
    run ends (no other process can open it meanwhile), name the run; yield it."""
    with (
        warehouse_caught_up(out, store, writer, endpoints) as (state, con),
        cursor(con) as versions,
        cursor(con) as reader,
    ):
        clock = wall_clock()
        started = run_start(state.latest, state.writer_id, clock)
        run_id = new_run_id(started)
        partition = started.strftime("%Y-%m-%d")
        written = lake.RunWriter(store, run_id, partition, spool_for(out, run_id))
        begun = OpenVersions(versions, reader, written.spool, (state.seq, run_id, started))
        early = LoadBesideCrawl(begun, written)
        yield Run(run_id, started, clock, state, written, early, out, writer)


def run_steps(
    run: Run,
    endpoints: list[EndpointConfig],
    crawl_config: CrawlConfig,
    auths: dict[str, Auth],
    hooks: Hooks,
    accept_removals: bool,
) -> SyncOutcome:
    """The run's steps after its start: crawl, settle, commit to the lake, load."""
    try:
        results, discovery = asyncio.run(crawl(run, endpoints, crawl_config, auths, hooks))
        release_memory()
        share = crawl_config.max_removed_share
        dropped = settle(run, results, None if accept_removals else share)
        row = commit(run, results, discovery)
    except (OSError, pa.ArrowException, WriteFailed) as exc:
        raise lake_write_failed(run, exc) from None
    except BaseException:
        run.lake.abandon()
        raise
    summary = load_and_summarise(run, row, keep_early=not dropped)
    found = discovery.failures()
    return SyncOutcome(run.run_id, results, row, run.state.caught_up, summary, found)


def settle(run: Run, results: list[TargetResult], max_removed_share: float | None) -> list[str]:
    """Decide what the crawl's results commit: a literal name SWR never knew fails, and an
    endpoint that would lose more than `max_removed_share` (None: any share accepted) is left
    out; return the endpoints left out."""
    fail_unknown_names(results, run.state.current)
    if max_removed_share is None:
        return []
    dropped = refuse_mass_removals(results, run.state.current, max_removed_share)
    for endpoint in dropped:
        run.lake.drop_endpoint(endpoint)
    return dropped


def commit(run: Run, results: list[TargetResult], discovery: Discovery) -> RunRecord:
    """Write the run's records beside its tags and publish the partition; return its row."""
    state, started, run_id = run.state, run.started, run.run_id
    # Finished by this machine's clock, not after `started`: whole listings are judged by it.
    row = run_row(
        run_id, state.seq, started, results, discovery, run.writer, state.writer_id, wall_clock()
    )
    untracked = untracked_results(state.tracked, results)
    changes = stored_as_changes(run, results)
    run.lake.write_run(
        target_runs_table(run_id, started, results + untracked, changes.keys),
        pa.Table.from_pylist([row.row()], schema=schemas.RUN_SCHEMA),
        repositories_table(run_id, started, discovery.listings),
        discoveries_table(run_id, started, discovery),
        changes,
    )
    failpoint("lake-written")
    # A signal between the renames would leave a run half-visible: hold it until done.
    with signals_deferred():
        run.lake.publish()
    failpoint("lake-published")
    release_memory()
    return row


def stored_as_changes(run: Run, results: list[TargetResult]) -> Changes:
    """Return which repositories of `results` the run stores as changes against its warehouse
    (`listings.delta_targets`, by this machine's clock), closes dated by its start; one carried
    forward has no listing to compare (it is stored as no changes)."""
    state = run.state
    keys = delta_targets(
        [r for r in results if not r.carried],
        state.current,
        run.clock,
        run.out.full_listing_every,
        state.lake_matches,
        state.writer_id,
    )
    return Changes(keys, run.out.duckdb, run.started)


def lake_write_failed(run: Run, exc: BaseException) -> StorageError:
    """Return the error of a lake (or the run's staging) that could not be written: nothing of
    the run is committed, and what it wrote is removed now or by a later sync."""
    url = run.store.url
    left = (
        "what it wrote was removed"
        if run.lake.abandon()
        else "what it wrote could not all be removed: the next sync removes it after "
        "output.orphan_grace"
    )
    failed = exc if isinstance(exc, WriteFailed) else WriteFailed(f"the lake at {url}", exc)
    return StorageError(f"{failed}; nothing of this run was committed and {left}")


def load_and_summarise(run: Run, row: RunRecord, keep_early: bool) -> RunSummary:
    """Load the committed run into DuckDB (continuing what was versioned beside its crawl, if
    `keep_early`) and return its summary, read over the load's connection (within the sync's
    memory limit)."""
    where = places(run.out, run.store, run.lake.snapshot_date, run.run_id)
    continued = run.early.finish(keep=keep_early)
    con = run.early.con
    load_committed_run(run.out, run.store, run.lake.snapshot_date, run.run_id, con, continued)
    try:
        return summarise_run(con, run.run_id, where)
    except (EtlError, duckdb.Error) as exc:
        # The run is committed and loaded: a summary that cannot be read must not fail it.
        log.warning("run %s is committed, but its summary could not be read: %s", run.run_id, exc)
        return bare_summary(row, where)


def load_lake(
    out: OutputConfig, store: LakeStore, reports: Reports, *, writer: str, source: str
) -> list[str]:
    """Load into DuckDB every committed lake run it lacks, without crawling (one warehouse
    for several writers sharing a lake); refresh the copy and the page; return the run ids."""
    check_outputs(out, store, source, probe_write=False)
    with output_lock(out):
        with warehouse_caught_up(out, store, writer, []) as (state, _):
            loaded = state.caught_up
        if loaded:
            refresh_outputs(out, store, loaded[-1], reports)
    return loaded


async def crawl(
    run: Run,
    endpoints: list[EndpointConfig],
    crawl_config: CrawlConfig,
    auths: dict[str, Auth],
    hooks: Hooks,
) -> tuple[list[TargetResult], Discovery]:
    """Find the run's targets and crawl them into its lake partition, the load beside it;
    SIGINT or SIGTERM stops it as `Interrupted`. The deadline counts from here, discovery
    included."""
    deadline = time.monotonic() + crawl_config.deadline_s
    async with AsyncExitStack() as stack:
        clients = await open_clients(endpoints, crawl_config, auths, stack)
        with signals_cancel(asyncio.current_task()) as received:
            try:
                apis = await endpoint_apis(endpoints, clients)
                members = run.state.members
                found = await discover(endpoints, clients, members, apis, crawl_config.page_size)
                as_changes = changes_if_complete(run, found.targets)
                to_crawl, carried = unchanged.carry_unchanged(
                    run.early.con, run.state.current, run.clock, crawl_config, found, as_changes
                )
                hooks.on_targets(len(found.targets) + len(found.decided))
                for result in found.decided + carried:
                    hooks.on_done(result)
                settings = crawl_settings(run, crawl_config, apis, deadline)
                waited_s = partial(sum_waited, clients)
                async with run.early.beside(as_changes, waited_s):
                    crawled = await crawl_targets(
                        to_crawl, clients, run.lake, settings, hooks.on_done
                    )
                return crawled + carried + found.decided, found
            except asyncio.CancelledError:
                if received:
                    raise Interrupted(received[0]) from None
                raise


def changes_if_complete(run: Run, targets: list[Target]) -> frozenset[Key]:
    """Return the repositories of `targets` that the run stores as changes if they complete
    (`stored_as_changes` of them all synced `ok`), known before the crawl."""
    return stored_as_changes(run, [TargetResult(target) for target in targets]).keys


def crawl_settings(
    run: Run, crawl_config: CrawlConfig, apis: dict[str, Api], deadline: float
) -> CrawlSettings:
    """Return what every target's crawl shares, complete."""
    return CrawlSettings(
        run.run_id,
        run.started,
        crawl_config.page_size,
        crawl_config.with_manifest,
        crawl_config.concurrency,
        run.state.known_manifests,
        deadline=deadline,
        deadline_s=crawl_config.deadline_s,
        apis=apis,
    )
