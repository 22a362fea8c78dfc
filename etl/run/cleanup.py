"""Applying a cleanup plan: refused when it is stale, another config's or too large; else each
planned tag read from SWR right before its delete and deleted only if it is still as planned,
and every attempt recorded in the lake and the warehouse.

SWR deletes "the image with a specified tag": every tag of the repository with that digest
goes with it. So before a repository's deletes its whole tag list is read once, and a planned
tag whose image a tag that stays now uses (a tag outside the plan, or a planned one that moved
since) is skipped as changed; a tag skipped or not read later joins those that stay.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import os
import socket
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import groupby
from pathlib import Path
from typing import Literal

from etl.cleanup_plan import Applied, Attempt, CleanupPlan, ConfigStamp, PlannedTag
from etl.config import CrawlConfig, EndpointConfig
from etl.errors import (
    ApiError,
    AuthError,
    DatabaseBusy,
    EndpointError,
    Interrupted,
    Refused,
    StorageError,
)
from etl.failpoints import failpoint
from etl.run.endpoints import client_for
from etl.run.runtime import signals_cancel, signals_deferred
from etl.run.start import new_run_id
from etl.status import CleanupResult
from etl.store import cleanups, warehouse
from etl.store.storage import LakeStore
from etl.swr.auth import Auth
from etl.swr.client import RetryPolicy, SwrClient
from etl.swr.lists import Api, offered_api, v3_probe
from etl.swr.tags import TagNow, delete_tag, read_tag, repository_tags

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
    if plan.config.fingerprint != stamp.fingerprint:
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
    """Delete a plan's tags through each endpoint's client and record every attempt, even when
    SIGINT/SIGTERM stops it (then raised as Interrupted, saying what is recorded). Call it
    holding the output lock."""
    apply_id = new_run_id(datetime.now(UTC))
    progress = Progress(on_attempt)
    interrupted: Interrupted | None = None
    try:
        asyncio.run(delete_planned(plan, endpoints, crawl, auths, progress))
    except Interrupted as exc:
        interrupted = exc
        progress.stopped()
    with signals_deferred():  # what was deleted is recorded, whatever arrives meanwhile
        applied = record(plan, apply_id, progress.attempts, recording)
    if interrupted is not None:
        state = f"{len(applied.attempts)} attempted delete(s) recorded in {applied.recorded}"
        raise Interrupted(interrupted.signum, state)
    return applied


@dataclass
class Progress:
    """The attempts so far, and the tag whose DELETE is in flight."""

    on_attempt: Callable[[Attempt], None]
    attempts: list[Attempt] = field(default_factory=list)
    deleting: PlannedTag | None = None

    def add(self, attempt: Attempt) -> None:
        self.attempts.append(attempt)
        self.on_attempt(attempt)

    def stopped(self) -> None:
        """Record the DELETE that was in flight when a signal stopped the apply."""
        if self.deleting is not None:
            detail = "interrupted while its DELETE was in flight: it may be deleted"
            self.add(attempt(self.deleting, CleanupResult.FAILED, detail))


def attempt(
    tag: PlannedTag, result: CleanupResult, detail: str | None = None, error: ApiError | None = None
) -> Attempt:
    """Return one attempt, made now, with what SWR said when it failed."""
    now = datetime.now(UTC)
    if error is None:
        return Attempt(tag, result, now, detail)
    return Attempt(
        tag, result, now, detail or str(error), error.status, error.error_code, error.request_id
    )


async def delete_planned(
    plan: CleanupPlan,
    endpoints: Sequence[EndpointConfig],
    crawl: CrawlConfig,
    auths: dict[str, Auth],
    progress: Progress,
) -> None:
    """Delete the plan's tags, endpoint by endpoint, repository by repository, in order."""
    configured = {e.name: e for e in endpoints}
    ordered = sorted(plan.tags, key=lambda t: t.key)
    async with AsyncExitStack() as stack:
        with signals_cancel(asyncio.current_task()) as received:
            try:
                for name, tags in groupby(ordered, key=lambda t: t.endpoint):
                    endpoint = configured[name]
                    retry = RetryPolicy(max_attempts=crawl.max_attempts)
                    client = client_for(endpoint, crawl, auths[name], retry=retry)
                    await stack.enter_async_context(client)
                    await EndpointCleanup(client, endpoint.api, progress).run(list(tags))
            except asyncio.CancelledError:
                if received:
                    raise Interrupted(received[0]) from None
                raise


