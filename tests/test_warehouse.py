"""The DuckDB schema and every SQL file, on fresh and on old databases."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from etl import schemas
from etl.schemas import SNAPSHOT_SCHEMA
from etl.store import cleanups, queries, warehouse
from etl.store.deltas import keys_table
from etl.store.warehouse import definitions_digest
from tests.stored import reading

SQL_FILES = sorted(
    p.relative_to(queries.sql_dir()).with_suffix("").as_posix()
    for p in queries.sql_dir().rglob("*.sql")
)


# The folders of the questions the readers ask (report, diff, dashboard, summary, metrics, demo),
# and the parameters they take.
READER_FOLDERS = ("runs", "storage", "changes", "tags", "stale", "pulls", "growth")
READER_PARAMS = {"run_id": "r", "seq": 1, "top": 5, "days": 30, "f": 1, "t": 2, "ref": None}


def test_every_sql_file_opens_with_a_one_line_comment() -> None:
    for name in SQL_FILES:
        first = queries.sql(name).splitlines()[0]
        assert first.startswith("-- ") and len(first) > 20, name


@pytest.fixture(scope="module")
def fresh(tmp_path_factory: pytest.TempPathFactory) -> Iterator[duckdb.DuckDBPyConnection]:
    """A fresh warehouse; each test runs in a transaction rolled back after it."""
    with warehouse.connect(tmp_path_factory.mktemp("fresh") / "fresh.duckdb") as con:
        yield con


LAKE_TABLES = {
    "runs": schemas.RUN_SCHEMA,
    "target_runs": schemas.TARGET_RUN_SCHEMA,
    "tag_snapshots": SNAPSHOT_SCHEMA,
    "tag_deltas": schemas.DELTA_SCHEMA,
}


@pytest.mark.parametrize("name", SQL_FILES)
def test_every_sql_file_runs_on_a_fresh_database(
    fresh: duckdb.DuckDBPyConnection, name: str
) -> None:
    con = fresh
    con.execute("BEGIN")
    try:
        con.register("staged_target_runs", schemas.TARGET_RUN_SCHEMA.empty_table())
        con.register("staged_manifests", schemas.MANIFEST_SCHEMA.empty_table())
        con.register("staged_run", schemas.RUN_SCHEMA.empty_table())
        con.register("staged_repositories", schemas.REPOSITORY_ROW_SCHEMA.empty_table())
        con.register("staged_discoveries", schemas.DISCOVERY_SCHEMA.empty_table())
        con.register("staged_early", keys_table([]))
        # What a cleanup plan's summaries read (etl.store.cleanups), and an apply's record.
        con.register("planned", cleanups.planned_table([]))
        attempted = cleanups.PLANNED_SCHEMA.append(pa.field("result", pa.string()))
        con.register("attempted", attempted.empty_table())
        con.register("staged_cleanup", schemas.CLEANUP_SCHEMA.empty_table())
        # What the one rule of versioning reads (etl.store.versioning), as a load defines it.
        con.register("version_listed", schemas.DELTA_SCHEMA.empty_table())
        con.register("version_targets", keys_table([]))
        queries.run_script(con, "load/version_scope", seq=1, part=0, parts=1)
        queries.run_script(con, "load/version_current", seq=1)
        queries.run_script(con, "versions/compare")
        if name.startswith("lake/"):  # the lake's tables, as `thin` and a sync name them
            for table, schema in LAKE_TABLES.items():
                con.register(table, schema.empty_table())
            con.register("lake_known", SNAPSHOT_SCHEMA.empty_table())
        params = {
            "seq": 1,
            "run_id": "r",
            "snapshot_at": "2026-11-27 00:00:00+00",
            "top": 5,
            "days": 30,
            "f": 1,
            "t": 2,
            "part": 0,
            "parts": 1,
            "writer": "config",
            "writer_id": "0123456789abcdef",
            "reason": "a test",
            "loads": 2,
            "started": "2026-11-27 00:00:00+00",
            "keep_last": 3,
            "protect": ["latest"],
            "endpoints": ["local"],
            "ref": "2026-11-27",
        }
        queries.run_script(con, name, **params)
    finally:
        con.execute("ROLLBACK")


def test_an_old_database_is_brought_forward_on_open(tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(queries.sql("schema"))  # tables only, as an early version left them
    with warehouse.connect(path) as con:
        views = {
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
    assert {"tags_current", "tag_snapshots", "warehouse_totals"} <= views


def test_a_reader_of_a_database_an_older_version_wrote_finds_every_view_and_macro(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(queries.sql("schema"))  # tables only: no view or macro of this version
    with warehouse.connect(path, read_only=True) as con:
        con.execute("SELECT * FROM cleanup_candidates(365)").fetchall()
        for name in SQL_FILES:
            if name.partition("/")[0] in READER_FOLDERS:
                queries.ask(con, name, **READER_PARAMS)
    with reading(path) as con:  # and nothing was written
        assert con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchall() == [
            (0,)
        ]


def test_a_reader_of_a_database_without_a_table_this_version_adds_finds_every_view(
    tmp_path: Path,
) -> None:
    path = tmp_path / "old.duckdb"
    schema = queries.sql("schema")
    with duckdb.connect(str(path)) as con:  # as a version before `cleanup apply` left it
        con.execute(schema[: schema.index("CREATE TABLE IF NOT EXISTS cleanup_deletions")])
    with warehouse.connect(path, read_only=True) as con:
        views = con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
        for (view,) in views:
            con.execute(f"SELECT count(*) FROM {view}").fetchall()
        assert ("cleanup_history",) in views
        assert con.execute("SELECT count(*) FROM cleanup_history").fetchall() == [(0,)]


def test_sql_is_read_from_the_package_or_the_checkout() -> None:
    assert (queries.sql_dir() / "schema.sql").is_file()


def test_sql_files_live_in_a_folder_that_says_what_they_are_for() -> None:
    folders = {name.partition("/")[0] for name in SQL_FILES if "/" in name}
    loose = [name for name in SQL_FILES if "/" not in name]
    assert loose == ["schema"]
    assert folders == {
        "macros",
        "views",
        "load",
        "known",
        "lake",
        "cleanup",
        "versions",
        # What people ask of the warehouse, by subject (the report, the dashboard, the run
        # summary, the metrics and the demo select from them).
        *READER_FOLDERS,
    }


def test_every_macro_and_view_is_created_in_an_order_read_from_the_sql(tmp_path: Path) -> None:
    order = warehouse.definition_files()
    assert set(order) == {n for n in SQL_FILES if n.startswith(("macros/", "views/"))}
    defined = {w.lower() for n in order for w in warehouse.DEFINES.findall(queries.sql(n))}
    with warehouse.connect(tmp_path / "fresh.duckdb") as con:
        catalog = {
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal UNION "
                "SELECT function_name FROM duckdb_functions() WHERE macro_definition IS NOT NULL"
            ).fetchall()
        }
    assert defined <= catalog


def documented_descriptions() -> dict[str, str]:
    """Return the documentation's description of each table, view and table macro: the rows of
    docs/database.md's tables, and the `## \\`name\\`` sections of docs/views.md."""
    docs = Path(__file__).resolve().parents[1] / "docs"
    found: dict[str, str] = {}
    schema = (docs / "database.md").read_text(encoding="utf-8")
    for row in re.findall(r"^\| `(\w+)`[^|]*\|(.*)$", schema, re.MULTILINE):
        found[row[0]] = row[1]
    # "the tag's fields" names the tag columns the `tag_history` row lists.
    fields = found["tag_history"].split(" — ")[1]
    found = {name: body.replace("the tag's fields", fields) for name, body in found.items()}
    views = (docs / "views.md").read_text(encoding="utf-8")
    for name, body in re.findall(r"^## `(\w+)[^`]*`[^\n]*\n(.*?)(?=^## |\Z)", views, re.M | re.S):
        found[name] = body
    return found


