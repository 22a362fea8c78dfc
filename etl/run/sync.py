"""One sync run, end to end, as its steps in order: check → lock → start → crawl → settle →
commit to the lake (atomic) → load into DuckDB (one transaction) → summary and outputs.

Order matters for safety: nothing is written before the config, credentials sources and
output paths are checked (`start`); the lake run is published before the warehouse loads it,
and a warehouse that missed a published run (a crash in between) catches up at the next start.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack, ExitStack, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from typing import Any

import aiohttp
import duckdb
import pyarrow as pa

from etl import schemas
from etl.config import Config
from etl.errors import EtlError, Interrupted, LockHeldError, StorageError, WriteFailed
from etl.failpoints import failpoint
from etl.results import Key, RunSummary, SyncOutcome, Target, TargetResult
from etl.run.crawl import CrawlSettings, crawl_targets
from etl.run.discovery import Discovery, discover, endpoint_apis
from etl.run.endpoints import client_for
from etl.run.guard import refuse_mass_removals
from etl.run.listings import delta_targets
from etl.run.loader import Loader
from etl.run.publish import (
    Reports,
    committed,
    load_published,
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
    new_run_id,
    output_lock,
    prepare,
    prepare_outputs,
    run_start,
    spool_for,
)
from etl.status import RunStatus
from etl.store import lake
from etl.store.early import EarlyLoad
from etl.store.storage import LakeStore, store_for
from etl.store.summaries import bare_summary, summarise_run
from etl.swr.auth import Auth
from etl.swr.client import RetryPolicy, SwrClient
from etl.swr.lists import Api

log = logging.getLogger("etl.run.sync")


@dataclass(frozen=True)
class Hooks:
    """What the caller hears while a run goes: how many targets it has once discovery has
    found them, each target's result as it finishes."""

    on_targets: Callable[[int], None] = lambda count: None
    on_done: Callable[[TargetResult], None] = lambda result: None


@dataclass
class Run:
    """One run as it goes: its id, start, the writer of its lake partition, and what the
    warehouse said before it began."""

    config: Config
    state: StartState
    started: datetime
    run_id: str
    writer: lake.RunWriter
    warehouse: duckdb.DuckDBPyConnection  # held from the start to the load (`held`)
    held: ExitStack
    early: EarlyLoad
    results: list[TargetResult] = field(default_factory=list)
    discovery: Discovery = field(default_factory=Discovery)

    @property
    def store(self) -> LakeStore:
        """The lake the run is written to."""
        return self.writer.store


def run_sync(
    config: Config, reports: Reports, hooks: Hooks | None = None, accept_removals: bool = False
) -> SyncOutcome:
    """Run one sync and return its outcome; raises LockHeldError if another sync runs.

    `hooks` hear how many targets the run has and each target's result as it finishes;
    `reports` get its summary, metrics and page. With `output.metrics`, every run that took
    the lock leaves its metrics, failed ones included, once the lock is released: a slow
    Pushgateway holds this process only, never the next run's lock."""
    store = store_for(config.output)  # one per run: S3 resolves its credentials per client
    auths = prepare(config, store)
    started = datetime.now(UTC)
    metrics = config.output.metrics
    try:
        with output_lock(config), ExitStack() as held:
            run = begin(config, store, held)
            outcome = run_locked(run, auths, hooks or Hooks(), accept_removals, reports)
    except LockHeldError:
        raise  # turned away: not a run, so it leaves no metrics
    except BaseException as exc:
        if metrics is not None:
            stopped = isinstance(exc, (Interrupted, KeyboardInterrupt))
            failed = partial(reports.failed_metrics, config, started, stopped)
            with suppress(Interrupted):  # a second signal: the run's own error is the news
                refreshing("the metrics file", metrics, failed)
        raise
    if metrics is not None:
        try:
            refreshing(
                "the metrics file", metrics, lambda: reports.metrics(config, outcome.summary)
            )
        except Interrupted as exc:  # while pushing, say: the run itself is done
            done = committed(config, store, outcome.run_id).loaded()
            raise Interrupted(exc.signum, f"{done}; its metrics were not all delivered") from None
    return outcome


