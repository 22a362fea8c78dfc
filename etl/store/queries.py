"""The SQL the code runs, by name: every query is a file of `sql/` (packaged in the wheel as
`etl/sql`), read once; a query's answer as columns and rows, or as a stream of Arrow batches;
a file of several statements run in order; a view over local Parquet files."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa


def sql_dir() -> Path:
    """Return the folder of SQL files: packaged in the wheel, or `sql/` in a checkout."""
    packaged = resources.files("etl") / "sql"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "sql"


@cache  # the files are part of the installed version: read each once
def sql(name: str) -> str:
    """Return the text of `sql/<name>.sql` (`name` may name a folder: `load/diff`)."""
    return (sql_dir() / f"{name}.sql").read_text(encoding="utf-8")


def named_params(text: str, params: dict[str, Any]) -> dict[str, Any]:
    """Return only the parameters the SQL `text` names."""
    named = set(re.findall(r"\$([A-Za-z_]\w*)", text))
    return {k: v for k, v in params.items() if k in named}


@dataclass(frozen=True)
class Answer:
    """A query's answer: its column names and rows, as every reader of the views gets it."""

    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        """The rows as dicts by column name."""
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]

    def column(self, name: str) -> list[Any]:
        """One column's values, in row order."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def first(self) -> dict[str, Any]:
        """The first row by column name (empty when there is none)."""
        return dict(zip(self.columns, self.rows[0], strict=True)) if self.rows else {}


def answer(con: duckdb.DuckDBPyConnection, text: str, **params: Any) -> Answer:
    """Return the answer of the SQL `text`, given the parameters it names (a statement that
    returns nothing answers with no columns)."""
    result = con.execute(text, named_params(text, params) or None)
    columns = [d[0] for d in result.description or []]
    return Answer(columns, result.fetchall() if columns else [])


def answer_batches(
    con: duckdb.DuckDBPyConnection, text: str, rows: int, **params: Any
) -> pa.RecordBatchReader:
    """Return the answer of the SQL `text` as a stream of Arrow batches of about `rows` rows
    (what is not read yet is not held)."""
    # A relation's reader streams; an executed result's would copy every row first.
    relation = con.sql(text, params=named_params(text, params) or None)
    return relation.to_arrow_reader(batch_size=rows)


def run_script(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> None:
    """Run every statement of `sql/<name>.sql` in order, each given the parameters it names
    (DuckDB binds parameters to one statement at a time)."""
    for text in filter(str.strip, sql(name).split(";\n")):
        con.execute(text, named_params(text, params) or None)


def ask(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> Answer:
    """Return the answer of `sql/<name>.sql`, given the parameters it names."""
    return answer(con, sql(name), **params)


def answer_one(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> Any:
    """Return the one value `sql/<name>.sql` answers."""
    return answer(con, sql(name), **params).rows[0][0]


def parquet_view(
    con: duckdb.DuckDBPyConnection, name: str, files: list[str], columns: str = "*"
) -> None:
    """Make `name` a temporary view over local Parquet `files` (their columns by name), read
    by DuckDB's own reader: nothing of it is stored in the database. (A view over a list of
    files cannot be a named file: no statement that defines a view takes parameters.)"""
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    con.execute(
        f"CREATE OR REPLACE TEMP VIEW {name} AS "
        f"SELECT {columns} FROM read_parquet([{listed}], union_by_name = true, "
        "hive_partitioning = false)"  # the files' columns alone, not their folders' keys
    )
