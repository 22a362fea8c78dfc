"""A table's rows as Parquet part files: zstd, large row groups, at most ROWS_PER_PART rows a
file, opened as data arrives (a table with no row has no file and no folder)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import pyarrow as pa
import pyarrow.parquet as pq

from etl.schemas import SNAPSHOT_SCHEMA
from etl.store.storage import LakeStore

ROWS_PER_PART = 1_000_000
ROWS_PER_GROUP = 32_000  # large row groups: compact files, fast scans; ~10 MB in memory
# Dictionary-encode only columns with few distinct values; a dictionary of unique strings
# (paths, digests) costs memory and time and then falls back to plain encoding anyway.
DICTIONARY_COLUMNS = ["run_id", "endpoint", "namespace", "repository", "domain_id", "image_id"]


def chunks(
    batches: Iterable[pa.RecordBatch], rows: int, schema: pa.Schema = SNAPSHOT_SCHEMA
) -> Iterator[pa.Table]:
    """Regroup small page batches into tables of about `rows` rows (one row group each)."""
    buffer: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        buffer.append(batch)
        count += batch.num_rows
        if count >= rows:
            yield pa.Table.from_batches(buffer, schema)
            buffer, count = [], 0
    if buffer:
        yield pa.Table.from_batches(buffer, schema)


class PartWriter:
    """Parquet part files of at most ROWS_PER_PART rows, opened as data arrives. Smaller
    tables are gathered into row groups of about ROWS_PER_GROUP rows."""

    def __init__(self, store: LakeStore, folder: str, schema: pa.Schema, prefix: str = "part"):
        self.store = store
        self.prefix = prefix  # file names `<prefix>-00000.parquet`, …
        self.folder = folder
        self.schema = schema
        self.part = -1
        self.rows = 0
        self.writer: pq.ParquetWriter | None = None
        self.written: list[tuple[str, int]] = []  # (file name, rows) of every part
        self._gathered: list[pa.Table] = []

    def write(self, table: pa.Table) -> None:
        """Add `table`'s rows: written once ROWS_PER_GROUP rows have gathered."""
        self._gathered.append(table)
        if sum(t.num_rows for t in self._gathered) >= ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self._gathered:
            return
        table = pa.concat_tables(self._gathered) if len(self._gathered) > 1 else self._gathered[0]
        self._gathered = []
        if self.writer is None or self.rows >= ROWS_PER_PART:
            self.close()
            if self.part < 0:
                self.store.make_dirs(self.folder)  # no folder for a table with no row
            self.part += 1
            name = f"{self.prefix}-{self.part:05d}.parquet"
            self.writer = pq.ParquetWriter(
                f"{self.folder}/{name}",
                self.schema,
                compression="zstd",
                use_dictionary=DICTIONARY_COLUMNS,
                filesystem=self.store.fs,
            )
            self.rows = 0
            self.written.append((name, 0))
        self.writer.write_table(table, row_group_size=ROWS_PER_GROUP)
        self.rows += table.num_rows
        self.written[-1] = (self.written[-1][0], self.rows)

    def close(self) -> None:
        """Write what is gathered and close the open part."""
        self._flush()
        if self.writer is not None:
            self.writer.close()
            self.writer = None
