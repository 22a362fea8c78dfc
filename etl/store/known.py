"""What the warehouse knows, as a run asks it before it crawls and a command before it acts:
the runs it holds and the next sequence number, each repository's current state, the scope
a writer tracks and the identities of writers, the runs set aside. Each question is a file of
`sql/known/`."""

from __future__ import annotations

import logging
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb

from etl.results import Key
from etl.store.queries import answer_one, ask, sql
from etl.store.warehouse import connect

log = logging.getLogger("etl.store.known")


LOADS_BEFORE_SET_ASIDE = 2  # a run that fails to load this often is set aside for the database


# A run is compared with the current versions in parts of about this many versions, so that
# the comparison's hash joins hold whatever the registry size. Measured at 1,000,000 tags,
# every one changed: parts of ~500,000 fit in MEMORY_LIMIT_MB, 1,000,000 ran out of it.
VERSIONS_PER_PART = 250_000


class CurrentRepository(NamedTuple):
    """What a repository holds now: its current tags, under which tag filter, when the lake
    last stored its tags whole (None: never), the identity of the writer of its latest sync
    (None: a run written before writers had one), and how many of its tags a cleanup has
    deleted since (the next sync expects them gone)."""

    tags: int
    tag_filter: str | None
    listed_at: datetime | None = None
    written_by: str | None = None
    cleaned: int = 0


class LastCrawl(NamedTuple):
    """A repository's last crawl (a sync that read its whole tag list): when its run finished,
    its organization's list entry then (`updated_at`, `num_images`, `size`; None where unknown),
    and whether its latest sync was ok (a crawl or a carry: not failed, gone or untracked since)."""

    crawled_at: datetime | None
    entry: tuple[Any, Any, Any]
    latest_ok: bool


def last_crawls(con: duckdb.DuckDBPyConnection) -> dict[Key, LastCrawl]:
    """Return each repository's last crawl (`crawl.skip_unchanged` compares with it)."""
    rows = con.execute(sql("known/crawls")).fetchall()
    return {
        (e, n, r): LastCrawl(at, (updated, images, size), bool(ok))
        for e, n, r, at, updated, images, size, ok in rows
    }


def manifests_missing(con: duckdb.DuckDBPyConnection) -> set[Key]:
    """Return the repositories holding a current tag whose manifest the warehouse lacks."""
    return {tuple(row) for row in con.execute(sql("known/manifests_missing")).fetchall()}


def loaded_run_ids(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Return the ids of every run already in the warehouse."""
    return set(ask(con, "known/loaded_runs").column("run_id"))


def current_repositories(con: duckdb.DuckDBPyConnection) -> dict[Key, CurrentRepository]:
    """Return what each (endpoint, namespace, repository) holds now (`CurrentRepository`)."""
    rows = con.execute(sql("known/repositories")).fetchall()
    return {(e, n, r): CurrentRepository(int(tags), *rest) for e, n, r, tags, *rest in rows}


def scope_members(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], set[tuple[str, str]]]:
    """Return, per (endpoint, pattern), the repositories the pattern selected in earlier runs
    that still count as existing."""
    members: dict[tuple[str, str], set[tuple[str, str]]] = {}
    for endpoint, pattern, namespace, repository in con.execute(
        sql("known/scope_members")
    ).fetchall():
        members.setdefault((endpoint, pattern), set()).add((namespace, repository))
    return members


def tracked(
    con: duckdb.DuckDBPyConnection, writer: str | None, writer_id: str | None
) -> dict[Key, str]:
    """Return the repositories the writer with identity `writer_id` (named `writer`) tracks
    now, each with how it was selected: a run that no longer selects one records it as
    untracked."""
    params = {"writer": writer, "writer_id": writer_id}
    rows = con.execute(sql("known/tracked"), params).fetchall()
    return {(e, n, r): selected_by for e, n, r, selected_by in rows}


def lost_identities(con: duckdb.DuckDBPyConnection, writer: str, endpoints: list[str]) -> list[str]:
    """Return the identities of the writers named `writer` whose repositories lie on one of
    `endpoints`: the one a writer that lost its identity file had, if there is one."""
    if not endpoints:
        return []
    rows = con.execute(sql("known/lost_identities"), {"writer": writer, "endpoints": endpoints})
    return [row[0] for row in rows.fetchall()]


def last_writers(con: duckdb.DuckDBPyConnection) -> dict[Key, tuple[str, str]]:
    """Return, per (endpoint, namespace, repository), the writer and run that last synced it."""
    rows = con.execute(sql("known/last_writers")).fetchall()
    return {(e, n, r): (writer, run_id) for e, n, r, writer, run_id in rows}


class LatestRun(NamedTuple):
    """The latest run the warehouse holds: when it started, its id, the writer that ran it
    (its name, and its identity: None for runs written before writers had one)."""

    started_at: datetime
    run_id: str
    writer: str | None
    writer_id: str | None


def latest_run(con: duckdb.DuckDBPyConnection) -> LatestRun | None:
    """Return the latest loaded run (None before the first)."""
    rows = ask(con, "known/latest_run").rows
    return LatestRun(*rows[0]) if rows else None


def latest_start_of(
    con: duckdb.DuckDBPyConnection, writer_id: str | None, writer: str | None
) -> datetime | None:
    """Return when the latest run the warehouse holds of one writer started (by its identity,
    or by its name for runs written before writers had one; None if it holds none)."""
    params = {"writer_id": writer_id, "writer": writer}
    value = answer_one(con, "known/writers_latest_start", **params)
    return value if isinstance(value, datetime) else None


def manifest_digests(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Return the digests whose manifest is already stored."""
    return set(ask(con, "known/manifest_digests").column("digest"))


def next_seq(con: duckdb.DuckDBPyConnection) -> int:
    """Return the sequence number after the latest loaded run's."""
    return int(answer_one(con, "known/next_seq"))


def shared_names(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Return each writer name that more than one writer (machine) uses, with how many."""
    return {name: int(count) for name, count in con.execute(sql("known/shared_names")).fetchall()}


def warn_shared_names(con: duckdb.DuckDBPyConnection) -> None:
    """Say which writer names more than one writer (machine) uses: their runs are kept apart
    by identity, but people read the name."""
    for name, count in shared_names(con).items():
        log.warning(
            "%d writers write under the name %r (each keeps its identity beside its database); "
            "give each config its own output.writer so that people can tell them apart",
            count,
            name,
        )


def version_parts(con: duckdb.DuckDBPyConnection, seq: int | None = None) -> int:
    """Return in how many parts to compare run `seq` with the versions current before it
    (not those it started while it crawled)."""
    return parts_for(int(answer_one(con, "known/versions_before", seq=seq)))


def parts_for(versions: int) -> int:
    """Return in how many parts to compare listings with `versions` current versions."""
    return max(1, -(-versions // VERSIONS_PER_PART))


def set_aside_runs(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Return the runs set aside for this database, each with the reason of its last failure."""
    rows = con.execute(sql("known/set_aside"), {"loads": LOADS_BEFORE_SET_ASIDE}).fetchall()
    return {run_id: reason for run_id, reason in rows}


def set_aside_in(db_path: Path) -> dict[str, str]:
    """Return the runs set aside for the database at `db_path` (none if there is none)."""
    if not db_path.exists():
        return {}
    with connect(db_path, read_only=True) as con:
        return set_aside_runs(con)


def count_runs(db_path: Path) -> int:
    """Return how many runs the database at `db_path` holds (0 if there is none)."""
    if not db_path.exists():
        return 0
    with connect(db_path, read_only=True) as con:
        return int(answer_one(con, "known/runs"))
