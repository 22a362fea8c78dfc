"""Summaries of runs and of the warehouse: `summarise_*` return sections, `print_*` print."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

import click
import duckdb

from etl.errors import UsageError
from etl.present.formats import Section, human_bytes
from etl.present.text import printable
from etl.store.warehouse import answer, sql


def section(
    con: duckdb.DuckDBPyConnection, name: str, title: str, query: str, **params: object
) -> Section:
    """Return the result of `query` as a report section."""
    found = answer(con, query, **params)
    return Section(found.columns, found.rows, name=name, title=title)


def named_section(
    con: duckdb.DuckDBPyConnection, name: str, title: str, query: str, **params: object
) -> Section:
    """Return the result of `sql/<query>.sql` as the report section `name`."""
    return section(con, name, title, sql(query), **params)


def summarise_report(
    con: duckdb.DuckDBPyConnection, top: int = 10, stale_days: int = 365, unpulled_days: int = 30
) -> list[Section]:
    """Return the report: totals, top namespaces/repositories, ages, stale bytes, repositories
    nobody pulls from or pushes to, last run."""
    return [
        section(con, "totals", "Totals", "SELECT * FROM warehouse_totals"),
        named_section(
            con, "namespaces", f"Top {top} namespaces by unique size", "storage/namespaces", top=top
        ),
        named_section(
            con,
            "repositories",
            f"Top {top} repositories by unique size",
            "storage/repositories",
            top=top,
        ),
        section(con, "staleness", "Tags by time since last push", STALENESS_QUERY),
        named_section(
            con, "stale", f"Not pushed for {stale_days} days", "stale/totals", days=stale_days
        ),
        named_section(
            con,
            "unpulled",
            f"Never pulled, never pushed: {unpulled_days} days of observation",
            "pulls/unpulled",
            days=unpulled_days,
            top=top,
        ),
        named_section(con, "last_run", "Last run", "runs/latest"),
        named_section(
            con, "failures", "Targets of the last run that did not sync", "runs/failures"
        ),
    ]


STALENESS_QUERY = "SELECT bucket, tags, total_size FROM staleness_buckets"


@dataclass(frozen=True)
class RunRef:
    """A run picked for a diff: its position and id."""

    seq: int
    run_id: str


RUN_REF_FORMS = "a run id, a date (2026-11-27: its last run, UTC) or an instant (2026-11-27T10:00Z)"


def diff_runs(
    con: duckdb.DuckDBPyConnection, from_ref: str | None, to_ref: str | None
) -> tuple[RunRef, RunRef]:
    """Return the runs a diff compares: `to_ref`'s run (default: the latest) and `from_ref`'s
    (default: the run before the `to` run). Raises UsageError for a reference that is no run
    id, date or instant, or that names no run, and when there is no run before `to`."""
    new = run_named(con, to_ref, "--to") if to_ref is not None else latest_run(con)
    if from_ref is not None:
        return run_named(con, from_ref, "--from"), new
    rows = con.execute(
        "SELECT seq, run_id FROM runs WHERE seq < $s ORDER BY seq DESC LIMIT 1", {"s": new.seq}
    ).fetchall()
    if not rows:
        raise UsageError(f"run {new.run_id} is the first run: there is nothing before it to diff")
    return RunRef(int(rows[0][0]), str(rows[0][1])), new


def latest_run(con: duckdb.DuckDBPyConnection) -> RunRef:
    """Return the latest run; raise UsageError when the warehouse has none."""
    rows = con.execute("SELECT seq, run_id FROM runs ORDER BY seq DESC LIMIT 1").fetchall()
    if not rows:
        raise UsageError("the warehouse has no run yet: run `swr-etl sync` first")
    return RunRef(int(rows[0][0]), str(rows[0][1]))


def run_named(con: duckdb.DuckDBPyConnection, ref: str, option: str) -> RunRef:
    """Return the run `ref` names (see `sql/macros/run_at.sql`); raise UsageError, naming the
    option, for anything else."""
    known = con.execute("SELECT 1 FROM runs WHERE run_id = $r", {"r": ref}).fetchall()
    if not known and not is_moment(ref):
        raise UsageError(f"{option} {ref!r}: not {RUN_REF_FORMS}")
    rows = con.execute(
        "SELECT seq, run_id FROM runs WHERE seq = run_at($ref)", {"ref": ref}
    ).fetchall()
    if not rows:
        raise UsageError(f"{option} {ref!r}: no run started at or before it")
    return RunRef(int(rows[0][0]), str(rows[0][1]))


def is_moment(ref: str) -> bool:
    """Return True if `ref` is a date or an instant (ISO 8601; `Z` or an offset, or UTC)."""
    try:
        datetime.fromisoformat(ref.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def summarise_diff(con: duckdb.DuckDBPyConnection, old: RunRef, new: RunRef) -> list[Section]:
    """Return the per-repository counts and the changed tags between two runs."""
    params = {"f": old.seq, "t": new.seq}
    return [
        section(
            con,
            "repositories",
            "Changes per repository",
            "SELECT * FROM diff_summary($f, $t)",
            **params,
        ),
        named_section(con, "changes", "Changed tags", "changes/tags", **params),
        section(
            con,
            "repository_changes",
            "Repositories added and removed",
            "SELECT * FROM repository_changes($f, $t)",
            **params,
        ),
    ]


CHANGE_MARKS = {
    "added": "+",
    "removed": "-",
    "retagged": "~",
    "repushed": "*",
    "modified": "!",
    "untracked": "x",
}


def print_diff_plan(old: RunRef, new: RunRef, sections: list[Section]) -> None:
    """Print a diff like a plan: counts per repository, then one marked line per change
    (registry text with its control characters escaped)."""
    for line in diff_plan_lines(old, new, sections):
        click.echo(printable(line))


def diff_plan_lines(old: RunRef, new: RunRef, sections: list[Section]) -> Iterator[str]:
    """Yield the lines of a diff printed like a plan."""
    counts, changes, repositories = sections
    yield f"from {old.run_id} to {new.run_id}"
    for row in repositories.records():
        mark = CHANGE_MARKS[row["change"]]
        yield f"{mark} repository {row['endpoint']}:{row['namespace']}/{row['repository']}"
    for row in counts.records():
        parts = [f"{row[k]} {k}" for k in CHANGE_MARKS if row[k]]
        yield (f"  {row['endpoint']}:{row['namespace']}/{row['repository']}: {', '.join(parts)}")
    yield ""
    for row in changes.records():
        ref = f"{row['endpoint']}:{row['namespace']}/{row['repository']}:{row['tag']}"
        mark = CHANGE_MARKS[row["change"]]
        if row["change"] == "added":
            detail = f"{row['new_digest']} ({human_bytes(row['new_size'])})"
        elif row["change"] in ("removed", "untracked"):
            detail = f"{row['old_digest']} ({human_bytes(row['old_size'])})"
        elif row["change"] == "retagged":
            detail = f"{row['old_digest']} -> {row['new_digest']}"
        else:
            detail = f"{row['change']} {row['new_digest']}"
        yield f"{mark} {ref}  {detail}"
    yield ""
    yield (
        f"{len(changes.rows)} change(s) in {len(counts.rows)} repositories; "
        f"{len(repositories.rows)} repositories added, removed or untracked"
    )
