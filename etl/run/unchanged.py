"""`crawl.skip_unchanged`: the repositories a run need not crawl, because SWR's own repository
list says they did not change. A repository is carried forward — its tags as they were, counted
as synced, recorded in `target_runs.carried` and stored in the lake as no changes — only when
nothing is in doubt:

- its organization's list was read this run and gives all of `updated_at`, `num_images` and
  `size`, each equal to what the list said when the repository was last crawled whole;
- that crawl finished within `crawl.full_crawl_every` before this run started, by this
  machine's clock (one that reads after this run's start, a clock that jumped back, is in
  doubt), and every sync of it since was ok (none failed, found it gone or left it out of the
  scope). So the first run that starts `full_crawl_every` after a whole crawl crawls it whole
  again: whole crawls are at most `full_crawl_every` plus one run's interval apart;
- the run would store it as changes anyway (stored whole this period, under the same tag
  filter, by this writer, against a warehouse that holds the lake's runs: `listings`);
- with `crawl.with_manifest`, the warehouse holds the manifest of each of its tags.

A literal target whose organization's list was not read (no pattern asked for it) is crawled.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import duckdb

from etl.config import CrawlConfig
from etl.results import Key, Target, TargetResult
from etl.run.discovery import Discovery, Listing
from etl.store import known
from etl.store.known import CurrentRepository, LastCrawl

ENTRY_FIELDS = ("updated_at", "num_images", "size")


@dataclass(frozen=True)
class Known:
    """What the warehouse says of the repositories before the run: their current tags, their
    last crawls, those missing a manifest (None: manifests are not wanted)."""

    current: dict[Key, CurrentRepository]
    crawls: dict[Key, LastCrawl]
    missing_manifests: set[Key] | None


def list_entries(listings: list[Listing]) -> dict[Key, tuple[Any, Any, Any]]:
    """Return each listed repository's entry (`updated_at`, `num_images`, `size`), from the
    repository lists this run read whole."""
    entries = {}
    for listing in listings:
        if listing.columns is None or listing.error is not None:
            continue
        columns = [listing.columns.column(name).to_pylist() for name in ENTRY_FIELDS]
        for name, *entry in zip(listing.columns.column("name").to_pylist(), *columns, strict=True):
            entries[(listing.endpoint, listing.namespace, name)] = tuple(entry)
    return entries


def carried_forward(
    targets: list[Target],
    entries: dict[Key, tuple[Any, Any, Any]],
    known: Known,
    as_changes: frozenset[Key],
    window: CrawlWindow,
) -> tuple[list[Target], list[TargetResult]]:
    """Split `targets` into those to crawl and those carried forward unchanged (crawled whole
    within `window`, their list entry as it was then, stored as changes anyway: `as_changes`)."""
    to_crawl: list[Target] = []
    carried: list[TargetResult] = []
    for target in targets:
        key = target.key
        if key in as_changes and unchanged(key, entries, known, window):
            tags = known.current[key].tags
            carried.append(TargetResult(target, tags=tags, carried=True))
        else:
            to_crawl.append(target)
    return to_crawl, carried


def unchanged(
    key: Key, entries: dict[Key, tuple[Any, Any, Any]], known: Known, window: CrawlWindow
) -> bool:
    """Return True if nothing casts doubt on the repository being as its last crawl left it."""
    entry, crawl = entries.get(key), known.crawls.get(key)
    if entry is None or crawl is None or any(value is None for value in entry):
        return False
    if not crawl.latest_ok or crawl.crawled_at is None or not window.holds(crawl.crawled_at):
        return False
    if known.missing_manifests is not None and key in known.missing_manifests:
        return False
    return entry == crawl.entry and key in known.current


@dataclass(frozen=True)
class CrawlWindow:
    """When a repository's last whole crawl must have finished for it to be carried: within
    `full_crawl_every` before this run's start, and not after it (a clock that jumped back)."""

    start: datetime
    end: datetime

    def holds(self, moment: datetime) -> bool:
        """Return True if `moment` lies within the window."""
        return self.start <= moment <= self.end


def crawl_window(now: datetime, every_s: float) -> CrawlWindow:
    """Return the window of a run starting `now` under `full_crawl_every` = `every_s`."""
    return CrawlWindow(now - timedelta(seconds=every_s), now)


def carry_unchanged(
    con: duckdb.DuckDBPyConnection,
    current: dict[Key, CurrentRepository],
    now: datetime,
    crawl: CrawlConfig,
    found: Discovery,
    as_changes: frozenset[Key],
) -> tuple[list[Target], list[TargetResult]]:
    """Return the targets to crawl, and (with `crawl.skip_unchanged`) those carried forward
    unchanged as their repository list says, asking the warehouse over `con` (a connection
    outside the run's transaction) when each was last crawled."""
    if not crawl.skip_unchanged:
        return found.targets, []
    missing = known.manifests_missing(con) if crawl.with_manifest else None
    facts = Known(current, known.last_crawls(con), missing)
    window = crawl_window(now, crawl.full_crawl_every)
    return carried_forward(found.targets, list_entries(found.listings), facts, as_changes, window)
