"""The fan-out: every target crawled by a bounded pool of workers, pages streamed to staging.

Memory is bounded by concurrency × page size: a page is converted to Arrow and appended to its
worker's staging lane before the next is fetched. A target counts only if its pagination
completed; otherwise its batches are left out of the run and the failure is recorded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pyarrow as pa

from etl.errors import (
    ApiError,
    AuthError,
    EndpointError,
    EtlError,
    LimitError,
    NotFoundError,
    WriteFailed,
)
from etl.failpoints import failpoint
from etl.results import Target, TargetResult
from etl.status import TargetStatus
from etl.store.lake import RunWriter
from etl.store.lanes import Lane
from etl.swr.client import SwrClient
from etl.swr.lists import Api, tag_list_of
from etl.swr.pages import MAX_MANIFEST_BYTES, SnapshotContext, snapshot_batch
from etl.swr.paging import OffsetPaginator

log = logging.getLogger("etl.run.crawl")


@dataclass
class CrawlSettings:
    """What every target's crawl shares."""

    run_id: str
    snapshot_at: datetime
    page_size: int
    with_manifest: bool
    workers: int
    known_manifests: set[str] = field(default_factory=set)
    deadline: float = float("inf")  # time.monotonic() past which no target may run
    deadline_s: float = float("inf")  # the configured budget, for messages
    apis: dict[str, Api] = field(default_factory=dict)  # per endpoint; v3 where absent


@dataclass
class TargetCrawl:
    """One target's crawl: the client it reads from, the lane its pages go to, the run's
    settings, and its result so far."""

    target: Target
    client: SwrClient
    writer: RunWriter
    lane: Lane
    settings: CrawlSettings
    result: TargetResult


async def crawl_targets(
    targets: list[Target],
    clients: dict[str, SwrClient],
    writer: RunWriter,
    settings: CrawlSettings,
    on_done: Callable[[TargetResult], None] = lambda result: None,
) -> list[TargetResult]:
    """Crawl every target with `settings.workers` workers; return results in target order."""
    queue: asyncio.Queue[int] = asyncio.Queue()
    for index in range(len(targets)):
        queue.put_nowait(index)
    results: list[TargetResult | None] = [None] * len(targets)
    dead_endpoints: dict[str, ApiError] = {}

    async def worker() -> None:
        with own_files(writer):
            lane = writer.new_lane()
        while not queue.empty():
            index = queue.get_nowait()
            target = targets[index]
            result = await crawl_target(
                target, clients[target.endpoint], writer, lane, settings, dead_endpoints
            )
            results[index] = result
            on_done(result)

    workers = [
        asyncio.ensure_future(worker()) for _ in range(max(1, min(settings.workers, len(targets))))
    ]
    try:
        await asyncio.gather(*workers)
    finally:
        # One worker's error (a full disk) stops them all: no other request, no other
        # repository failed for it.
        for task in workers:
            task.cancel()
        await asyncio.gather(*workers, return_exceptions=True)
    return [r for r in results if r is not None]


async def crawl_target(
    target: Target,
    client: SwrClient,
    writer: RunWriter,
    lane: Lane,
    settings: CrawlSettings,
    dead_endpoints: dict[str, ApiError],
) -> TargetResult:
    """Return the result of crawling one target; its rows are kept only if it completed."""
    result = TargetResult(target)
    began = time.monotonic()
    if target.endpoint in dead_endpoints:
        result.status, result.error = TargetStatus.FAILED, dead_endpoints[target.endpoint]
        return result
    lane.start_target(target.key)
    try:
        if began >= settings.deadline:
            raise deadline_passed(settings)
        try:
            crawl = TargetCrawl(target, client, writer, lane, settings, result)
            await asyncio.wait_for(_stream_pages(crawl), settings.deadline - began)
        except TimeoutError:
            raise deadline_passed(settings) from None
        with own_files(writer):
            lane.target_completed()
    except NotFoundError as exc:
        result.status, result.error = TargetStatus.NOT_FOUND, exc
    except ApiError as exc:
        result.status, result.error = (
            TargetStatus.FAILED,
            exc.at(endpoint=target.endpoint, target=target.path),
        )
        if isinstance(exc, (AuthError, EndpointError)):
            # docs/swr-api.md: refused credentials or a missing API fail the whole endpoint at once.
            dead_endpoints.setdefault(target.endpoint, exc)
    except EtlError:
        raise  # our own files could not be written: that stops the run, not one target
    except Exception as exc:  # noqa: BLE001 - a surprise from one answer fails its target only
        log.debug("%s: unexpected error", target, exc_info=True)
        result.status = TargetStatus.FAILED
        result.error = ApiError(
            f"unexpected {type(exc).__name__} while reading its pages: {str(exc)[:200]}",
            endpoint=target.endpoint,
            target=target.path,
        )
    result.duration_s = time.monotonic() - began
    return result