def run_locked(
    run: Run, auths: dict[str, Auth], hooks: Hooks, accept_removals: bool, reports: Reports
) -> SyncOutcome:
    """The run's steps after its start, holding the output lock."""
    try:
        run.results, run.discovery = asyncio.run(crawl(run, auths, hooks))
        release_memory()
        settle(run, accept_removals)
        row = commit(run)
    except (OSError, pa.ArrowException, WriteFailed) as exc:
        raise lake_write_failed(run, exc) from None
    except BaseException:
        run.writer.abandon()
        raise
    summary = load_and_summarise(run, row)
    failpoint("warehouse-loaded")
    shown = reports if row["status"] != RunStatus.FAILED else None
    refresh_outputs(run.config, run.store, run.run_id, shown)
    failures = run.discovery.failures()
    return SyncOutcome(run.run_id, run.results, row, run.state.caught_up, summary, failures)


def begin(config: Config, store: LakeStore, held: ExitStack) -> Run:
    """Start a run: clean up after interrupted ones, catch DuckDB up (and hold it until the
    run is loaded, or `held` closes), name the run."""
    state, con = prepare_outputs(config, store, held)
    started = run_start(state.latest_start)
    run_id = new_run_id(started)
    partition = started.strftime("%Y-%m-%d")
    writer = lake.RunWriter(store, run_id, partition, spool_for(config, run_id))
    cursors = (held.enter_context(con.cursor()), held.enter_context(con.cursor()))
    early = EarlyLoad(*cursors, writer.spool, (state.seq, run_id, started))
    return Run(config, state, started, run_id, writer, con, held, early)


def settle(run: Run, accept_removals: bool) -> None:
    """Decide what the crawl's results commit: a literal name SWR never knew fails, and an
    endpoint that would lose too much is left out (unless the removals are accepted)."""
    fail_unknown_names(run.results, run.state.current)
    if not accept_removals:
        share = run.config.crawl.max_removed_share
        for endpoint in refuse_mass_removals(run.results, run.state.current, share):
            run.writer.drop_endpoint(endpoint)
            run.early.abandon()  # it versioned that endpoint's targets: the load does it all


def commit(run: Run) -> dict[str, object]:
    """Write the run's records beside its tags and publish the partition; return its row."""
    config, state, started, run_id = run.config, run.state, run.started, run.run_id
    row = run_row(
        run_id, state.seq, started, run.results, run.discovery, config.writer, state.writer_id
    )
    untracked = untracked_results(state.tracked, run.results)
    every = config.output.full_listing_every
    changes = delta_targets(
        run.results, state.current, started, every, state.lake_matches, state.writer_id
    )
    run.writer.keep_as_changes(changes, config.output.duckdb, started)
    run.writer.write_run(
        target_runs_table(run_id, started, run.results + untracked, changes),
        pa.Table.from_pylist([row], schema=schemas.RUN_SCHEMA),
        repositories_table(run_id, started, run.discovery.listings),
        discoveries_table(run_id, started, run.discovery),
    )
    failpoint("lake-written")
    # A signal between the renames would leave a run half-visible: hold it until done.
    with signals_deferred():
        run.writer.publish()
    failpoint("lake-published")
    release_memory()
    return row


def lake_write_failed(run: Run, exc: BaseException) -> StorageError:
    """Return the error of a lake (or the run's staging) that could not be written: nothing of
    the run is committed, and what it wrote is removed now or by a later sync."""
    url = run.writer.store.url
    left = (
        "what it wrote was removed"
        if run.writer.abandon()
        else "what it wrote could not all be removed: the next sync removes it after "
        "output.orphan_grace"
    )
    failed = exc if isinstance(exc, WriteFailed) else WriteFailed(f"the lake at {url}", exc)
    return StorageError(f"{failed}; nothing of this run was committed and {left}")


