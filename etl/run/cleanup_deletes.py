"""The deletes of a cleanup plan on one endpoint: each planned tag checked against what SWR
lists moments before its DELETE, and the DELETE confirmed by what SWR lists after it
(`etl.run.cleanup` drives them and records every attempt).

SWR deletes "the image with a specified tag": every tag of the repository with that digest
goes with it, and SWR offers no conditional delete. So right before each DELETE the
repository's whole tag list is read again (never the fuzzy `tag` filter alone), and the tag is
deleted only while it is as planned, its plan's rule would still delete it, and every tag
naming its image is one that goes (planned, still as planned, not kept). A tag pushed onto the
image after that read and before SWR carries out the DELETE is the one race left: the window
is the read and the DELETE, and a read that took longer than READ_TO_DELETE_S is never acted
on. The list read after a DELETE confirms it (the tag no longer listed: `deleted`; still
listed: `failed`) and is the next tag's read before its own DELETE.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import groupby
from typing import Literal

from etl.cleanup_plan import Attempt, PlannedTag, PlanRule
from etl.errors import ApiError, AuthError, EndpointError
from etl.failpoints import failpoint
from etl.status import CleanupResult
from etl.swr.client import SwrClient
from etl.swr.lists import Api, offered_api, v3_probe
from etl.swr.tags import TagNow, delete_tag, repository_tags

# The most time from the start of the list read a DELETE relies on to sending the DELETE: a
# read slower than this (a huge repository at a low requests_per_second) is not acted on.
READ_TO_DELETE_S = 10.0
# What the DELETE sent for a tag came to, as far as its answer tells: 2xx, 404, or an error
# (no answer, a 5xx: it may have been carried out all the same).
Sent = Literal["answered", "not found", "errored"]


@dataclass
class Progress:
    """The attempts so far, and the tag whose DELETE was sent and is not yet settled."""

    on_attempt: Callable[[Attempt], None]
    attempts: list[Attempt] = field(default_factory=list)
    pending: tuple[PlannedTag, str] | None = None  # the tag, and what is known of its DELETE

    def add(self, attempt: Attempt) -> None:
        self.pending = None
        self.attempts.append(attempt)
        self.on_attempt(attempt)

    def stopped(self, why: str) -> None:
        """Record the tag whose DELETE was not settled when the apply stopped (`why`)."""
        if self.pending is not None:
            tag, state = self.pending
            self.add(attempt(tag, CleanupResult.FAILED, f"{why} {state}"))


def attempt(
    tag: PlannedTag,
    result: CleanupResult,
    detail: str | None = None,
    error: ApiError | None = None,
    freed_size: int = 0,
) -> Attempt:
    """Return one attempt, made now, with what SWR said when it failed."""
    now = datetime.now(UTC)
    if error is None:
        return Attempt(tag, result, now, detail, freed_size=freed_size)
    return Attempt(
        tag, result, now, detail or str(error), error.status, error.error_code, error.request_id
    )


@dataclass(frozen=True)
class Listing:
    """A repository's tags as one read of its whole list found them, and when it began."""

    tags: dict[str, TagNow]
    began: float  # time.monotonic()

    def naming(self, digest: str) -> list[str]:
        """Return the tags that name the image `digest`."""
        return [name for name, now in self.tags.items() if now.digest == digest]

    def rank(self, tag: TagNow) -> int:
        """Return the tag's place among the newest (1: the newest), as the rule ranks them:
        by push time, newest first, then by name; an unknown push time last."""
        pushed = tag.updated
        return 1 + sum(
            other.updated is not None
            and (pushed is None or (other.updated, tag.tag) > (pushed, other.tag))
            for other in self.tags.values()
            if other.tag != tag.tag
        )


@dataclass
class EndpointCleanup:
    """The deletes of one endpoint. An error that is the endpoint's, not one tag's (refused
    credentials, an unknown path, no connection) stops it: its other tags fail unsent."""

    client: SwrClient
    configured_api: Literal["auto", "v3", "v2"]
    rule: PlanRule
    computed_at: datetime
    progress: Progress
    stopped_by: ApiError | None = None

    async def run(self, tags: list[PlannedTag]) -> None:
        try:
            api = await self.api(tags[0])
        except ApiError as exc:
            return self.fail_all(tags, self.stopping(exc))
        for _, group in groupby(tags, key=lambda t: (t.namespace, t.repository)):
            await RepositoryCleanup(self, api, list(group)).run()

    async def api(self, first: PlannedTag) -> Api:
        """Return the tag list to read with: as configured, or what the endpoint offers."""
        if self.configured_api != "auto":
            return self.configured_api
        return await offered_api(self.client, v3_probe(first.namespace, first.repository))

    def stopping(self, error: ApiError) -> ApiError:
        """Return `error`, remembering it when it is the endpoint's."""
        if isinstance(error, (AuthError, EndpointError)):
            self.stopped_by = error
        return error

    def fail_all(self, tags: list[PlannedTag], error: ApiError) -> None:
        for tag in tags:
            self.progress.add(attempt(tag, CleanupResult.FAILED, error=error))


