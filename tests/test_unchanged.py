"""`crawl.skip_unchanged` (etl.run.unchanged): a repository whose repository-list entry is what it
was at its last crawl is carried forward, not crawled — and after every run, over hours of adds,
re-pushes, moves and deletes, a deleted and a re-created repository and a failed list, the
warehouse and the lake's state are the registry, and `rebuild` equals the database."""

from __future__ import annotations

import copy
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import etl.run.start
from etl.config_file import load_config
from etl.fakeswr import FakeSwr, Registry, ServerThread, generate_registry
from etl.fakeswr.registry import format_time
from etl.job import run_sync
from etl.results import SyncOutcome
from tests.commands import invoke
from tests.configs import Discovering, editing
from tests.registries import expected_rows
from tests.stored import lake_state, query, states_by_run, stored_rows

# A failed list is about what the next run crawls, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

REGISTRY = generate_registry(repos=24, seed=13)
EVERYTHING = [{"namespace": "*", "repositories": ["*"]}]


@pytest.fixture
def server() -> Iterator[FakeSwr]:
    with ServerThread(copy.deepcopy(REGISTRY)) as running:
        yield running


def skipping(discovering: Discovering, tmp_path: Path, server: FakeSwr, every: str = "1h") -> Path:
    path = discovering(tmp_path, server, EVERYTHING)
    with editing(path) as data:
        data["crawl"].update(skip_unchanged=True, full_crawl_every=every)
    return path


def sync(path: Path, server: FakeSwr) -> tuple[SyncOutcome, int]:
    """Sync; return the outcome and the requests it sent."""
    before = server.state.stats.requests
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0, outcome.list_failures
    return outcome, server.state.stats.requests - before


def an_hour(registry: Registry, hour: int, touched: list[tuple[str, str]]) -> Registry:
    """The registry an hour later: in each touched repository a tag re-pushed, one moved to
    another image, one deleted and one added; every other repository as it was."""
    later = copy.deepcopy(registry)
    stamp = format_time(registry.now.replace(hour=hour), 3)
    for key in touched:
        repo = later.repositories[key]
        first, second, *rest = repo.tags
        other = next(t for t in rest if t.digest != first.digest) if rest else first
        repushed = replace(first, updated=stamp)
        moved = replace(second, digest=other.digest, size=other.size, updated=stamp)
        added = replace(first, tag=f"hour-{hour}", id=first.id + 10_000_000, updated=stamp)
        repo.tags = [repushed, moved, *rest[:-1], added] if rest else [repushed, moved, added]
    return later


def exact(tmp_path: Path, registry: Registry) -> None:
    """The warehouse, the lake's state after every run and `rebuild` agree with `registry`."""
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(registry)
    for run_id, state in states_by_run(db).items():
        assert lake_state(tmp_path / "lake", run_id) == state, run_id
    before = query(db, "SELECT * FROM tag_history ORDER BY ALL")
    assert invoke("rebuild", "-c", str(tmp_path / "config.yaml")).exit_code == 0
    assert query(db, "SELECT * FROM tag_history ORDER BY ALL") == before


def carried(db: Path, seq: int) -> int:
    return int(
        query(db, "SELECT count(*) FROM target_runs WHERE seq = $s AND carried", s=seq)[0][0]
    )


