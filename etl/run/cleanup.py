"""Applying a cleanup plan: refused when it is stale, another config's, too large or of an
endpoint this config lacks; else its tags deleted endpoint by endpoint (`etl.run.
cleanup_deletes`: each read from SWR right before its DELETE and deleted only while that is
safe), and every attempt recorded in the lake and the warehouse, however the deletes end.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import AsyncExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path

from etl.cleanup_plan import Applied, Attempt, CleanupPlan, ConfigStamp
from etl.config import CrawlConfig, EndpointConfig
from etl.errors import DatabaseBusy, Interrupted, Refused, StorageError
from etl.failpoints import failpoint
from etl.run.cleanup_deletes import EndpointCleanup, Progress
from etl.run.endpoints import client_for
from etl.run.runtime import signals_cancel
from etl.run.start import new_run_id
from etl.store import cleanups, warehouse
from etl.store.storage import LakeStore
from etl.swr.auth import Auth
from etl.swr.client import RetryPolicy

log = logging.getLogger("etl.run.cleanup")

# A plan "computed" further ahead of this machine's clock than this is refused: a clock is off.
CLOCK_SLACK = timedelta(minutes=5)


@dataclass(frozen=True)
class Limits:
    """What `cleanup apply` accepts: a plan at most `max_age_s` old, of at most
    `max_deletions` tags."""

    max_age_s: float
    max_deletions: int


def check_plan(plan: CleanupPlan, stamp: ConfigStamp, limits: Limits, now: datetime) -> None:
    """Raise Refused when a plan must not be applied: computed for another config, too old (or
    from the future), or with more tags than allowed. Nothing has been sent then."""
    ours = {e.name for e in stamp.endpoints}
    foreign = next((t for t in plan.tags if t.endpoint not in ours), None)
    if plan.config.fingerprint != stamp.fingerprint or foreign is not None:
        theirs = ", ".join(f"{e.name}={e.url}" for e in plan.config.endpoints)
        raise Refused(
            f"plan {plan.id} was computed for another config (endpoints {theirs}): compute "
            "a plan with this config (`swr-etl cleanup plan`)"
        )
    age = now - plan.computed_at
    if age < -CLOCK_SLACK:
        raise Refused(
            f"plan {plan.id} was computed at {plan.computed_at.isoformat()}, after this "
            "machine's time: is a clock wrong? Compute a new plan here"
        )
    if age.total_seconds() > limits.max_age_s:
        raise Refused(
            f"plan {plan.id} is {age_text(age)} old, older than --max-age "
            f"({age_text(timedelta(seconds=limits.max_age_s))}): the registry may have moved "
            "since; compute a new plan (or raise --max-age)"
        )
    if len(plan.tags) > limits.max_deletions:
        raise Refused(
            f"plan {plan.id} deletes {len(plan.tags)} tags, more than --max-deletions "
            f"({limits.max_deletions}): review it, then raise --max-deletions"
        )


def age_text(age: timedelta) -> str:
    """Return a duration as people read it: 2d 3h, 5h 10m, 45m, 30s."""
    seconds = int(age.total_seconds())
    days, hours, minutes = seconds // 86400, seconds % 86400 // 3600, seconds % 3600 // 60
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m" if minutes else f"{seconds}s"


def applier(writer: str) -> cleanups.Applier:
    """Return who applies a plan here: the OS user (its uid when it has no name) and host."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = f"uid {os.getuid()}"
    return cleanups.Applier(user, socket.gethostname(), writer)


@dataclass(frozen=True)
class Recording:
    """Where an apply is recorded: the lake, the warehouse, its read-only copy."""

    store: LakeStore
    duckdb: Path
    readonly_copy: Path | None
    who: cleanups.Applier


def apply_plan(
    plan: CleanupPlan,
    endpoints: Sequence[EndpointConfig],
    crawl: CrawlConfig,
    auths: dict[str, Auth],
    recording: Recording,
    on_attempt: Callable[[Attempt], None] = lambda attempt: None,
) -> Applied:
    """Delete a plan's tags through each endpoint's client and record every attempt, however
    the deletes end: SIGINT/SIGTERM (then raised as Interrupted, saying what is recorded), a
    second signal, an unexpected error (raised after the record). Call it holding the output
    lock."""
    apply_id = new_run_id(datetime.now(UTC))
    progress = Progress(on_attempt)
    with signals_noted() as noted:  # from here on a signal never stops the record
        stop = run_deletes(plan, endpoints, crawl, auths, progress)
        applied = record(plan, apply_id, progress.attempts, recording)
    state = f"{len(applied.attempts)} attempted delete(s) recorded in {applied.recorded}"
    if stop is not None and not isinstance(stop, Interrupted):
        log.error("after an unexpected error: %s", state)
        raise stop
    signum = stop.signum if stop is not None else (noted[0] if noted else None)
    if signum is not None:
        raise Interrupted(signum, state)
    return applied


