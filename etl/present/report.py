"""Summaries of runs and of the warehouse: `summarise_*` return sections, `print_*` print."""

from __future__ import annotations

from dataclasses import dataclass

import click
import duckdb

from etl.errors import EtlError
from etl.present.formats import Section, human_bytes
from etl.store.warehouse import sql


def section(
    con: duckdb.DuckDBPyConnection, name: str, title: str, query: str, **params: object
) -> Section:
    """Return the result of `query` as a report section."""
    result = con.execute(query, params)
    columns = [d[0] for d in result.description or []]
    return Section(name, title, columns, result.fetchall())


def named_section(
    con: duckdb.DuckDBPyConnection, name: str, title: str, **params: object
) -> Section:
    """Return the result of `sql/report_<name>.sql` as a report section."""
    return section(con, name, title, sql(f"report/{name}"), **params)


def summarise_report(
    con: duckdb.DuckDBPyConnection, top: int = 10, stale_days: int = 365, unpulled_days: int = 30
) -> list[Section]:
    """Return the report: totals, top namespaces/repositories, ages, stale bytes, repositories
    nobody pulls from or pushes to, last run."""
    return [
        section(con, "totals", "Totals", "SELECT * FROM warehouse_totals"),
        named_section(con, "namespaces", f"Top {top} namespaces by unique size", top=top),
        named_section(con, "repositories", f"Top {top} repositories by unique size", top=top),
        section(con, "staleness", "Tags by time since last push", STALENESS_QUERY),
        named_section(con, "stale", f"Not pushed for {stale_days} days", days=stale_days),
        named_section(
            con,
            "unpulled",
            f"Never pulled, never pushed: {unpulled_days} days of observation",
            days=unpulled_days,
            top=top,
        ),
        named_section(con, "last_run", "Last run"),
        named_section(con, "failures", "Targets of the last run that did not sync"),
    ]


STALENESS_QUERY = "SELECT bucket, tags, total_size FROM staleness_buckets"


@dataclass(frozen=True)
class RunRef:
    """A run picked for a diff: its position and id."""

    seq: int
    run_id: str


def resolve_run(con: duckdb.DuckDBPyConnection, ref: str | None, default_offset: int) -> RunRef:
    """Return the run named by id or date; without one, the latest run minus `default_offset`."""
    if ref is None:
        query = "SELECT seq, run_id FROM runs ORDER BY seq DESC LIMIT 1 OFFSET $n"
        rows = con.execute(query, {"n": default_offset}).fetchall()
        if not rows:
            count = con.execute("SELECT count(*) FROM runs").fetchall()[0][0]
            raise EtlError(f"diff needs {default_offset + 1} run(s); the warehouse has {count}")
    else:
        rows = con.execute(
            "SELECT seq, run_id FROM runs WHERE seq = run_at($ref)", {"ref": ref}
        ).fetchall()
        if not rows:
            raise EtlError(f"no run matches {ref!r} (give a run id or a date like 2026-11-27)")
    return RunRef(int(rows[0][0]), str(rows[0][1]))


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
        named_section(con, "changes", "Changed tags", **params),
        section(
            con,
            "repository_changes",
            "Repositories added and removed",
            "SELECT * FROM repository_changes($f, $t)",
            **params,
        ),
    ]


CHANGE_MARKS = {"added": "+", "removed": "-", "retagged": "~", "repushed": "*", "modified": "!"}


def print_diff_plan(old: RunRef, new: RunRef, sections: list[Section]) -> None:
    """Print a diff like a plan: counts per repository, then one marked line per change."""
    counts, changes, repositories = sections
    click.echo(f"from {old.run_id} to {new.run_id}")
    for row in repositories.records():
        mark = "+" if row["change"] == "added" else "-"
        click.echo(f"{mark} repository {row['endpoint']}:{row['namespace']}/{row['repository']}")
    for row in counts.records():
        parts = [
            f"{row[k]} {k}"
            for k in ("added", "removed", "retagged", "repushed", "modified")
            if row[k]
        ]
        click.echo(
            f"  {row['endpoint']}:{row['namespace']}/{row['repository']}: {', '.join(parts)}"
        )
    click.echo("")
    for row in changes.records():
        ref = f"{row['endpoint']}:{row['namespace']}/{row['repository']}:{row['tag']}"
        mark = CHANGE_MARKS[row["change"]]
        if row["change"] == "added":
            detail = f"{row['new_digest']} ({human_bytes(row['new_size'])})"
        elif row["change"] == "removed":
            detail = f"{row['old_digest']} ({human_bytes(row['old_size'])})"
        elif row["change"] == "retagged":
            detail = f"{row['old_digest']} -> {row['new_digest']}"
        else:
            detail = f"{row['change']} {row['new_digest']}"
        click.echo(f"{mark} {ref}  {detail}")
    click.echo(
        f"\n{len(changes.rows)} change(s) in {len(counts.rows)} repositories; "
        f"{len(repositories.rows)} repositories added or removed"
    )
