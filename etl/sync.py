"""One sync run, end to end: config → lock → crawl → lake (atomic) → warehouse (one transaction).

Order matters for safety: nothing is written before the config, credentials sources and
output paths are checked; the lake run is published before the warehouse loads it, and a
warehouse that missed a published run (a crash in between) catches up at the next start.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import logging
import secrets
import signal
from collections.abc import Callable, Iterator
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import aiohttp
import pyarrow as pa

from etl import lake, warehouse
from etl.auth import AkSkAuth, Auth, IamCredentials, IamPasswordAuth, TokenAuth
from etl.client import RetryPolicy, SwrClient
from etl.config import (
    AkSkAuthConfig,
    Config,
    EndpointConfig,
    PasswordAuthConfig,
    check_output,
    token_from,
)
from etl.crawl import CrawlSettings, TargetResult, crawl_targets
from etl.errors import Interrupted
from etl.failpoints import failpoint
from etl.lock import OutputLock

log = logging.getLogger("etl.sync")


@dataclass(frozen=True)
class SyncOutcome:
    """What a finished run did: its id, per-target results and the run's summary row."""

    run_id: str
    results: list[TargetResult]
    run: dict[str, object]
    caught_up: list[str]

    @property
    def exit_code(self) -> int:
        """0 all targets synced; 1 some failed; 3 none could be synced."""
        failed = sum(r.status == "failed" for r in self.results)
        if failed == 0:
            return 0
        return 3 if failed == len(self.results) else 1


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends (they are delivered right after)."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)


def release_memory() -> None:
    """Hand memory freed by the last phase back to the OS, so phases' peaks do not stack."""
    gc.collect()
    pa.default_memory_pool().release_unused()
    if LIBC is not None:
        LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only: probe that it is there
        return libc
    except (OSError, AttributeError):
        return None


LIBC = _libc()


def auth_for(endpoint: EndpointConfig, config: Config, index: int) -> Auth:
    """Return the authentication scheme an endpoint's config asks for."""
    auth = endpoint.auth
    if isinstance(auth, PasswordAuthConfig):
        iam = IamCredentials(
            auth.iam_url,
            auth.domain,
            auth.user,
            auth.password.get_secret_value(),
            auth.project,
            auth.project_id,
        )
        return IamPasswordAuth(iam, timeout_s=config.crawl.timeout_s)
    if isinstance(auth, AkSkAuthConfig):
        return AkSkAuth(auth.ak.get_secret_value(), auth.sk.get_secret_value(), auth.project_id)
    return TokenAuth(token_from(auth, str(config.source), index))


def prepare(config: Config) -> dict[str, Auth]:
    """Check what can be checked without a request or a write; return each endpoint's auth."""
    auths = {e.name: auth_for(e, config, i) for i, e in enumerate(config.endpoints)}
    check_output(config)
    return auths


def new_run_id(started: datetime) -> str:
    """Return a run id that sorts by start time: 20261127T080000.123456Z-1a2b3c."""
    # Runs never overlap (the lock), so start times order them; microseconds keep two runs
    # within one second apart.
    return f"{started:%Y%m%dT%H%M%S.%f}Z-{secrets.token_hex(3)}"


def run_sync(
    config: Config,
    on_done: Callable[[TargetResult], None] = lambda result: None,
) -> SyncOutcome:
    """Run one sync and return its outcome; raises LockHeldError if another sync runs."""
    auths = prepare(config)
    out = config.output
    with OutputLock(out.duckdb.with_name(out.duckdb.name + ".lock")):
        out.lake.mkdir(parents=True, exist_ok=True)
        removed = lake.clean_uncommitted(out.lake)
        if removed:
            log.info("removed what interrupted runs left behind: %s", ", ".join(removed))
        with warehouse.connect(out.duckdb) as con:
            caught_up = warehouse.catch_up(con, out.lake)
            known = warehouse.manifest_digests(con)
        started = datetime.now(timezone.utc)
        run_id = new_run_id(started)
        writer = lake.RunWriter(out.lake, run_id, started.strftime("%Y-%m-%d"))
        try:
            results = asyncio.run(_crawl(config, auths, writer, run_id, started, known, on_done))
            release_memory()
            run = run_row(run_id, started, results)
            writer.write_run(
                target_runs_table(run_id, started, results),
                pa.Table.from_pylist([run], schema=lake.RUN_SCHEMA),
            )
            failpoint("lake-written")
            # A signal between the renames would leave a run half-visible: hold it until done.
            with signals_deferred():
                writer.publish()
            failpoint("lake-published")
            release_memory()
        except BaseException:
            writer.abandon()
            raise
        with warehouse.connect(out.duckdb) as con:
            warehouse.load_run(con, out.lake, writer.snapshot_date, run_id)
            con.execute("CHECKPOINT")
        if out.readonly_copy is not None:
            warehouse.publish_copy(out.duckdb, out.readonly_copy)
    return SyncOutcome(run_id, results, run, caught_up)