@contextmanager
def own_files(writer: RunWriter) -> Iterator[None]:
    """Turn a failed write of the run's own files (its staging lanes) into WriteFailed, which
    stops the run once, naming the folder and the OS's reason: a full disk is not a fault of
    the repository being read, nor of the next one."""
    try:
        yield
    except (OSError, pa.ArrowException) as exc:
        raise WriteFailed(f"the run's staging {writer.spool}", exc) from None


def deadline_passed(settings: CrawlSettings) -> LimitError:
    """Return the error of a target stopped (or never started) because the run ran too long."""
    return LimitError(
        f"the run's deadline (crawl.deadline_s = {settings.deadline_s:g} s) passed before this "
        "repository was done",
        error_code="ETL.DEADLINE",
    )


async def _stream_pages(crawl: TargetCrawl) -> None:
    target, result = crawl.target, crawl.result
    api = crawl.settings.apis.get(target.endpoint, "v3")
    result.api = api
    totals = await _crawl_once(crawl, api)
    if totals is not None and totals[0] != totals[1]:
        # Offset paging shifts while someone pushes: crawl once more; if it shifts again,
        # keep the second crawl (deduplicated by tag) and say so.
        log.info(
            "%s changed while it was crawled (%d -> %d tags): crawling it again", target, *totals
        )
        # What the first crawl staged is dropped.
        crawl.lane.start_target(target.key)
        result.tags = 0
        again = await _crawl_once(crawl, api)
        if again is not None and again[0] != again[1]:
            result.warnings += 1
            log.warning(
                "%s changed again while it was crawled (%d -> %d tags): kept the second crawl",
                target,
                *again,
            )


async def _crawl_once(crawl: TargetCrawl, api: Api) -> tuple[int, int] | None:
    """Stage one crawl of a target's pages; return the first and last totals an offset-paged
    list reported (None for marker paging, or no totals)."""
    target, settings, writer, result = crawl.target, crawl.settings, crawl.writer, crawl.result
    context = SnapshotContext(
        settings.run_id, settings.snapshot_at, target.endpoint, target.namespace, target.repository
    )
    listing = tag_list_of(
        api,
        target.namespace,
        target.repository,
        page_size=settings.page_size,
        tag=target.tag,
        with_manifest=settings.with_manifest,
    )
    paginator = listing.paginator()
    seen: set[str] = set()
    async for answer in crawl.client.iter_pages(listing, result.stats, paginator):
        page = answer.body
        fresh = fresh_tags(page.columns, seen)
        if isinstance(paginator, OffsetPaginator):
            paginator.check_progress(len(page), fresh.num_rows, answer.request_id)
        result.warnings += len(page) - fresh.num_rows + page.bad_times
        try:
            batch = snapshot_batch(fresh, context)
            if settings.with_manifest:
                pairs = digests_and_manifests(fresh)
                check_manifest_sizes(pairs)
                writer.add_manifests(pairs, settings.known_manifests)
        except ApiError as exc:
            # crawl_target adds the endpoint and target; only the page knows its request id.
            raise exc.at(request_id=answer.request_id) from None
        with own_files(writer):
            crawl.lane.write(batch)
        failpoint("page-staged")
        result.tags += batch.num_rows
    if isinstance(paginator, OffsetPaginator) and paginator.first_total is not None:
        return paginator.first_total, paginator.last_total or 0
    return None


def check_manifest_sizes(pairs: list[tuple[Any, Any]]) -> None:
    """Raise LimitError if a manifest is larger than any a registry accepts."""
    for digest, manifest in pairs:
        if isinstance(manifest, str) and len(manifest) > MAX_MANIFEST_BYTES:
            raise LimitError(
                f"the manifest of {str(digest)[:80]} holds {len(manifest)} characters, more "
                f"than the {MAX_MANIFEST_BYTES} bytes a registry accepts",
                error_code="ETL.FIELD_TOO_LARGE",
            )


def fresh_tags(columns: pa.RecordBatch, seen: set[str]) -> pa.RecordBatch:
    """Return the page's tags whose name was not seen on an earlier page (markers may shift)."""
    keep = first_sightings(columns.column("tag").to_pylist(), seen)
    # Typed positions: an empty list would be an untyped (null) array Arrow cannot take with.
    return columns if keep is None else columns.take(pa.array(keep, type=pa.int64()))


def first_sightings(names: list[Any], seen: set[str]) -> list[int] | None:
    """Return the positions of the names not seen before (None: all of them), noting them."""
    if seen.isdisjoint(names) and len(set(names)) == len(names):
        seen.update(n for n in names if isinstance(n, str))  # the usual page: all new
        return None
    keep = []
    for position, name in enumerate(names):
        if isinstance(name, str):
            if name in seen:
                continue
            seen.add(name)
        keep.append(position)
    return keep


def digests_and_manifests(columns: pa.RecordBatch) -> list[tuple[Any, Any]]:
    """Return the (digest, manifest) of each tag of a page."""
    return list(
        zip(
            columns.column("digest").to_pylist(),
            columns.column("manifest").to_pylist(),
            strict=True,
        )
    )
