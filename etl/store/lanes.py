"""The crawl's staging lanes: each worker's pages, appended to Arrow IPC files as they arrive.

A lane writes a series of segment files. A segment is closed between two targets, once it
has been open for `SEGMENT_S`: every batch in it then belongs to a target that completed or
failed, so a closed segment can be read at once (by the load that runs beside a paced crawl,
`etl.run.loader`) while the lane goes on writing the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa

from etl.results import Key
from etl.schemas import SNAPSHOT_SCHEMA

LANE_ROWS = 2_048  # rows a staging lane gathers before it writes
SEGMENT_S = 0.2  # how long a segment stays open at least: a closed one is read while crawling
DONE = 0  # the owner of a lane's batches that hold only completed targets' rows


@dataclass
class Segment:
    """One closed file of a lane: the positions of its batches to keep (completed targets'),
    and every target that completed while it was open, with or without rows."""

    path: Path
    kept: list[int] = field(default_factory=list)
    rows: int = 0  # in the kept batches
    completed: list[Key] = field(default_factory=list)

    def batches(self) -> Iterator[pa.RecordBatch]:
        """Yield the kept batches, in the order they were written."""
        if not self.kept:
            return
        # Read, not memory-mapped: mapped pages would count in the process's memory and grow
        # with the run.
        with pa.OSFile(str(self.path)) as source:
            reader = pa.ipc.open_file(source)
            for index in self.kept:
                yield reader.get_batch(index)

    def table(self) -> pa.Table:
        """Return the kept rows as one table (a segment is small: `SEGMENT_S` of one worker)."""
        return pa.Table.from_batches(list(self.batches()), schema=SNAPSHOT_SCHEMA)


class Lane:
    """One crawl worker's pages, appended to segment files as they arrive.

    A worker crawls one target at a time. Small pages are gathered into batches of about
    LANE_ROWS rows before they are written (one write per page cost more than the page's
    conversion); a target's rows count only once it is marked complete, so a failed target's
    rows are dropped unwritten or skipped when read back. Files per worker, not per
    repository; memory stays within 2 × LANE_ROWS rows per worker.
    """

    def __init__(self, folder: Path, name: str, on_segment: Callable[[Segment], None]):
        self._folder, self._name, self._on_segment = folder, name, on_segment
        self.segments: list[Segment] = []  # closed
        self._open = self._new_segment()
        self._opened = time.monotonic()
        self._owners: list[int] = []  # per batch of the open segment: its target's number, or DONE
        self._sizes: list[int] = []  # per batch of the open segment: its rows
        self._kept: set[int] = {DONE}
        self._current = 0
        self._key: Key | None = None
        self._pending: list[pa.RecordBatch] = []  # the current target's, not yet written
        self._done: list[pa.RecordBatch] = []  # completed targets', not yet written
        self._writer: pa.ipc.RecordBatchFileWriter | None = None
        self._closed = False

    def start_target(self, key: Key | None = None) -> None:
        """Begin a new target (`key`: endpoint, namespace, repository): the batches written
        from now on are its own."""
        self._pending = []  # a target that did not complete: its rows are dropped
        self._current += 1
        self._key = key

    def write(self, batch: pa.RecordBatch) -> None:
        """Add one page's batch to the current target (written once LANE_ROWS gather)."""
        self._pending.append(batch)
        if _rows(self._pending) >= LANE_ROWS:
            self._write(self._pending, self._current)
            self._pending = []

    def target_completed(self) -> None:
        """Keep the current target's batches: its pagination finished. Closes the segment
        if it has been open for SEGMENT_S."""
        self._kept.add(self._current)
        if self._key is not None:
            self._open.completed.append(self._key)
        self._done += self._pending
        self._pending = []
        if _rows(self._done) >= LANE_ROWS:
            self._write(self._done, DONE)
            self._done = []
        if time.monotonic() - self._opened >= SEGMENT_S:
            self._close_segment()
            self._on_segment(self.segments[-1])
            self._open, self._opened = self._new_segment(), time.monotonic()

    def discard(self) -> None:
        """Close the file without writing what is gathered (the run is abandoned)."""
        self._pending, self._done = [], []
        if self._writer is not None:
            try:
                self._writer.close()
            except (OSError, pa.ArrowException):
                pass  # a full disk: the file is removed with the staging folder anyway
            self._writer = None

    def close(self) -> None:
        """Write what is gathered of completed targets and close the open segment."""
        if not self._closed:
            self._close_segment()
            self._closed = True

    def batches(self, skip: Collection[Path] = ()) -> Iterator[pa.RecordBatch]:
        """Yield the batches of completed targets, in the order they were written, but for
        those of the segments in `skip`."""
        self.close()
        for segment in self.segments:
            if segment.path not in skip:
                yield from segment.batches()

    def _new_segment(self) -> Segment:
        return Segment(self._folder / f"{self._name}-{len(self.segments):05d}.arrow")

    def _close_segment(self) -> None:
        if self._done:
            self._write(self._done, DONE)
            self._done = []
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        segment = self._open
        segment.kept = [i for i, owner in enumerate(self._owners) if owner in self._kept]
        segment.rows = sum(self._sizes[i] for i in segment.kept)
        self.segments.append(segment)
        self._owners, self._sizes = [], []

    def _write(self, batches: list[pa.RecordBatch], owner: int) -> None:
        if self._writer is None:
            self._writer = pa.ipc.new_file(str(self._open.path), SNAPSHOT_SCHEMA)
        self._writer.write_batch(pa.concat_batches(batches) if len(batches) > 1 else batches[0])
        self._owners.append(owner)
        self._sizes.append(sum(b.num_rows for b in batches))


def _rows(batches: list[pa.RecordBatch]) -> int:
    return sum(b.num_rows for b in batches)