def test_an_unchanged_hour_sends_only_the_lists_and_carries_every_repository(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = skipping(discovering, tmp_path, server)
    _, crawl_requests = sync(path, server)
    hour, hour_requests = sync(path, server)
    db = tmp_path / "swr.duckdb"
    repositories = len(REGISTRY.repositories)
    assert carried(db, 1) == 0 and carried(db, 2) == repositories
    assert sum(r.stats.requests for r in hour.results) == 0  # no tag list: the lists alone
    assert hour_requests <= hour.run.requests + 1  # and the one probe of the endpoint's API
    assert hour_requests < crawl_requests / 5
    assert query(db, "SELECT DISTINCT listing, status FROM target_runs WHERE seq = 2") == [
        ("delta", "ok")
    ]
    exact(tmp_path, REGISTRY)


def test_hours_of_changes_stay_exact_and_crawl_only_what_changed(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = skipping(discovering, tmp_path, server)
    sync(path, server)
    registry = REGISTRY
    keys = sorted(registry.repositories)
    gone = keys[0]
    others = [k for k in keys[1:] if len(registry.repositories[k].tags) >= 3]
    for hour, touched in enumerate([others[0:3], others[3:6], others[6:9]], start=1):
        registry = an_hour(registry, hour, touched)
        if hour == 2:
            registry.repositories.pop(gone)  # deleted: its tag list answers not found
        if hour == 3:
            registry.repositories[gone] = copy.deepcopy(REGISTRY.repositories[gone])  # back
        server.serve(copy.deepcopy(registry))
        outcome, _ = sync(path, server)
        crawled = {r.target.key for r in outcome.results if not r.carried}
        expected = {("local", ns, name) for ns, name in touched}
        assert expected <= crawled, hour
        assert len(crawled) <= len(expected) + 1, hour  # at most the deleted or re-created one
        exact(tmp_path, registry)


def test_a_failed_list_or_a_failed_sync_makes_its_repositories_crawled_again(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = skipping(discovering, tmp_path, server)
    sync(path, server)
    namespace = sorted({ns for ns, _ in REGISTRY.repositories})[0]
    server.options.broken_lists = {namespace}
    outcome = run_sync(load_config(path))  # that organization's repositories fail
    assert outcome.exit_code == 1
    server.options.broken_lists = set()
    later = an_hour(REGISTRY, 1, [])
    server.serve(copy.deepcopy(later))
    outcome, _ = sync(path, server)
    crawled = {r.target.key[1] for r in outcome.results if not r.carried}
    assert crawled == {namespace}
    exact(tmp_path, later)


def test_each_repository_is_crawled_whole_at_least_every_full_crawl_every(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = skipping(discovering, tmp_path, server, every="1s")
    sync(path, server)
    time.sleep(1.2)
    outcome, _ = sync(path, server)
    assert not [r for r in outcome.results if r.carried]
    exact(tmp_path, REGISTRY)


class Ahead(datetime):
    """The wall clock ten minutes fast."""

    @classmethod
    def now(cls, tz: Any = None) -> Ahead:  # type: ignore[override]
        return super().now(tz) + timedelta(minutes=10)


def test_a_clock_that_jumped_back_crawls_every_repository_whole(
    discovering: Discovering, tmp_path: Path, server: FakeSwr, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = skipping(discovering, tmp_path, server, every="5m")
    with editing(path) as data:  # whole listings a week apart: the jump stays within one
        data["output"]["full_listing_every"] = "7d"
    sync(path, server)
    with monkeypatch.context() as ahead:
        ahead.setattr(etl.run.start, "datetime", Ahead)
        outcome, _ = sync(path, server)  # 10 minutes on: a whole crawl, finished "then"
    assert not [r for r in outcome.results if r.carried]
    outcome, _ = sync(path, server)  # the clock is back: when it last crawled is in doubt
    assert not [r for r in outcome.results if r.carried]
    outcome, _ = sync(path, server)
    assert len([r for r in outcome.results if r.carried]) == len(REGISTRY.repositories)
    exact(tmp_path, REGISTRY)


def test_a_literal_target_whose_list_was_not_read_is_crawled(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    namespace, name = sorted(REGISTRY.repositories)[0]
    path = discovering(tmp_path, server, [{"namespace": namespace, "repositories": [name]}])
    with editing(path) as data:
        data["crawl"]["skip_unchanged"] = True
    for _ in range(2):
        outcome, _ = sync(path, server)
        assert [r.carried for r in outcome.results] == [False]


def test_plan_says_how_many_repositories_the_next_run_would_carry(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = skipping(discovering, tmp_path, server)
    sync(path, server)
    touched = [k for k in sorted(REGISTRY.repositories) if len(REGISTRY.repositories[k].tags) >= 3]
    server.serve(copy.deepcopy(an_hour(REGISTRY, 1, touched[:2])))
    planned = invoke("plan", "-c", str(path))
    assert planned.exit_code == 0, planned.output
    total = len(REGISTRY.repositories)
    assert f"skip_unchanged: {total - 2} of {total} repositories would be carried" in planned.output
    outcome, _ = sync(path, server)
    assert sum(r.carried for r in outcome.results) == total - 2


def test_plan_counts_a_repository_whose_manifests_are_wanted_and_missing_as_crawled(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = skipping(discovering, tmp_path, server)
    sync(path, server)
    with editing(path) as data:
        data["crawl"]["with_manifest"] = True
    planned = invoke("plan", "-c", str(path))
    assert planned.exit_code == 0, planned.output
    outcome, _ = sync(path, server)
    carried_now = sum(r.carried for r in outcome.results)
    total = len(REGISTRY.repositories)
    assert carried_now < total
    assert f"skip_unchanged: {carried_now} of {total} repositories would be carried" in (
        planned.output
    )
