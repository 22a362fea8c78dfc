"""The load beside a paced crawl: one capability the run starts around its crawl (`beside`)
and finishes before its load (`finish`); nothing else in the run knows how it works.

When the requests wait for the rate cap (`crawl.requests_per_second`, the normal case against
a real endpoint), the CPU is idle for most of the crawl: the listings of targets that completed
are written to the lake's Parquet and versioned in the warehouse meanwhile
(`RunWriter.write_early`, `etl.store.early.OpenVersions`), in a thread, from the lanes' closed
segments, so that little is left after the last request. When the crawl is not held back by its
cap, nothing is done early: the work would only compete with the crawl for the CPU.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import duckdb
import pyarrow as pa

from etl.results import Key
from etl.run.runtime import return_freed
from etl.schemas import SNAPSHOT_SCHEMA
from etl.store.early import OpenVersions
from etl.store.lake import RunWriter
from etl.store.lanes import Segment

CHUNK_ROWS = 50_000  # the most rows versioned at once (read into memory from the segments)
MIN_CHUNK_ROWS = 10_000  # fewer wait for more: each chunk reads the current versions once
# The crawl is held back by its cap when its requests waited for it at least this long, on
# average over the workers, since the loader last looked.
AT_CAP_SHARE = 0.5
LOOK_S = 0.1  # the shortest span the share is measured over
TAKE_S = 0.05  # how often the writer's closed segments are taken


class LoadBesideCrawl:
    """Versions a run's completed targets while its crawl waits for the cap, in a transaction
    the run's load continues (`finish`): over `versions`, writing the run's Parquet through
    `writer`."""

    def __init__(self, versions: OpenVersions, writer: RunWriter):
        self._versions, self._writer = versions, writer

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        """The connection the run's load uses: it continues the transaction begun here."""
        return self._versions.con

    @asynccontextmanager
    async def beside(
        self, as_changes: frozenset[Key], waited_s: Callable[[], float]
    ) -> AsyncIterator[None]:
        """Version what completes while the context (the crawl) runs: `as_changes`, the
        repositories stored as changes if they complete; `waited_s`, the seconds the requests
        have waited for the cap so far. On leaving, the chunk in hand is finished."""
        taking = Taking(self._versions, self._writer, as_changes, waited_s)
        self._versions.con.execute("SET threads = 1")  # the other core is the crawl's
        task = asyncio.create_task(taking.run())
        try:
            yield
        finally:
            taking.stopping = True
            await task  # before the connection is used again
            self._versions.con.execute("RESET threads")

    def finish(self, keep: bool) -> list[Key] | None:
        """Return the targets versioned in the open transaction the load continues (None if
        nothing was begun); with `keep` False (the run dropped an endpoint after versioning
        it), roll it all back: the load then does everything."""
        if not keep:
            self._versions.abandon()
        return self._versions.continued()


class Taking:
    """Takes the lanes' closed segments from the writer and versions them in chunks while the
    crawl is at its cap; what is left when it stops is the load's."""

    def __init__(
        self,
        versions: OpenVersions,
        writer: RunWriter,
        as_changes: frozenset[Key],
        waited_s: Callable[[], float],
    ):
        self._versions, self._writer, self._as_changes = versions, writer, as_changes
        self._waited_s = waited_s
        self._queue: list[Segment] = []
        self._looked = (time.monotonic(), waited_s())
        self._at_cap_then = False
        self.stopping = False

    async def run(self) -> None:
        """Take closed segments every TAKE_S until stopped; version each chunk in a thread."""
        while not self.stopping:
            await asyncio.sleep(TAKE_S)
            self._queue += self._writer.closed_segments()
            while self._queued() >= MIN_CHUNK_ROWS and not self.stopping:
                if self._versions.failed or not self._at_cap():
                    break
                await asyncio.to_thread(self._version, self._take())

    def _version(self, chunk: list[Segment]) -> None:
        """Write the chunk's listings to the lake and version them in the warehouse."""
        batches = [batch for segment in chunk for batch in segment.batches()]
        tags = pa.Table.from_batches(batches, SNAPSHOT_SCHEMA)
        self._writer.write_early(tags, chunk, self._as_changes)
        self._versions.version([key for segment in chunk for key in segment.completed], tags)
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
