"""A run's tags as changes: for the repositories a run keeps as changes (`listing = delta`),
the tags it opens (new or changed, whole rows) and closes (gone, keys alone), against what the
warehouse holds before the run — the same facts `tag_history` gains when the run is loaded.

The run's listings of those repositories are spooled to a local Parquet file as the lake is
written; DuckDB compares them with the current versions by the one rule of versioning
(`etl.store.versioning`), one part of the repositories at a time as the load does, and the
changes stream into the lake's `tag_deltas` part files.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from etl.errors import StorageError
from etl.results import Key
from etl.schemas import DELTA_SCHEMA
from etl.store import known, queries, versioning, warehouse

KEY_COLUMNS = ("endpoint", "namespace", "repository")
KEYS_SCHEMA = pa.schema([(name, pa.string()) for name in KEY_COLUMNS])
KEY_SEPARATOR = "\x1f"  # a character no SWR name may hold


class ComparisonTooLarge(StorageError):
    """DuckDB ran out of its memory comparing a run's listings with the warehouse."""


def key_text(key: Key) -> str:
    """Return a repository's key as one string, as `keys_of` makes them for rows."""
    return KEY_SEPARATOR.join(key)


def keys_table(keys: Iterable[Key]) -> pa.Table:
    """Return repositories' keys as a table of endpoint, namespace, repository."""
    keys = list(keys)
    return pa.table(
        {name: [key[i] for key in keys] for i, name in enumerate(KEY_COLUMNS)}, schema=KEYS_SCHEMA
    )


def keys_of(batch: pa.RecordBatch) -> pa.Array:
    """Return each row's repository key as one string (see `key_text`)."""
    columns = [batch.column(name) for name in KEY_COLUMNS]
    return pc.binary_join_element_wise(*columns, KEY_SEPARATOR)


def delta_batches(
    db_path: Path,
    listed: list[str],
    targets: Iterable[Key],
    run: tuple[str, datetime],
    rows_per_batch: int,
) -> Iterator[pa.RecordBatch]:
    """Yield the changes of `targets` as DELTA_SCHEMA batches: their listings in the local
    Parquet files `listed` against the warehouse at `db_path`; closes carry `run`'s id and
    snapshot time."""
    keys = keys_table(sorted(targets))
    try:
        with warehouse.connect(db_path) as con:
            yield from _changes(con, keys, listed, run, rows_per_batch)
    except (duckdb.Error, OSError) as exc:
        # DuckDB's errors while its answer streams (out of memory, say) reach here through
        # Arrow's reader, as OSError.
        said = f"DuckDB could not compare the run with {db_path}: {str(exc).splitlines()[0]}"
        if "Out of Memory" in said:
            raise ComparisonTooLarge(said) from None
        raise StorageError(f"{said}; nothing of this run was committed") from None


def _changes(
    con: duckdb.DuckDBPyConnection,
    keys: pa.Table,
    listed: list[str],
    run: tuple[str, datetime],
    rows_per_batch: int,
) -> Iterator[pa.RecordBatch]:
    """Yield the changes against the warehouse's current versions (temporary views only:
    nothing is written to the warehouse)."""
    con.register(versioning.TARGETS, keys)
    if listed:
        queries.parquet_view(con, versioning.LISTED, listed, "*, NULL::VARCHAR AS op")
    else:
        con.register(versioning.LISTED, DELTA_SCHEMA.empty_table())
    versioning.current_in_warehouse(con)
    try:
        # Only the compared repositories' versions: an hourly run compares few of them.
        parts = known.parts_for(versioning.current_versions(con))
        yield from versioning.lake_changes(con, run, parts, rows_per_batch)
    finally:
        versioning.forget(con)