@dataclass
class EndpointCleanup:
    """The deletes of one endpoint. An error that is the endpoint's, not one tag's (refused
    credentials, an unknown path, no connection) stops it: its other tags fail unsent."""

    client: SwrClient
    configured_api: Literal["auto", "v3", "v2"]
    progress: Progress
    stopped_by: ApiError | None = None

    async def run(self, tags: list[PlannedTag]) -> None:
        api = await self.api(tags[0])
        for _, group in groupby(tags, key=lambda t: (t.namespace, t.repository)):
            await self.repository(api, list(group))

    async def api(self, first: PlannedTag) -> Api:
        """Return the tag list to read with: as configured, or what the endpoint offers."""
        if self.configured_api != "auto":
            return self.configured_api
        return await offered_api(self.client, v3_probe(first.namespace, first.repository))

    async def repository(self, api: Api, tags: list[PlannedTag]) -> None:
        """Delete one repository's planned tags that are still as planned."""
        if self.stopped_by is not None:
            return self.fail_all(tags, self.stopped_by)
        first = tags[0]
        try:
            listed = await repository_tags(self.client, api, first.namespace, first.repository)
        except ApiError as exc:
            return self.fail_all(tags, self.stopping(exc))
        images = Images(staying_images(tags, listed))
        for tag in tags:
            if self.stopped_by is not None:
                self.fail_all([tag], self.stopped_by)
            else:
                self.progress.add(await self.one(api, tag, images))

    async def one(self, api: Api, tag: PlannedTag, images: Images) -> Attempt:
        """Read one tag, and delete it if it is as planned and no tag that stays uses its
        image; return what happened."""
        try:
            now = await read_tag(self.client, api, tag.namespace, tag.repository, tag.tag)
        except ApiError as exc:
            images.staying.setdefault(tag.digest, tag.tag)  # not known now: its image stays
            return attempt(tag, CleanupResult.FAILED, error=self.stopping(exc))
        if now is None:
            took = images.taken.get(tag.digest)
            why = f"deleted with {took} (the same image)" if took else "not listed any more"
            return attempt(tag, CleanupResult.GONE, why)
        moved = moved_since(tag, now)
        if moved:
            images.staying.setdefault(now.digest or tag.digest, tag.tag)
            return attempt(tag, CleanupResult.CHANGED, moved)
        other = images.staying.get(tag.digest)
        if other is not None:
            detail = f"its image is also tagged {other}, which stays: deleting it would delete both"
            return attempt(tag, CleanupResult.CHANGED, detail)
        return await self.delete(tag, images)

    async def delete(self, tag: PlannedTag, images: Images) -> Attempt:
        self.progress.deleting = tag  # until it is answered: a signal may stop it in flight
        try:
            deleted = await delete_tag(self.client, tag.namespace, tag.repository, tag.tag)
        except ApiError as exc:
            self.progress.deleting = None
            return attempt(tag, CleanupResult.FAILED, error=self.stopping(exc))
        self.progress.deleting = None
        if not deleted:
            return attempt(tag, CleanupResult.GONE, "the DELETE found it gone")
        images.taken[tag.digest] = tag.tag
        failpoint("cleanup-deleted")
        return attempt(tag, CleanupResult.DELETED)

    def stopping(self, error: ApiError) -> ApiError:
        """Return `error`, remembering it when it is the endpoint's."""
        if isinstance(error, (AuthError, EndpointError)):
            self.stopped_by = error
        return error

    def fail_all(self, tags: list[PlannedTag], error: ApiError) -> None:
        for tag in tags:
            self.progress.add(attempt(tag, CleanupResult.FAILED, error=error))


@dataclass
class Images:
    """One repository's images while its deletes go: those a tag that stays uses (digest →
    that tag), and those a delete took (digest → the tag deleted)."""

    staying: dict[str, str]
    taken: dict[str, str] = field(default_factory=dict)


def staying_images(planned: list[PlannedTag], listed: list[TagNow]) -> dict[str, str]:
    """Return the images of a repository's tags that stay (digest → one such tag): every
    listed tag but the planned ones still as planned."""
    by_name = {t.tag: t for t in planned}
    still = {
        now.tag for now in listed if now.tag in by_name and not moved_since(by_name[now.tag], now)
    }
    staying: dict[str, str] = {}
    for now in listed:
        if now.tag not in still and now.digest is not None:
            staying.setdefault(now.digest, now.tag)
    return staying


def moved_since(tag: PlannedTag, now: TagNow) -> str | None:
    """Return how a tag moved since the plan (another image, another push), or None if it
    is as planned."""
    if now.digest != tag.digest:
        return f"now {now.digest}, planned {tag.digest} (moved to another image)"
    if now.updated != tag.updated:
        shown = now.updated.isoformat() if now.updated else "an unreadable time"
        return f"pushed again at {shown} (planned: {tag.updated.isoformat()})"
    return None


def record(
    plan: CleanupPlan, apply_id: str, attempts: list[Attempt], recording: Recording
) -> Applied:
    """Record an apply's attempts in the lake (one file), then load them into the warehouse;
    a warehouse that cannot be opened now is loaded by the next sync or `load`. No attempt,
    no record."""
    store = recording.store
    if not attempts:
        return Applied(apply_id, attempts, "nowhere (nothing was attempted)", loaded=False)
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