async def _crawl(
    config: Config,
    auths: dict[str, Auth],
    writer: lake.RunWriter,
    run_id: str,
    started: datetime,
    known: set[str],
    on_done: Callable[[TargetResult], None],
) -> list[TargetResult]:
    crawl = config.crawl
    in_flight = asyncio.Semaphore(crawl.concurrency)
    retry = RetryPolicy(max_attempts=crawl.max_attempts)
    async with AsyncExitStack() as stack:
        # One connection pool for all endpoints: `concurrency` caps connections, not only requests.
        connector = aiohttp.TCPConnector(limit=crawl.concurrency)
        stack.push_async_callback(connector.close)
        clients = {}
        for endpoint in config.endpoints:
            client = SwrClient(
                endpoint.url,
                auths[endpoint.name],
                name=endpoint.name,
                retry=retry,
                requests_per_second=crawl.requests_per_second,
                in_flight=in_flight,
                max_connections=crawl.concurrency,
                timeout_s=crawl.timeout_s,
                verify_tls=endpoint.verify_tls,
                ca_bundle=str(endpoint.ca_bundle) if endpoint.ca_bundle else None,
                connector=connector,
            )
            clients[endpoint.name] = await stack.enter_async_context(client)
        settings = CrawlSettings(
            run_id, started, crawl.page_size, crawl.with_manifest, crawl.concurrency, known
        )
        with signals_cancel(asyncio.current_task()) as received:
            try:
                return await crawl_targets(config.targets(), clients, writer, settings, on_done)
            except asyncio.CancelledError:
                if received:
                    raise Interrupted(received[0]) from None
                raise


@contextmanager
def signals_cancel(task: asyncio.Task[Any] | None) -> Iterator[list[int]]:
    """While in the block, SIGINT/SIGTERM cancel `task` (raised inside a loop callback, the
    usual exception would be lost); yields the signals received. Handlers are restored after."""
    loop = asyncio.get_running_loop()
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int) -> None:
        received.append(signum)
        if task is not None:
            task.cancel()

    for signum in previous:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            loop.remove_signal_handler(signum)  # this resets it to the default: put ours back
            signal.signal(signum, handler)


def run_row(run_id: str, started: datetime, results: list[TargetResult]) -> dict[str, object]:
    """Return the run's summary row (the lake's `runs` table)."""
    count = {s: sum(r.status == s for r in results) for s in ("ok", "not_found", "failed")}
    status = (
        "ok"
        if count["failed"] == 0
        else ("failed" if count["failed"] == len(results) else "partial")
    )
    return {
        "run_id": run_id,
        "started_at": started,
        "finished_at": datetime.now(timezone.utc),
        "status": status,
        "targets": len(results),
        **count,
        "tags": sum(r.tags for r in results if r.status == "ok"),
        "requests": sum(r.stats.requests for r in results),
        "retries": sum(r.stats.retries for r in results),
        "warnings": sum(r.warnings for r in results),
    }


def target_runs_table(run_id: str, started: datetime, results: list[TargetResult]) -> pa.Table:
    """Return the lake's `target_runs` rows for a run: one per target, failures with details."""
    rows = []
    for r in results:
        error = r.error
        rows.append(
            {
                "run_id": run_id,
                "snapshot_at": started,
                "endpoint": r.target.endpoint,
                "namespace": r.target.namespace,
                "repository": r.target.repository,
                "tag_filter": r.target.tag,
                "status": r.status,
                "tags": r.tags if r.status == "ok" else 0,
                "pages": r.stats.pages,
                "requests": r.stats.requests,
                "retries": r.stats.retries,
                "warnings": r.warnings,
                "duration_s": round(r.duration_s, 3),
                "http_status": error.status if error else None,
                "error_code": error.error_code if error else None,
                "error_message": error.message if error else None,
                "request_id": error.request_id if error else None,
            }
        )
    return pa.Table.from_pylist(rows, schema=lake.TARGET_RUN_SCHEMA)
