"""Cleanup plans in the store: the tags a plan deletes, read from the warehouse; what applying
one did, recorded in the lake and loaded into the warehouse; and their summaries.

An apply is recorded as a unit of its own, apart from the runs (it is in no run's commit
record): one Parquet file, written whole or not at all (a local folder: a partial file renamed
into place and flushed; object storage: one PUT), named by the apply's id:

    lake/cleanups/applied_date=YYYY-MM-DD/<apply_id>.parquet    rows: CLEANUP_SCHEMA

The apply loads it into `cleanup_deletions` at once; a sync's catch-up, `load` and `rebuild`
load every file the warehouse lacks (by apply id), so a database that was busy, or is rebuilt,
or another writer's, catches up.
"""

from __future__ import annotations

import io
import logging
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from etl.cleanup_plan import FORMAT as FORMAT_NAME
from etl.cleanup_plan import (
    Attempt,
    CleanupPlan,
    ConfigStamp,
    PlannedTag,
    PlanRule,
    PlanRun,
)
from etl.errors import UsageError
from etl.schemas import CLEANUP_SCHEMA, LAKE_FORMAT
from etl.store.commits import newer_lake_format
from etl.store.files import fsync, replacing
from etl.store.queries import Answer, ask, sql
from etl.store.storage import LakeStore

log = logging.getLogger("etl.store.cleanups")

FOLDER = "cleanups"
# Stamped in each file's metadata: a reader meeting a greater one leaves the file alone.
FORMAT_KEY = b"swr-etl.lake-format"  # the lake's format (docs/lake-format.md), as a run's record
# The columns of a plan's tags as the summaries read them (`planned`).
PLANNED_SCHEMA = pa.schema([f for f in CLEANUP_SCHEMA if f.name in PlannedTag.model_fields])


# --- the plan, from the warehouse --------------------------------------------------------------


def compute_plan(
    con: duckdb.DuckDBPyConnection,
    plan_id: str,
    rule: PlanRule,
    stamp: ConfigStamp,
    now: datetime,
) -> CleanupPlan:
    """Return the plan of `rule` for the config `stamp` names, from the warehouse's latest
    run; raise UsageError when the warehouse holds no run yet."""
    latest = ask(con, "cleanup/latest_run").first()
    if not latest:
        raise UsageError("the database holds no run yet: run `swr-etl sync` first")
    tags = planned_tags(con, rule, [e.name for e in stamp.endpoints])
    # Built from the warehouse's own rows, which were checked on their way in: a plan file
    # read back is checked whole (`etl.cleanup_plan.read_plan`).
    return CleanupPlan.model_construct(
        format=FORMAT_NAME,
        version=1,
        id=plan_id,
        computed_at=now,
        run=PlanRun.model_construct(**latest),
        rule=rule,
        config=stamp,
        frees=sum(t.freed_size for t in tags),
        tags=tuple(tags),
    )


def planned_tags(
    con: duckdb.DuckDBPyConnection, rule: PlanRule, endpoints: Sequence[str]
) -> list[PlannedTag]:
    """Return the tags a plan deletes under `rule` on `endpoints` (`cleanup_plan`)."""
    found = ask(
        con,
        "cleanup/plan",
        days=rule.older_than_days,
        keep_last=rule.keep_last,
        protect=list(rule.protect),
        endpoints=list(endpoints),
    )
    return [PlannedTag.model_construct(**row) for row in found.records()]


# --- summaries ---------------------------------------------------------------------------------


def plan_summary(tags: Sequence[PlannedTag]) -> Answer:
    """Return a plan's tags per repository (`cleanup/summary`)."""
    return scratch_answer("cleanup/summary", planned=planned_table(tags))


def outcome_summary(attempts: Sequence[Attempt]) -> Answer:
    """Return what an apply did, per repository (`cleanup/outcome`)."""
    rows = [
        {**a.tag.model_dump(), "freed_size": a.freed_size, "result": str(a.result)}
        for a in attempts
    ]
    schema = PLANNED_SCHEMA.append(pa.field("result", pa.string()))
    return scratch_answer("cleanup/outcome", attempted=pa.Table.from_pylist(rows, schema))


def planned_table(tags: Sequence[PlannedTag]) -> pa.Table:
    """Return a plan's tags as an Arrow table (PLANNED_SCHEMA)."""
    return pa.Table.from_pylist([t.model_dump() for t in tags], PLANNED_SCHEMA)


def scratch_answer(name: str, **relations: pa.Table) -> Answer:
    """Return the answer of `sql/<name>.sql` over Arrow tables, in a database of its own (no
    warehouse needed: a dry run reads only the plan)."""
    with duckdb.connect() as con:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(sql("macros/cleanup_done"))
        for relation, table in relations.items():
            con.register(relation, table)
        return ask(con, name)


