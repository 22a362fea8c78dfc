"""Versioning: what listings open and close against the versions current before them. The rule
is one table macro (`sql/macros/listing_changes.sql`), read over relations of fixed names that
each caller defines on its connection:

    version_listed    the listed tags: the lake's rows, with `op` (NULL for a whole listing)
    version_current   the versions current before them: key, `version` (`tag_version`, their
                      fingerprint) and `history_row` (their rowid)
    version_targets   the repositories compared (`scope_of` takes one part of them into
                      version_scope; the load makes version_scope itself, listings whole or not)

Four callers: the load (`etl.store.loading`), the load beside a paced crawl (`etl.store.early`),
the lake's changes of a sync (`etl.store.deltas`) and `thin` (`etl.store.thinning`).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from etl.schemas import DELTA_SCHEMA
from etl.store.queries import answer_batches, answer_one, run_script, sql

LISTED, CURRENT, TARGETS, SCOPE = (
    "version_listed",
    "version_current",
    "version_targets",
    "version_scope",
)
CLOSES, OPENS = "version_closes", "version_opens"  # what `compare` found
STEPS = ("versions/compare", "versions/apply")  # the load's, after its scope and current


def define_rule(con: duckdb.DuckDBPyConnection) -> None:
    """Create the rule's macros on a connection that is not the warehouse's (`thin`'s)."""
    for name in (
        "macros/tag_payload",
        "macros/tag_version",
        "macros/tag_key",
        "macros/listing_changes",
    ):
        run_script(con, name)


def scope_of(con: duckdb.DuckDBPyConnection, part: int = 0, parts: int = 1) -> None:
    """Make `version_scope` the repositories of part `part` of `parts` of `version_targets`."""
    run_script(con, "versions/scope", part=part, parts=parts)


def current_in_warehouse(con: duckdb.DuckDBPyConnection) -> None:
    """Make `version_current` the warehouse's current versions (on a connection outside a
    run's transaction: the versions current before the run)."""
    run_script(con, "versions/current")


def current_versions(con: duckdb.DuckDBPyConnection) -> int:
    """Return how many versions `version_current` holds: what the comparison's joins hold."""
    return int(answer_one(con, "versions/current_count"))


def compared(con: duckdb.DuckDBPyConnection) -> tuple[pa.Table, pa.Table]:
    """Return what the listings close (`history_row` of each version to end) and open (the
    listed rows), as Arrow tables: read on one connection, applied on another (`apply`)."""
    run_script(con, "versions/compare")
    return con.table(CLOSES).to_arrow_table(), con.table(OPENS).to_arrow_table()


def apply(con: duckdb.DuckDBPyConnection, seq: int, run_id: str, snapshot_at: datetime) -> None:
    """End the versions in `version_closes` and start those in `version_opens` as of the run."""
    run_script(con, "versions/apply", seq=seq, run_id=run_id, snapshot_at=snapshot_at)


def lake_changes(
    con: duckdb.DuckDBPyConnection, run: tuple[str, datetime], parts: int, rows_per_batch: int
) -> Iterator[pa.RecordBatch]:
    """Yield, as DELTA_SCHEMA batches, the changes the lake keeps of the listings: each tag
    opened, whole, and each tag gone, its key alone; one part of `version_targets` after
    another; closes carry `run`'s id and snapshot time."""
    text = sql("versions/lake_changes")
    for part in range(parts):
        scope_of(con, part, parts)
        params: dict[str, Any] = {"run_id": run[0], "snapshot_at": run[1]}
        for batch in answer_batches(con, text, rows_per_batch, **params):
            yield pa.RecordBatch.from_arrays(
                [batch.column(f.name).cast(f.type) for f in DELTA_SCHEMA], schema=DELTA_SCHEMA
            )


def forget(con: duckdb.DuckDBPyConnection) -> None:
    """Drop what a comparison defined on `con`, whether it got that far or not."""
    run_script(con, "versions/forget")
    for name in (LISTED, CURRENT, TARGETS, SCOPE, CLOSES, OPENS):
        con.unregister(name)  # a no-op for names that were not registered
