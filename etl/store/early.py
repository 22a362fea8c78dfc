"""A run's load begun while it crawls: the tags of targets that completed are versioned in the
warehouse in a transaction that stays open, which the run's load (`loading.load_run`)
continues and commits after the lake's commit. Until then no reader sees any of it.

What is versioned here is what the load would do for those targets, by the same rule
(`etl.store.versioning`); the load then leaves them out.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from etl.results import Key
from etl.store import versioning
from etl.store.deltas import keys_table
from etl.store.queries import parquet_view

log = logging.getLogger("etl.store.early")


class OpenVersions:
    """The versions of a run's completed targets, written in one open transaction of `con`,
    compared with the versions current before the run over `reader`, outside it (a pair of
    connections of their own: they are used from the loader's thread). `spool`: a local
    folder of the run's."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        reader: duckdb.DuckDBPyConnection,
        spool: Path,
        run: tuple[int, str, datetime],
    ):
        self.con, self.reader = con, reader
        self.opens_file = spool / "early-opens.parquet"  # each chunk's new versions
        self.run = run  # seq, run id, snapshot time
        self.keys: list[Key] = []  # the targets versioned so far
        self.begun = False
        self.failed = False

    def version(self, keys: list[Key], tags: pa.Table) -> None:
        """Version `tags`, the listings of targets `keys` that completed. On a DuckDB error,
        roll back what was versioned and stop (`failed`): the load then does all of it."""
        if self.failed:
            return
        try:
            closes, opens = self._compared(keys_table(keys), tags)
            if not self.begun:
                self.con.execute("BEGIN TRANSACTION")
                self.begun = True
            self.con.register(versioning.CLOSES, closes)
            # Read back from Parquet: rows inserted from Arrow keep their Arrow buffers alive
            # until the commit (~60 MB per 100,000 tags); DuckDB's reader copies them.
            self.opens_file.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(opens, self.opens_file, compression="none")
            parquet_view(self.con, versioning.OPENS, [str(self.opens_file)])
            versioning.apply(self.con, *self.run)
        except duckdb.Error as exc:
            log.debug("the load beside the crawl stopped: %s", exc)
            self.abandon()
            self.failed = True
            return
        finally:
            versioning.forget(self.con)
        self.keys += keys

    def _compared(self, keys: pa.Table, tags: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Return the current versions that `tags` close (their rowids) and the tags they
        open. The versions current before the run are read outside its transaction: its
        own inserts are not scanned again for every chunk."""
        self.reader.register(versioning.TARGETS, keys)
        self.reader.register(
            versioning.LISTED, tags.append_column("op", pa.nulls(len(tags), pa.string()))
        )
        try:
            versioning.scope_of(self.reader)
            versioning.current_in_warehouse(self.reader)
            return versioning.compared(self.reader)
        finally:
            versioning.forget(self.reader)

    def continued(self) -> list[Key] | None:
        """Return the targets versioned in the open transaction the load continues (None if
        nothing was begun)."""
        return self.keys if self.begun else None

    def abandon(self) -> None:
        """Roll back what was versioned: the load does it all, in a transaction of its own."""
        if self.begun:
            try:
                self.con.execute("ROLLBACK")
            except duckdb.Error:
                pass  # a transaction a failed statement already ended
        self.begun, self.keys = False, []
