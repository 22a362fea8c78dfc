"""The warehouse applies committed runs in the lake's order (`commits.Commit.order`), so that a
database, a `rebuild` and the lake's state query agree whatever the order runs arrive in.

Runs arrive out of order when writers share a lake: a run of another writer that started
before this database's latest run may commit after it. The catch-up then takes back the runs
loaded after the late one — as if they had never been loaded; the lake keeps them — and loads
them again after it, in the lake's order.
"""

from __future__ import annotations

import logging

import duckdb

from etl.store.commits import Commit, commits_in_order
from etl.store.queries import named_params, run_script, sql
from etl.store.storage import LakeStore

log = logging.getLogger("etl.store.ordering")


def runs_to_take_back(
    con: duckdb.DuckDBPyConnection,
    store: LakeStore,
    listed: list[tuple[str, str]],
    earliest: Commit,
) -> tuple[int | None, list[tuple[str, str]]]:
    """Return from which sequence number the database must take its runs back for `earliest`
    (the first missing run, in the lake's order) to load in its place, and those runs as
    (snapshot_date, run_id); (None, []) when it sorts after every loaded run, or when a run to
    take back is not in the lake (it could not be loaded again: the runs are then loaded as
    they come, and the next whole listings set the repositories right)."""
    dates = {run_id: date for date, run_id in listed}
    text = sql("load/loaded_since")
    loaded = con.execute(text, named_params(text, {"started": earliest.started_at})).fetchall()
    in_lake = [(dates[run_id], run_id) for run_id, _ in loaded if run_id in dates]
    later = {c.run_id for c in commits_in_order(store, in_lake) if c.order > earliest.order}
    first = min((seq for run_id, seq in loaded if run_id in later), default=None)
    if first is None:
        return None, []
    taken = [run_id for run_id, seq in loaded if seq >= first]
    if any(run_id not in dates for run_id in taken):
        log.warning(
            "run %s sorts before runs this database loaded that the lake no longer holds: it "
            "is loaded after them",
            earliest.run_id,
        )
        return None, []
    return int(first), [(dates[run_id], run_id) for run_id in taken]


def take_back(con: duckdb.DuckDBPyConnection, seq: int, late: str) -> None:
    """Undo, in one transaction, every run loaded at sequence number `seq` or later, so that
    run `late` loads before them."""
    con.execute("BEGIN TRANSACTION")
    try:
        run_script(con, "load/take_back", seq=seq)
        con.execute("COMMIT")
    except BaseException:
        con.execute("ROLLBACK")
        raise
    log.info(
        "run %s of the lake sorts before runs loaded from sequence number %d on: they are "
        "loaded again after it, in the lake's order",
        late,
        seq,
    )