# --- what an apply did, in the lake ------------------------------------------------------------


@dataclass(frozen=True)
class Applier:
    """Who applies a plan: the OS user and host, and the config's writer name."""

    user: str
    host: str
    writer: str


def attempts_table(
    plan: CleanupPlan, apply_id: str, attempts: Sequence[Attempt], who: Applier
) -> pa.Table:
    """Return an apply's attempts as the rows the lake and the warehouse keep."""
    shared = {
        "apply_id": apply_id,
        "plan_id": plan.id,
        "plan_computed_at": plan.computed_at,
        "plan_run_id": plan.run.run_id,
        "plan_seq": plan.run.seq,
        **plan.rule.model_dump(),
        "applied_by": who.user,
        "applied_on": who.host,
        "writer": who.writer,
    }
    rows = [
        {
            **shared,
            **a.tag.model_dump(),
            "freed_size": a.freed_size,  # what this apply freed, not what the plan said
            "result": str(a.result),
            "detail": a.detail,
            "http_status": a.http_status,
            "error_code": a.error_code,
            "request_id": a.request_id,
            "attempted_at": a.at,
        }
        for a in attempts
    ]
    table = pa.Table.from_pylist(rows, CLEANUP_SCHEMA)
    return table.replace_schema_metadata({FORMAT_KEY: str(LAKE_FORMAT).encode()})


def cleanup_path(store: LakeStore, apply_id: str, applied_at: datetime) -> str:
    """Return where an apply's file goes in the lake."""
    return store.path(FOLDER, f"applied_date={applied_at:%Y-%m-%d}", f"{apply_id}.parquet")


def record_attempts(store: LakeStore, path: str, table: pa.Table) -> None:
    """Write an apply's file whole or not at all: locally a partial file renamed into place
    and flushed; on object storage one PUT of the finished bytes."""
    if store.local:
        target = Path(path)
        with replacing(target) as partial:
            pq.write_table(table, partial, compression="zstd")
            fsync(partial)
        fsync(target.parent)
        return
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    with store.fs.open_output_stream(path) as stream:
        stream.write(buffer.getvalue())


# --- into the warehouse ------------------------------------------------------------------------


def load_cleanups(con: duckdb.DuckDBPyConnection, store: LakeStore) -> list[str]:
    """Load every apply's file of the lake that the warehouse lacks; return their apply ids.
    Each apply is loaded once, by the ids its rows hold: a copy of a file, under any name or
    folder, adds nothing. A file that cannot be read or loaded is logged and left for the
    next time: it never stops a sync."""
    loaded = set(ask(con, "cleanup/loaded").column("apply_id"))
    done: list[str] = []
    for path in sorted(cleanup_files(store)):
        if posixpath.basename(path).removesuffix(".parquet") in loaded:
            continue  # the usual case, said by its name: not even opened
        try:
            done += _load_one(con, store, path, loaded)
        except (OSError, pa.ArrowException, duckdb.Error, ValueError) as exc:
            reason = " ".join(str(exc).split())[:300]
            log.error("cleanup record %s is not loaded: %s", store.show(path), reason)
            continue
        loaded.update(done)
    return done


def cleanup_files(store: LakeStore) -> list[str]:
    """Return the path of every apply's file in the lake (no partial one)."""
    return [
        info.path
        for info in store.files(store.path(FOLDER))
        if info.base_name.endswith(".parquet") and not info.base_name.startswith(".")
    ]


def _load_one(
    con: duckdb.DuckDBPyConnection, store: LakeStore, path: str, loaded: set[str]
) -> list[str]:
    """Load the rows of one file whose applies are not `loaded`; return those applies."""
    table = pq.read_table(path, filesystem=store.fs)
    written = int((table.schema.metadata or {}).get(FORMAT_KEY, b"1"))
    if written > LAKE_FORMAT:  # never skipped: the reader is old, not the record broken
        subject = f"cleanup record {posixpath.basename(path)}"
        raise newer_lake_format(subject, store.url, f"lake format {written}")
    fresh = pc.invert(pc.is_in(table.column("apply_id"), pa.array(sorted(loaded), pa.string())))
    staged = table.filter(fresh).select(CLEANUP_SCHEMA.names).cast(CLEANUP_SCHEMA)
    if not staged.num_rows:
        return []
    con.register("staged_cleanup", staged)
    try:
        con.execute(sql("cleanup/load"))
    finally:
        con.unregister("staged_cleanup")
    return sorted(set(staged.column("apply_id").to_pylist()))
