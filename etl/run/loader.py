"""The load beside a paced crawl. When the requests wait for the rate cap (`crawl.
requests_per_second`, the normal case against a real endpoint), the CPU is idle for most of
the crawl: the listings of targets that completed are written to the lake's Parquet and
versioned in the warehouse meanwhile (`RunWriter.write_early`, `etl.store.early`), in a
thread, from the lanes' closed segments, so that little is left after the last request.
When the crawl is not held back by its cap, nothing is done early: the work would only
compete with the crawl for the CPU.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pyarrow as pa

from etl.results import Key
from etl.run.runtime import return_freed
from etl.schemas import SNAPSHOT_SCHEMA
from etl.store.early import EarlyLoad
from etl.store.lake import RunWriter
from etl.store.lanes import Segment

CHUNK_ROWS = 50_000  # the most rows versioned at once (read into memory from the segments)
MIN_CHUNK_ROWS = 10_000  # fewer wait for more: each chunk reads the current versions once
# The crawl is held back by its cap when its requests waited for it at least this long, on
# average over the workers, since the loader last looked.
AT_CAP_SHARE = 0.5
LOOK_S = 0.1


class Loader:
    """Takes closed lane segments (`offer`) and versions them while the crawl is at its cap."""

    def __init__(
        self,
        early: EarlyLoad,
        writer: RunWriter,
        as_changes: frozenset[Key],
        waited_s: Callable[[], float],
    ):
        self._early, self._writer, self._as_changes = early, writer, as_changes
        self._waited_s = waited_s  # the seconds requests have waited for the cap so far
        self._queue: list[Segment] = []
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._looked = (time.monotonic(), waited_s())
        self._at_cap_then = False

    def start(self) -> None:
        """Begin taking segments (on the running event loop)."""
        self._early.con.execute("SET threads = 1")  # the other core is the crawl's
        self._task = asyncio.create_task(self._run())

    def offer(self, segment: Segment) -> None:
        """Queue a closed segment to version."""
        self._queue.append(segment)
        self._wake.set()

    async def stop(self) -> None:
        """Stop once the chunk in hand is versioned (its thread uses the connection): what
        is still queued is left to the load."""
        self._stopping = True
        self._wake.set()
        if self._task is not None:
            await self._task
        self._early.con.execute("RESET threads")

    async def _run(self) -> None:
        while not self._stopping:
            await self._wake.wait()
            self._wake.clear()
            while self._queued() >= MIN_CHUNK_ROWS and not self._stopping:
                if self._early.failed or not self._at_cap():
                    break
                await asyncio.to_thread(self._version, self._take())

    def _version(self, chunk: list[Segment]) -> None:
        """Write the chunk's listings to the lake and version them in the warehouse."""
        batches = [batch for segment in chunk for batch in segment.batches()]
        tags = pa.Table.from_batches(batches, SNAPSHOT_SCHEMA)
        self._writer.write_early(tags, chunk, self._as_changes)
        self._early.version([key for segment in chunk for key in segment.completed], tags)
        del batches, tags
        return_freed()  # the chunk's: the run's memory stays flat while it crawls

    def _queued(self) -> int:
        return sum(segment.rows for segment in self._queue)

    def _take(self) -> list[Segment]:
        chunk: list[Segment] = []
        rows = 0
        while self._queue and (not chunk or rows + self._queue[0].rows <= CHUNK_ROWS):
            rows += self._queue[0].rows
            chunk.append(self._queue.pop(0))
        return chunk

    def _at_cap(self) -> bool:
        now, waited = time.monotonic(), self._waited_s()
        then, before = self._looked
        if now - then >= LOOK_S:  # a shorter look says little either way
            self._looked = (now, waited)
            self._at_cap_then = waited - before >= AT_CAP_SHARE * (now - then)
        return self._at_cap_then