class RepositoryCleanup:
    """One repository's planned tags, each deleted only while that is safe."""

    def __init__(self, endpoint: EndpointCleanup, api: Api, tags: list[PlannedTag]):
        self.endpoint = endpoint
        self.api = api
        self.planned = {t.tag: t for t in tags}
        # Planned tags that stay: those the plan's rule keeps, then each one skipped.
        self.kept = {t.tag for t in tags if endpoint.rule.keeps(t, endpoint.computed_at)}
        self.taken: dict[str, str] = {}  # digest → the tag whose DELETE removed the image
        self.listing: Listing | None = None
        self.too_slow: str | None = None  # why this repository's reads cannot be acted on

    async def run(self) -> None:
        for tag in self.planned.values():
            stopped_by = self.endpoint.stopped_by
            if stopped_by is not None:
                done = attempt(tag, CleanupResult.FAILED, error=stopped_by)
            else:
                done = await self.one(tag)
            if done.result in (CleanupResult.CHANGED, CleanupResult.REFUSED):
                self.kept.add(tag.tag)  # a failed one still goes, while listed as planned
            self.endpoint.progress.add(done)

    async def one(self, tag: PlannedTag) -> Attempt:
        """Delete one tag if it is safe, then confirm it; return what happened. A DELETE that
        fails transiently is sent again (up to crawl.max_attempts) only after a new read."""
        why = self.endpoint.rule.keeps(tag, self.endpoint.computed_at)
        if why is not None:
            return attempt(tag, CleanupResult.REFUSED, f"the plan's rule keeps it: {why}")
        sent: Sent | None = None
        size = sends = 0  # the image's size, as listed right before the DELETE
        client = self.endpoint.client
        while True:
            if self.too_slow is not None and sent is None:
                return attempt(tag, CleanupResult.FAILED, self.too_slow)  # not read again
            try:
                listing = await self.fresh_listing()
            except ApiError as exc:
                return read_failed(tag, sent, self.endpoint.stopping(exc))
            now = listing.tags.get(tag.tag)
            if now is None or (sent is not None and moved_since(tag, now)):
                return self.gone(tag, sent, size)  # the planned version is not listed
            if sent in ("answered", "not found"):
                return attempt(tag, CleanupResult.FAILED, not_deleted(sent))
            refusal = self.refusal(tag, now, listing)
            if refusal is not None:
                return refusal
            if self.too_slow is not None:
                return attempt(tag, CleanupResult.FAILED, self.too_slow)
            size = max(0, now.size or 0)
            sent, error = await self.delete(tag)
            sends += 1
            if error is None:
                continue  # the next read confirms it
            if sends >= client.retry.max_attempts or not client.retry.should_retry(error):
                return delete_failed(tag, self.endpoint.stopping(error))
            await client.pause_before_retry(sends, error, str(tag))

    async def fresh_listing(self) -> Listing:
        """Return the repository's tags as SWR lists them: the last read, if nothing was sent
        since and it is young enough to act on; else a new one."""
        last = self.listing
        if last is not None and time.monotonic() - last.began <= READ_TO_DELETE_S:
            return last
        began = time.monotonic()
        first = next(iter(self.planned.values()))
        found = await repository_tags(
            self.endpoint.client, self.api, first.namespace, first.repository
        )
        self.listing = Listing({t.tag: t for t in found}, began)
        took = time.monotonic() - began
        if took > READ_TO_DELETE_S:
            self.too_slow = (
                f"reading its repository's {len(found)} tags took {took:.0f}s, longer than the "
                f"{READ_TO_DELETE_S:.0f}s a DELETE may follow the read that allows it: kept "
                "(raise crawl.requests_per_second?)"
            )
        return self.listing

    def refusal(self, tag: PlannedTag, now: TagNow, listing: Listing) -> Attempt | None:
        """Return why a listed tag must not be deleted now (it moved, its rule keeps it, or a
        tag that stays names its image), as the attempt that says so; None if it may go."""
        moved = moved_since(tag, now)
        if moved:
            return attempt(tag, CleanupResult.CHANGED, moved)
        ranked = self.ranked_kept(now, listing)
        if ranked:
            return attempt(tag, CleanupResult.REFUSED, f"the plan's rule keeps it: {ranked}")
        others = [n for n in listing.naming(tag.digest) if n != tag.tag]
        staying = [n for n in others if not self.goes(n, listing)]
        if staying:
            detail = (
                f"its image is also tagged {staying[0]}, which stays: deleting it would delete both"
            )
            return attempt(tag, CleanupResult.CHANGED, detail)
        return None

    def ranked_kept(self, now: TagNow, listing: Listing) -> str | None:
        """Return why the rule's keep_last keeps a listed tag now, or None."""
        keep_last = self.endpoint.rule.keep_last
        if keep_last is None or listing.rank(now) > keep_last:
            return None
        return f"it is among the newest {keep_last} tags of its repository"

    def goes(self, name: str, listing: Listing) -> bool:
        """Return True if the listed tag `name` is one that goes: planned, as planned, not
        kept, and its rule would delete it."""
        planned = self.planned.get(name)
        if planned is None or name in self.kept:
            return False
        now = listing.tags[name]
        return not moved_since(planned, now) and self.ranked_kept(now, listing) is None

    async def delete(self, tag: PlannedTag) -> tuple[Sent, ApiError | None]:
        """Send the tag's DELETE once; return what came of it, and the error if it failed.
        The listing read before it is spent: the next read confirms it."""
        progress = self.endpoint.progress
        await signals_heard()
        progress.pending = (tag, "its DELETE was in flight: it may be deleted")
        self.listing = None
        try:
            found = await delete_tag(self.endpoint.client, tag.namespace, tag.repository, tag.tag)
        except ApiError as exc:
            return "errored", exc
        progress.pending = (tag, "SWR answered its DELETE; no list read confirmed it yet")
        failpoint("cleanup-answered")
        return ("answered" if found else "not found"), None

    def gone(self, tag: PlannedTag, sent: Sent | None, size: int) -> Attempt:
        """Return the attempt of a tag the repository's list no longer shows."""
        if sent in ("answered", "errored"):
            self.taken[tag.digest] = tag.tag
            failpoint("cleanup-deleted")
            detail = None
            if sent == "errored":
                detail = "its DELETE failed, yet the list read after it lacks the tag"
            return attempt(tag, CleanupResult.DELETED, detail, freed_size=size)
        if sent == "not found":
            return attempt(tag, CleanupResult.GONE, "the DELETE found it gone")
        took = self.taken.get(tag.digest)
        why = f"deleted with {took} (the same image)" if took else "not listed any more"
        return attempt(tag, CleanupResult.GONE, why)


