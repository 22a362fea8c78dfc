"""A run's load begun while it crawls: the tags of targets that completed are versioned in the
warehouse in a transaction that stays open, which the run's load (`loading.load_run`)
continues and commits after the lake's commit. Until then no reader sees any of it.

What is versioned here is what the load would do for those targets (`sql/load/early_*` mirror
`load/close_versions` and `load/open_versions`); the load then leaves them out.
"""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from etl.store.deltas import Key, keys_table
from etl.store.warehouse import named_params, parquet_view, sql

log = logging.getLogger("etl.store.early")


class EarlyLoad:
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
        seq, run_id, at = run
        self.params = {"seq": seq, "run_id": run_id, "snapshot_at": at}
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
            self.con.register("early_closes", closes)
            # Read back from Parquet: rows inserted from Arrow keep their Arrow buffers alive
            # until the commit (~60 MB per 100,000 tags); DuckDB's reader copies them.
            self.opens_file.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(opens, self.opens_file, compression="none")
            parquet_view(self.con, "early_opens", [str(self.opens_file)])
            for step, rows in (
                ("load/early_close_versions", closes),
                ("load/early_open_versions", opens),
            ):
                if rows.num_rows:
                    text = sql(step)
                    self.con.execute(text, named_params(text, self.params))
        except duckdb.Error as exc:
            log.debug("the load beside the crawl stopped: %s", exc)
            self.abandon()
            self.failed = True
            return
        finally:
            self.con.unregister("early_closes")
        self.keys += keys

    def _compared(self, keys: pa.Table, tags: pa.Table) -> tuple[pa.Table, pa.Table]:
        """Return the current versions that `tags` close (their rowids) and the tags they
        open. The versions current before the run are read outside its transaction: its
        own inserts are not scanned again for every chunk."""
        self.reader.register("early_keys", keys)
        self.reader.register("early_tags", tags)
        try:
            closes = self.reader.sql(sql("load/early_closed_versions")).to_arrow_table()
            opens = self.reader.sql(sql("load/early_opened_versions")).to_arrow_table()
        finally:
            self.reader.unregister("early_keys")
            self.reader.unregister("early_tags")
        return closes, opens

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
