"""What a sync stored, read back as a user would: the database read-only (every query of a test
goes through `reading`), the lake by the documented query, and the docs' own SQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb

from etl import schemas

ROOT = Path(__file__).resolve().parents[1]
TABLES = ("runs", "target_runs", "tag_history", "manifests")
COLUMNS = ", ".join(["namespace", "repository", *schemas.TAG_FIELDS])  # as registries.expected_row
KEY_AND_STATE = "endpoint, namespace, repository, tag, digest, size, updated"


@contextmanager
def reading(db: Path | str, utc: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    """Yield a read-only connection to the database file `db` (its times shown in UTC if
    `utc`, else in the machine's time zone, as a notebook would)."""
    with duckdb.connect(str(db), read_only=True) as con:
        if utc:
            con.execute("SET TimeZone = 'UTC'")
        yield con


def query(db: Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    """Return the rows of `sql` (with `$name` parameters) over the database, times in UTC."""
    with reading(db, utc=True) as con:
        return con.execute(sql, params).fetchall()


def stored_rows(db: Path, where: str = "") -> list[tuple[Any, ...]]:
    """Every current tag (`registries.expected_rows`' columns), sorted; `where` narrows."""
    with reading(db, utc=True) as con:
        return sorted(con.execute(f"SELECT {COLUMNS} FROM tags_current {where}").fetchall())


def table_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables a run loads, each table sorted."""
    with reading(db) as con:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def changes(db: Path, seq: int) -> dict[str, int]:
    """Return the tag_changes of run `seq`, counted by kind."""
    rows = query(db, "SELECT change, count(*) FROM tag_changes WHERE to_seq = $s GROUP BY 1", s=seq)
    return dict(rows)


def docs_sql(page: str, after: str) -> str:
    """Return the first fenced SQL block of `docs/<page>` after the line that starts with
    `after`: the tests run the documentation's own examples, word for word."""
    text = (ROOT / "docs" / page).read_text(encoding="utf-8")
    start = text.index("\n" + after)
    block = text.index("```sql\n", start) + len("```sql\n")
    return text[block : text.index("```", block)].rstrip().rstrip(";")


def lake_state(lake_folder: Path, run_id: str | None = None) -> list[tuple[Any, ...]]:
    """The registry after a run (None: the latest), by the documented query over the lake,
    read with the documented DuckDB views (docs/other-engines.md)."""
    views = docs_sql("other-engines.md", "DuckDB (a folder").replace("'lake/", f"'{lake_folder}/")
    if not (lake_folder / "tag_deltas").exists():  # as the page says for such a lake
        views = views.replace(
            views[views.index("CREATE VIEW tag_deltas") :],
            "CREATE VIEW tag_deltas AS SELECT *, NULL AS op FROM tag_snapshots LIMIT 0",
        )
    state = docs_sql(
        "other-engines.md", "`target_runs`, `tag_snapshots` and `tag_deltas`, and is the same text"
    )
    if run_id is not None:
        state = state.replace("CAST(NULL AS STRING)", f"'{run_id}'", 1)
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(views)
        return sorted(con.execute(f"SELECT {KEY_AND_STATE} FROM ({state})").fetchall())


def states_by_run(db: Path) -> dict[str | None, list[tuple[Any, ...]]]:
    """What `tag_state` says the registry held after each run, by run id; `None`: now."""
    with reading(db, utc=True) as con:
        runs = con.execute("SELECT seq, run_id FROM runs ORDER BY seq").fetchall()
        states: dict[str | None, list[tuple[Any, ...]]] = {
            run_id: sorted(
                con.execute(f"SELECT {KEY_AND_STATE} FROM tag_state($s)", {"s": seq}).fetchall()
            )
            for seq, run_id in runs
        }
        states[None] = sorted(con.execute(f"SELECT {KEY_AND_STATE} FROM tags_current").fetchall())
    return states