async def signals_heard() -> None:
    """Let the event loop run the signal callbacks already due, so a SIGTERM that arrived
    stops the apply before its next DELETE: three turns (one reads the signal's wake-up byte,
    one runs its handler, which cancels the task, one delivers the cancellation)."""
    for _ in range(3):
        await asyncio.sleep(0)


def read_failed(tag: PlannedTag, sent: Sent | None, error: ApiError) -> Attempt:
    """Return the failed attempt of a tag whose repository could not be read (before its
    DELETE, or after it)."""
    if sent is None:
        return attempt(tag, CleanupResult.FAILED, error=error)
    state = "it is probably deleted" if sent == "answered" else "it may be deleted"
    detail = f"its DELETE was sent, but the list read to confirm it failed ({error}): {state}"
    return attempt(tag, CleanupResult.FAILED, detail, error=error)


def delete_failed(tag: PlannedTag, error: ApiError) -> Attempt:
    """Return the failed attempt of a tag whose last DELETE failed."""
    if error.status is not None and error.status < 500:
        return attempt(tag, CleanupResult.FAILED, error=error)  # refused: not carried out
    detail = f"{error}; the DELETE may have been carried out all the same: the next sync shows"
    return attempt(tag, CleanupResult.FAILED, detail, error=error)


def not_deleted(sent: Sent) -> str:
    """Return why a tag SWR still lists after its DELETE is not counted as deleted."""
    answer = "HTTP 2xx" if sent == "answered" else "404 (not found)"
    return (
        f"SWR answered its DELETE with {answer} but still lists it, as planned: not deleted "
        "(a proxy that answers for SWR, or a list that lags?)"
    )


def moved_since(tag: PlannedTag, now: TagNow) -> str | None:
    """Return how a tag moved since the plan (another image, another push), or None if it
    is as planned."""
    if now.digest != tag.digest:
        return f"now {now.digest}, planned {tag.digest} (moved to another image)"
    if now.updated != tag.updated:
        shown = now.updated.isoformat() if now.updated else "an unreadable time"
        return f"pushed again at {shown} (planned: {tag.updated.isoformat()})"
    return None