def load_and_summarise(run: Run, row: dict[str, Any]) -> RunSummary:
    """Load the committed run into DuckDB and return its summary, read over the load's
    connection (within the sync's memory limit)."""
    where = places(run.config, run.store, run.writer.snapshot_date, run.run_id)
    continued = run.early.continued()
    con = run.early.con if continued is not None else run.warehouse
    with run.held:  # then no longer held: readers may open it
        load_published(run.config, run.store, run.writer.snapshot_date, run.run_id, con, continued)
        try:
            return summarise_run(con, run.run_id, where)
        except (EtlError, duckdb.Error) as exc:
            # The run is committed and loaded: a summary that cannot be read must not fail it.
            log.warning(
                "run %s is committed, but its summary could not be read: %s", run.run_id, exc
            )
            return bare_summary(row, where)


def load_lake(config: Config, store: LakeStore, reports: Reports) -> list[str]:
    """Load into DuckDB every committed lake run it lacks, without crawling (one warehouse
    for several writers sharing a lake); refresh the copy and the page; return the run ids."""
    check_outputs(config, store, probe_write=False)
    with output_lock(config), ExitStack() as held:
        loaded = prepare_outputs(config, store, held)[0].caught_up
        held.close()
        if loaded:
            refresh_outputs(config, store, loaded[-1], reports)
    return loaded


async def crawl(
    run: Run, auths: dict[str, Auth], hooks: Hooks
) -> tuple[list[TargetResult], Discovery]:
    """Find the run's targets and crawl them into its lake partition; SIGINT or SIGTERM stops
    it as `Interrupted`. The deadline counts from here, discovery included."""
    deadline = time.monotonic() + run.config.crawl.deadline_s
    async with AsyncExitStack() as stack:
        clients = await open_clients(run.config, auths, stack)
        with signals_cancel(asyncio.current_task()) as received:
            try:
                apis = await endpoint_apis(run.config, clients)
                found = await discover(run.config, clients, run.state.members, apis)
                loader = Loader(
                    run.early,
                    run.writer,
                    changes_if_complete(run, found.targets),
                    lambda: sum(c.limiter.waited_s for c in clients.values()),
                )
                run.writer.on_segment = loader.offer
                loader.start()
                stack.push_async_callback(loader.stop)  # before the connection is used again
                hooks.on_targets(len(found.targets) + len(found.decided))
                for result in found.decided:
                    hooks.on_done(result)
                settings = crawl_settings(run, apis, deadline)
                crawled = await crawl_targets(
                    found.targets, clients, run.writer, settings, hooks.on_done
                )
                return crawled + found.decided, found
            except asyncio.CancelledError:
                if received:
                    raise Interrupted(received[0]) from None
                raise


def changes_if_complete(run: Run, targets: list[Target]) -> frozenset[Key]:
    """Return the repositories of `targets` that the run stores as changes if they complete
    (`listings.delta_targets` of them all synced `ok`), known before the crawl."""
    config, state = run.config, run.state
    every = config.output.full_listing_every
    results = [TargetResult(target) for target in targets]
    return delta_targets(
        results, state.current, run.started, every, state.lake_matches, state.writer_id
    )


async def open_clients(
    config: Config, auths: dict[str, Auth], stack: AsyncExitStack
) -> dict[str, SwrClient]:
    """Open one client per endpoint, closed with `stack`. They share one connection pool,
    one cap on requests in flight and one retry policy: `concurrency` caps connections, not
    only requests, whatever the number of endpoints."""
    crawl_config = config.crawl
    in_flight = asyncio.Semaphore(crawl_config.concurrency)
    retry = RetryPolicy(max_attempts=crawl_config.max_attempts)
    connector = aiohttp.TCPConnector(limit=crawl_config.concurrency)
    stack.push_async_callback(connector.close)
    clients = {}
    for endpoint in config.endpoints:
        client = client_for(
            endpoint,
            crawl_config,
            auths[endpoint.name],
            retry=retry,
            in_flight=in_flight,
            connector=connector,
        )
        clients[endpoint.name] = await stack.enter_async_context(client)
    return clients


def crawl_settings(run: Run, apis: dict[str, Api], deadline: float) -> CrawlSettings:
    """Return what every target's crawl shares, complete."""
    crawl_config = run.config.crawl
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
