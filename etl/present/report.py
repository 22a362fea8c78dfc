"""The report and the diff: `summarise_*` return sections, each the answer of a named query in
`sql/`; `print_*` print them."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import click
import duckdb

from etl.errors import UsageError
from etl.present.defaults import STALE_DAYS, TOP, UNPULLED_DAYS
from etl.present.formats import Section, human_bytes
from etl.present.text import printable
from etl.results import Target
from etl.store.queries import ask


def section_from(
    con: duckdb.DuckDBPyConnection, query: str, *, name: str, title: str, **params: object
) -> Section:
    """Return the answer of `sql/<query>.sql` as the section `name` (its key in JSON and CSV),
    shown under `title`."""
    found = ask(con, query, **params)
    return Section(found.columns, found.rows, name=name, title=title)


def summarise_report(
    con: duckdb.DuckDBPyConnection,
    top: int = TOP,
    stale_days: int = STALE_DAYS,
    unpulled_days: int = UNPULLED_DAYS,
) -> list[Section]:
    """Return the report: totals, top namespaces/repositories, ages, stale bytes, repositories
    nobody pulls from or pushes to, the last run and its failures."""
    unpulled = f"Never pulled, never pushed: {unpulled_days} days of observation"
    return [
        section_from(con, "storage/totals", name="totals", title="Totals"),
        section_from(
            con,
            "storage/namespaces",
            name="namespaces",
            title=f"Top {top} namespaces by unique size",
            top=top,
        ),
        section_from(
            con,
            "storage/repositories",
            name="repositories",
            title=f"Top {top} repositories by unique size",
            top=top,
        ),
        section_from(con, "tags/staleness", name="staleness", title="Tags by time since last push"),
        section_from(
            con,
            "stale/totals",
            name="stale",
            title=f"Not pushed for {stale_days} days",
            days=stale_days,
        ),
        section_from(
            con, "pulls/unpulled", name="unpulled", title=unpulled, days=unpulled_days, top=top
        ),
        section_from(con, "runs/latest", name="last_run", title="Last run"),
        section_from(
            con, "runs/failures", name="failures", title="Targets of the last run that did not sync"
        ),
    ]


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
    before = ask(con, "runs/before", seq=new.seq).first()
    if not before:
        raise UsageError(f"run {new.run_id} is the first run: there is nothing before it to diff")
    return run_ref(before), new


def latest_run(con: duckdb.DuckDBPyConnection) -> RunRef:
    """Return the latest run; raise UsageError when the warehouse has none."""
    latest = ask(con, "runs/named", ref=None).first()
    if not latest:
        raise UsageError("the warehouse has no run yet: run `swr-etl sync` first")
    return run_ref(latest)


def run_named(con: duckdb.DuckDBPyConnection, ref: str, option: str) -> RunRef:
    """Return the run `ref` names (see `sql/macros/run_at.sql`); raise UsageError, naming the
    option, for anything else."""
    if not ask(con, "runs/record", run_id=ref).rows and not is_moment(ref):
        raise UsageError(f"{option} {ref!r}: not {RUN_REF_FORMS}")
    named = ask(con, "runs/named", ref=ref).first()
    if not named:
        raise UsageError(f"{option} {ref!r}: no run started at or before it")
    return run_ref(named)


def run_ref(row: dict[str, Any]) -> RunRef:
    """Return the run a `runs/named` or `runs/before` row names."""
    return RunRef(int(row["seq"]), str(row["run_id"]))


def is_moment(ref: str) -> bool:
    """Return True if `ref` is a date or an instant (ISO 8601; `Z` or an offset, or UTC)."""
    try:
        datetime.fromisoformat(ref.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def summarise_diff(con: duckdb.DuckDBPyConnection, old: RunRef, new: RunRef) -> list[Section]:
    """Return the per-repository counts and the changed tags between two runs."""
    runs = {"f": old.seq, "t": new.seq}
    return [
        section_from(
            con,
            "changes/per_repository",
            name="repositories",
            title="Changes per repository",
            **runs,
        ),
        section_from(con, "changes/tags", name="changes", title="Changed tags", **runs),
        section_from(
            con,
            "changes/repositories",
            name="repository_changes",
            title="Repositories added and removed",
            **runs,
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
        yield f"{CHANGE_MARKS[row['change']]} repository {target_of(row)}"
    for row in counts.records():
        parts = [f"{row[k]} {k}" for k in CHANGE_MARKS if row[k]]
        yield f"  {target_of(row)}: {', '.join(parts)}"
    yield ""
    for row in changes.records():
        ref = f"{target_of(row)}:{row['tag']}"
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


def target_of(row: dict[str, Any]) -> Target:
    """Return the repository a row names, shown as SQL's `target_label` shows it:
    `endpoint:namespace/repository`."""
    return Target(row["endpoint"], row["namespace"], row["repository"])
