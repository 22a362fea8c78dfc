"""How a run stores each repository's tags in the lake: whole (`tag_snapshots`), or as what
changed since the warehouse's current versions (`tag_deltas`). A repository is stored whole at
least once per `output.full_listing_every` (counted in UTC from the epoch: with `1d`, by the
first run of each UTC day that syncs it), so that a reader of the lake never replays more than
that; and whenever the warehouse's state of it may not be the lake's (a run set aside, or a
run the lake no longer holds: every repository is then stored whole; another writer synced it
last: that one).

The period is judged by real time: this machine's clock now against when the run that last
listed it whole finished, by the clock of the machine that ran it (`runs.finished_at`) — never
by run starts, which follow the latest run in the lake (another writer's clock running ahead
would otherwise put every run in one period). A listing that finished after "now" (a clock
that ran ahead, or this one jumped back) is not trusted: the repository is stored whole."""

from __future__ import annotations

import math
from datetime import datetime

from etl.results import Key, TargetResult
from etl.status import TargetStatus
from etl.store.known import CurrentRepository


def period_start(moment: datetime, every_s: float) -> float:
    """Return the start (epoch seconds) of the period of `every_s` seconds holding `moment`."""
    return math.floor(moment.timestamp() / every_s) * every_s


def delta_targets(
    results: list[TargetResult],
    current: dict[Key, CurrentRepository],
    now: datetime,
    every_s: float,
    exact: bool = True,
    writer_id: str | None = None,
) -> frozenset[Key]:
    """Return the repositories of `results` that the run stores as changes: synced `ok`, under
    the tag filter they were held with, stored whole within the period holding `now` (this
    machine's clock) and not after it, and last synced by this writer (`writer_id`: another
    writer's changes of it may not be the lake's, if their runs overlapped). None when
    `every_s` is 0 (every run whole) or the warehouse is not `exact` (a run set aside)."""
    if every_s <= 0 or not exact:
        return frozenset()
    since = period_start(now, every_s)
    chosen = set()
    for result in results:
        target = result.target
        key = target.key
        held = current.get(key)
        if (
            result.status == TargetStatus.OK
            and held is not None
            and held.tag_filter == target.tag
            and held.listed_at is not None
            and since <= held.listed_at.timestamp() <= now.timestamp()
            and held.written_by in (None, writer_id)
        ):
            chosen.add(key)
    return frozenset(chosen)
