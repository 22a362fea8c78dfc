"""The load beside a paced crawl (etl.run.early): a run whose tags were versioned while it
crawled is, once committed, the same run in the warehouse as one loaded after its crawl; a
run that does not commit leaves nothing of it; only a crawl held back by its cap does it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

import etl.run.early
import etl.store.lanes
from etl.config_file import load_config
from etl.failpoints import ENV
from etl.fakeswr import Registry, ServerThread, generate_registry, next_day
from etl.job import run_sync
from etl.results import Key
from etl.store import commits
from etl.store.early import OpenVersions
from etl.store.storage import local_store
from tests import configs
from tests.configs import WriteConfig
from tests.registries import expected_rows
from tests.stored import lake_state, query, states_by_run, stored_rows

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

# What a run leaves in the warehouse, but for its ids and clock readings.
TABLES = {
    "tag_history": "SELECT * EXCLUDE (valid_from_run, valid_from, valid_to_run, valid_to) "
    "FROM tag_history ORDER BY ALL",
    "target_runs": "SELECT seq, endpoint, namespace, repository, status, tags, total_size, "
    "unique_size, listing FROM target_runs ORDER BY ALL",
    "run_totals": "SELECT * EXCLUDE (run_id, snapshot_at) FROM run_totals ORDER BY ALL",
    "runs": "SELECT seq, status, targets, ok, not_found, failed, tags FROM runs ORDER BY ALL",
}
# Every target versioned while crawling, as soon as it completes (at the cap or not).
AT_ONCE = {"MIN_CHUNK_ROWS": 1, "AT_CAP_SHARE": 0.0, "LOOK_S": 0.0}
NEVER = {"MIN_CHUNK_ROWS": 10**12}


def loading(patch: pytest.MonkeyPatch, settings: dict[str, Any]) -> list[int]:
    """Set the loader's thresholds; return a list that counts the targets it versions."""
    for name, value in settings.items():
        patch.setattr(etl.run.early, name, value)
    patch.setattr(etl.store.lanes, "SEGMENT_S", 0.0)
    versioned: list[int] = []
    original = OpenVersions.version

    def counting(self: OpenVersions, keys: list[Key], tags: pa.Table) -> None:
        original(self, keys, tags)
        versioned.append(0 if self.failed else len(keys))

    patch.setattr(OpenVersions, "version", counting)
    return versioned


def day_of(index: int, registry: Registry) -> Registry:
    """The registry of sync `index`: a tenth of the tags change each time, the first
    repository is deleted after the first sync, and from the fifth sync on most tags are gone."""
    day = registry
    gone = sorted(registry.repositories)[0]
    for _ in range(index):
        day = next_day(day, churn=0.1)
        day.repositories.pop(gone, None)
    if index >= 4:
        for key, repository in list(day.repositories.items())[1:]:
            day.repositories[key] = replace(repository, tags=repository.tags[:1])
    return day


def history(folder: Path, patch: pytest.MonkeyPatch) -> dict[str, list[tuple[Any, ...]]]:
    """Six syncs of one registry into `folder`: changes, a deleted repository, a failing one,
    a narrowed scope, a mass removal refused and then accepted; return the warehouse."""
    registry = generate_registry(repos=12, seed=11)
    repositories = sorted(registry.repositories)
    failing = repositories[2]
    with ServerThread(registry) as server:
        path = configs.write_config(
            folder, server, repositories, env=patch, page_size=20, requests_per_second=300
        )
        for index in range(6):
            server.options.broken_repositories = {failing} if index == 2 else set()
            server.serve(day_of(index, registry))
            whole = path.read_text()
            if index == 3:  # three repositories leave the scope for one run
                narrowed = yaml.safe_load(whole)
                narrowed["endpoints"][0]["targets"] = [
                    {"namespace": ns, "repositories": [repo]} for ns, repo in repositories[3:]
                ]
                path.write_text(yaml.safe_dump(narrowed))
            run_sync(load_config(path), accept_removals=index == 5)
            path.write_text(whole)
    db = folder / "swr.duckdb"
    return {table: query(db, text) for table, text in TABLES.items()}