def test_the_docs_name_every_column_of_every_table_and_view(tmp_path: Path) -> None:
    described = documented_descriptions()
    with warehouse.connect(tmp_path / "fresh.duckdb") as con:
        relations = {
            name: [
                c
                for (c,) in con.execute(
                    "SELECT column_name FROM duckdb_columns() WHERE table_name = $t", {"t": name}
                ).fetchall()
            ]
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE NOT internal UNION "
                "SELECT view_name FROM duckdb_views() WHERE NOT internal"
            ).fetchall()
        }
        for name in described.keys() - relations.keys():
            arguments = con.execute(
                "SELECT parameters FROM duckdb_functions() WHERE function_name = $f "
                "AND function_type = 'table_macro'",
                {"f": name},
            ).fetchall()
            if arguments:
                args = ", ".join("1" for _ in arguments[0][0])
                relations[name] = [
                    r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {name}({args})").fetchall()
                ]
    assert relations.keys() >= described.keys() - {"swr"}
    missing = {
        name: [c for c in columns if f"`{c}`" not in described[name]]
        for name, columns in relations.items()
        if name in described
    }
    assert {k: v for k, v in missing.items() if v} == {}
    undescribed = sorted(
        name for name in relations if name not in described and not name.startswith("staged")
    )
    assert undescribed == ["manifests"] or undescribed == []


KEY = ["endpoint", "namespace", "repository"]
VALIDITY = [
    "valid_from_seq",
    "valid_from_run",
    "valid_from",
    "valid_to_seq",
    "valid_to_run",
    "valid_to",
]


def columns_of(con: duckdb.DuckDBPyConnection, relation: str) -> list[str]:
    return [row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall()]


def test_the_tag_columns_are_declared_once_and_every_relation_takes_them_from_there(
    tmp_path: Path,
) -> None:
    # etl/schemas.py declares them (TAG_FIELDS); the DuckDB table is checked against it, and
    # every view and statement takes them from the table (`*`, BY NAME) but the lake's state
    # query, which other engines run word for word and is checked here.
    tags = list(schemas.TAG_FIELDS)
    with warehouse.connect(tmp_path / "fresh.duckdb") as con:
        assert columns_of(con, "tag_history") == [*KEY, *tags, *VALIDITY]
        assert columns_of(con, "tags_current")[: len(KEY) + len(tags)] == [*KEY, *tags]
        assert columns_of(con, "tag_snapshots")[3:] == [*KEY, *tags]
        # The fields a change is judged on: every tag column but the tag's name.
        fields = con.execute(
            "SELECT unnest(json_keys(to_json(tag_payload(t)))) "
            "FROM (SELECT * FROM tag_history UNION ALL BY NAME SELECT 'x' AS tag) AS t"
        ).fetchall()
        assert [f for (f,) in fields] == [f for f in tags if f != "tag"]
    with duckdb.connect() as lake:
        for table, schema in LAKE_TABLES.items():
            lake.register(table, schema.empty_table())
        state = queries.sql("lake/state").split("\n", 1)[1].rstrip().rstrip(";")
        assert columns_of(lake, f"({state})") == [*KEY, *tags, "run_id"]


def test_the_definitions_digest_is_the_same_in_every_process() -> None:
    # Else a writer re-applies every definition on about every other open: a write to a
    # database that needs none (a full disk then fails a run that would have gone through).
    def digest(seed: str) -> str:
        code = "from etl.store.warehouse import definitions_digest; print(definitions_digest())"
        done = subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    assert {digest(seed) for seed in ("1", "2", "3", "4", "5", "6")} == {definitions_digest()}