def run_deletes(
    plan: CleanupPlan,
    endpoints: Sequence[EndpointConfig],
    crawl: CrawlConfig,
    auths: dict[str, Auth],
    progress: Progress,
) -> BaseException | None:
    """Run the deletes; return what stopped them early (Interrupted, or a bug), having
    recorded the tag whose DELETE was not settled then."""
    try:
        asyncio.run(delete_planned(plan, endpoints, crawl, auths, progress))
    except (Interrupted, KeyboardInterrupt) as exc:
        stop = exc if isinstance(exc, Interrupted) else Interrupted(signal.SIGINT)
        progress.stopped(f"interrupted by {signal.Signals(stop.signum).name}:")
        return stop
    except (Exception, asyncio.CancelledError) as exc:  # a bug: what was sent is recorded
        progress.stopped(f"stopped by an unexpected {type(exc).__name__}:")
        return exc
    return None


@contextmanager
def signals_noted() -> Iterator[list[int]]:
    """While in the block, SIGINT/SIGTERM are only noted (yields them), never raised: what
    was deleted is recorded whatever arrives. The deletes inside turn them into a
    cancellation (`signals_cancel`), then put this back."""
    noted: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}
    for signum in previous:
        signal.signal(signum, lambda signum, frame: noted.append(signum))
    try:
        yield noted
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)


async def delete_planned(
    plan: CleanupPlan,
    endpoints: Sequence[EndpointConfig],
    crawl: CrawlConfig,
    auths: dict[str, Auth],
    progress: Progress,
) -> None:
    """Delete the plan's tags, endpoint by endpoint, repository by repository, in order;
    SIGINT/SIGTERM stop it as Interrupted, its clients closed."""
    configured = {e.name: e for e in endpoints}
    ordered = sorted(plan.tags, key=lambda t: t.key)
    with signals_cancel(asyncio.current_task()) as received:
        try:
            async with AsyncExitStack() as stack:
                for name, tags in groupby(ordered, key=lambda t: t.endpoint):
                    endpoint = configured[name]  # check_plan: every tag's is configured
                    retry = RetryPolicy(max_attempts=crawl.max_attempts)
                    client = client_for(endpoint, crawl, auths[name], retry=retry)
                    await stack.enter_async_context(client)
                    await EndpointCleanup(
                        client, endpoint.api, plan.rule, plan.computed_at, progress
                    ).run(list(tags))
        except asyncio.CancelledError:
            if received:
                raise Interrupted(received[0]) from None
            raise


def record(
    plan: CleanupPlan, apply_id: str, attempts: list[Attempt], recording: Recording
) -> Applied:
    """Record an apply's attempts in the lake (one file), then load them into the warehouse;
    a warehouse that cannot be opened now is loaded by the next sync or `load`. No attempt,
    no record."""
    store = recording.store
    if not attempts:
        return Applied(apply_id, attempts, "nowhere (nothing was attempted)", loaded=False)
    failpoint("cleanup-recording")
    path = cleanups.cleanup_path(store, apply_id, datetime.now(UTC))
    table = cleanups.attempts_table(plan, apply_id, attempts, recording.who)
    try:
        cleanups.record_attempts(store, path, table)
    except OSError as exc:
        raise StorageError(
            f"cannot record the {len(attempts)} attempted delete(s) of plan {plan.id} in the "
            f"lake {store.url}: {exc}; what was deleted is gone from SWR, and the next sync "
            "shows it removed"
        ) from None
    loaded = True
    try:
        with warehouse.connect(recording.duckdb) as con:
            cleanups.load_cleanups(con, store)
        if recording.readonly_copy is not None:
            warehouse.publish_copy(recording.duckdb, recording.readonly_copy)
    except (DatabaseBusy, StorageError, OSError) as exc:
        loaded = False
        log.warning("recorded in the lake, not yet in DuckDB (%s): the next sync loads it", exc)
    return Applied(apply_id, attempts, store.show(path), loaded)