def test_a_history_versioned_while_crawling_equals_one_loaded_after_each_crawl(
    tmp_path: Path,
) -> None:
    (tmp_path / "after").mkdir()
    (tmp_path / "while").mkdir()
    with pytest.MonkeyPatch.context() as patch:
        loading(patch, NEVER)
        after = history(tmp_path / "after", patch)
    with pytest.MonkeyPatch.context() as patch:
        versioned = loading(patch, AT_ONCE)
        during = history(tmp_path / "while", patch)
    assert sum(versioned) >= 10  # the load beside the crawl versioned targets of the runs
    statuses = {status for _, status, *_ in after["runs"]}
    assert statuses == {"ok", "partial", "failed"}  # the refused mass removal failed its run
    for table in TABLES:
        assert during[table] == after[table], table
    # The lake, written while crawling, reads as the warehouse at every run (the documented query).
    for run_id, state in states_by_run(tmp_path / "while" / "swr.duckdb").items():
        assert lake_state(tmp_path / "while" / "lake", run_id) == state, run_id


@pytest.mark.slow  # a whole `swr-etl sync` process, killed after versioning
def test_a_sync_killed_after_versioning_while_crawling_leaves_the_database_as_it_was(
    write_config: WriteConfig, tmp_path: Path, small_registry: Registry
) -> None:
    repositories = list(small_registry.repositories)[:8]
    with ServerThread(small_registry) as server:
        path = write_config(tmp_path, server, repositories, page_size=20)
        assert run_sync(load_config(path)).exit_code == 0
        db = tmp_path / "swr.duckdb"
        before = {table: query(db, text) for table, text in TABLES.items()}
        tomorrow = next_day(small_registry, churn=0.1)
        server.serve(tomorrow)
        killed = sync_in_process_with(path, AT_ONCE, failpoint="lake-written")
        assert killed.returncode == -9, killed.stderr
        assert {table: query(db, text) for table, text in TABLES.items()} == before
        assert len(commits.listed_runs(local_store(tmp_path / "lake"))) == 1
        again = run_sync(load_config(path))
        assert again.exit_code == 0, [(r.status, r.error) for r in again.results]
    assert stored_rows(db) == expected_rows(tomorrow, repositories)


def sync_in_process_with(
    config: Path, settings: dict[str, Any], failpoint: str
) -> subprocess.CompletedProcess[str]:
    """Run `swr-etl sync` in a process of its own with the loader's thresholds `settings`,
    killed at `failpoint`."""
    code = (
        "import sys, etl.run.early as loader, etl.store.lanes as lanes\n"
        f"for name, value in {settings!r}.items(): setattr(loader, name, value)\n"
        "lanes.SEGMENT_S = 0.0\n"
        "from etl.cli import main\n"
        f"sys.argv = ['swr-etl', 'sync', '-c', {str(config)!r}, '--no-progress']\n"
        "main()\n"
    )
    env = {**os.environ, ENV: failpoint}
    return subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def paged(small_registry: Registry) -> Iterator[ServerThread]:
    with ServerThread(small_registry) as server:
        yield server


@pytest.mark.parametrize(
    ("requests_per_second", "early"),
    [
        pytest.param(60, True, id="held-back-by-its-cap-versions-while-crawling"),
        pytest.param(100_000, False, id="unthrottled-leaves-it-to-the-load"),
    ],
)
def test_only_a_crawl_held_back_by_its_cap_versions_while_it_crawls(
    write_config: WriteConfig,
    tmp_path: Path,
    paged: ServerThread,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    requests_per_second: int,
    early: bool,
) -> None:
    versioned = loading(monkeypatch, {"MIN_CHUNK_ROWS": 1})
    repositories = list(small_registry.repositories)[:10]
    path = write_config(
        tmp_path, paged, repositories, page_size=20, requests_per_second=requests_per_second
    )
    assert run_sync(load_config(path)).exit_code == 0
    assert (sum(versioned) > 0) is early
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry, repositories)
