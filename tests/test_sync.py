"""A sync over loopback: exact snapshots, failures that keep history, atomic runs, rebuild."""

from __future__ import annotations

import copy
import os
import time
from pathlib import Path

import pytest

from etl.config_file import load_config
from etl.fakeswr import (
    FakeSwr,
    FaultPlan,
    Options,
    Registry,
    ServerThread,
    generate_registry,
    next_day,
)
from etl.fakeswr.days import repush_everything
from etl.job import run_sync
from etl.run.lock import OutputLock
from etl.store import commits, known, loading, queries, warehouse
from etl.store.storage import local_store
from etl.swr import pages
from tests.commands import invoke, sync
from tests.configs import Discovering, WriteConfig, editing
from tests.registries import expected_rows
from tests.stored import COLUMNS, reading, stored_rows, table_rows

EVERYTHING = [{"namespace": "*", "repositories": ["*"]}]

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")


@pytest.mark.parametrize("auth", ["token", "password", "aksk"])
def test_a_sync_stores_exactly_the_registry(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry, auth: str
) -> None:
    config = load_config(write_config(tmp_path, served, list(small_registry.repositories), auth))
    outcome = run_sync(config)
    assert outcome.exit_code == 0
    assert stored_rows(config.output.duckdb) == expected_rows(small_registry)
    assert outcome.run.tags == small_registry.tag_count()


@pytest.mark.parametrize(
    "arrow_min_bytes",
    [pytest.param(0, id="every-page-read-by-arrow"), pytest.param(2**40, id="every-page-as-json")],
)
def test_either_page_reader_stores_exactly_the_registry(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    arrow_min_bytes: int,
) -> None:
    monkeypatch.setattr(pages, "ARROW_MIN_BYTES", arrow_min_bytes)
    config = load_config(write_config(tmp_path, served, list(small_registry.repositories)))
    outcome = run_sync(config)
    assert outcome.exit_code == 0
    assert stored_rows(config.output.duckdb) == expected_rows(small_registry)


@pytest.mark.parametrize(
    "fake_options", [Options(faults=FaultPlan(rate=0.2, seed=5, slow_s=0.8, retry_after_s=0.01))]
)
def test_a_faulty_crawl_still_stores_exactly_the_registry(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(
        tmp_path, served, list(small_registry.repositories), "password", timeout_s=0.4, page_size=20
    )
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0
    assert outcome.run.retries > 0
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)


def test_a_failed_target_keeps_its_previous_snapshot(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    keys = list(small_registry.repositories)
    broken = max(keys, key=lambda k: len(small_registry.tags(*k)))
    config = load_config(write_config(tmp_path, served, keys, max_attempts=2))
    first = run_sync(config)
    tomorrow = next_day(small_registry)
    served.serve(tomorrow)
    served.options.broken_repositories.add(broken)
    second = run_sync(config)
    assert second.exit_code == 1
    failed = [r for r in second.results if r.status == "failed"]
    assert [(r.target.namespace, r.target.repository) for r in failed] == [broken]
    others = [k for k in keys if k != broken]
    where = f"WHERE NOT (namespace = '{broken[0]}' AND repository = '{broken[1]}')"
    assert stored_rows(config.output.duckdb, where) == expected_rows(tomorrow, others)
    kept = f"WHERE namespace = '{broken[0]}' AND repository = '{broken[1]}'"
    assert stored_rows(config.output.duckdb, kept) == expected_rows(small_registry, [broken])
    with reading(config.output.duckdb) as con:
        as_of = con.execute(f"SELECT DISTINCT as_of_run FROM tags_current {kept}").fetchall()
        error = con.execute(
            "SELECT status, http_status, error_code, request_id FROM target_runs "
            f"WHERE run_id = '{second.run_id}' AND namespace = '{broken[0]}' AND repository = '{broken[1]}'"
        ).fetchall()
    assert as_of == [(first.run_id,)]
    assert error[0][:3] == ("failed", 500, "SVCSTG.SWR.5000001") and error[0][3]


def test_a_missing_repository_is_not_found_and_the_rest_is_synced(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    keys = list(small_registry.repositories)[:4]
    config = load_config(write_config(tmp_path, served, keys))
    assert run_sync(config).exit_code == 0
    later = Registry(
        small_registry.seed,
        small_registry.day,
        {k: r for k, r in small_registry.repositories.items() if k != keys[-1]},
        small_registry.manifests,
        small_registry.next_id,
    )
    served.serve(later)  # a repository that synced before is deleted
    outcome = run_sync(config)
    assert {r.status for r in outcome.results} == {"ok", "not_found"}
    assert outcome.exit_code == 0
    assert stored_rows(config.output.duckdb) == expected_rows(small_registry, keys[:-1])


def test_loading_a_run_twice_adds_nothing(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    config = load_config(write_config(tmp_path, served, list(small_registry.repositories)))
    outcome = run_sync(config)
    before = table_rows(config.output.duckdb)
    ((date, run_id),) = commits.listed_runs(local_store(config.output.lake))
    assert run_id == outcome.run_id
    with warehouse.connect(config.output.duckdb) as con:
        assert (
            loading.load_run(
                con, commits.read_commit(local_store(config.output.lake), date, run_id)
            )
            is False
        )
        assert loading.catch_up(con, local_store(config.output.lake)) == []
    assert table_rows(config.output.duckdb) == before


def test_a_load_duckdb_refuses_fails_in_one_line_and_the_next_sync_catches_up(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    read_sql = queries.sql
    with monkeypatch.context() as patched:
        broken = "INSERT INTO tag_history SELECT * FROM no_such_table"
        patched.setattr(
            queries,
            "sql",
            lambda name: broken if name == "versions/apply" else read_sql(name),
        )
        result = sync(path)
    assert result.exit_code == 4, result.output
    error = result.output.strip().splitlines()[-1]
    assert error.startswith("error: DuckDB could not load run ")
    assert "(versions/apply)" in error and "no_such_table" in error
    assert "Traceback" not in result.output
    assert table_rows(tmp_path / "swr.duckdb")["runs"] == []  # nothing half-loaded
    assert len(commits.listed_runs(local_store(tmp_path / "lake"))) == 1

    second = run_sync(load_config(path))
    assert len(second.caught_up) == 1
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)


def test_rebuild_recreates_identical_tables(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    config_path = write_config(
        tmp_path, served, list(small_registry.repositories), with_manifest=True
    )
    config = load_config(config_path)
    registry = small_registry
    for _ in range(3):
        run_sync(config)
        registry = next_day(registry)
        served.serve(registry)
    before = table_rows(config.output.duckdb)
    result = invoke("rebuild", "-c", str(config_path))
    assert result.exit_code == 0, result.output
    assert "from 3 committed run(s)" in result.output
    assert table_rows(config.output.duckdb) == before
    assert len(before["manifests"]) > 0


@pytest.mark.parametrize(
    "versions_per_part",
    [
        pytest.param(known.VERSIONS_PER_PART, id="one-part"),
        # 13 parts of 30 repositories (7 made 172, mostly empty, at 25 ms each)
        pytest.param(97, id="compared-in-many-parts"),
    ],
)
def test_snapshots_of_every_run_are_reconstructed(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    versions_per_part: int,
) -> None:
    monkeypatch.setattr(known, "VERSIONS_PER_PART", versions_per_part)
    config = load_config(write_config(tmp_path, served, list(small_registry.repositories)))
    first = run_sync(config)
    tomorrow = next_day(small_registry)
    served.serve(tomorrow)
    second = run_sync(config)
    with reading(config.output.duckdb, utc=True) as con:
        for outcome, registry in ((first, small_registry), (second, tomorrow)):
            rows = con.execute(
                f"SELECT {COLUMNS} FROM tag_snapshots WHERE run_id = $r", {"r": outcome.run_id}
            ).fetchall()
            assert sorted(rows) == expected_rows(registry, list(small_registry.repositories))
        versions = con.execute("SELECT count(*) FROM tag_history").fetchall()[0][0]
    assert versions < small_registry.tag_count() * 1.2  # history grows with changes only


@pytest.mark.slow
def test_a_run_in_which_every_tag_changed_commits_and_loads_within_duckdbs_memory(
    discovering: Discovering, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The 1,000,000-tag mass re-push at 128 MB, scaled down (80 MB, half the part: DuckDB's
    # buffers of a row group set a floor below which any load fails). Before the comparison
    # joined on key fingerprints and ended versions by delete and insert, this ran out of
    # DuckDB's memory, computing the lake's changes or in the load.
    monkeypatch.setattr(warehouse, "MEMORY_LIMIT_MB", 80)
    monkeypatch.setattr(known, "VERSIONS_PER_PART", known.VERSIONS_PER_PART // 2)
    registry = generate_registry(repos=100, tags=100_000, seed=3, manifests=False)
    with ServerThread(copy.deepcopy(registry)) as server:
        # Uncapped, so nothing is loaded beside the crawl: the comparison and the load do it all.
        path = discovering(tmp_path, server, EVERYTHING, requests_per_second=100_000)
        config = load_config(path)
        assert run_sync(config).exit_code == 0
        repushed = repush_everything(registry)
        server.serve(repushed)
        outcome = run_sync(config)
    assert outcome.exit_code == 0
    assert stored_rows(config.output.duckdb) == expected_rows(repushed)
    with reading(config.output.duckdb) as con:
        closed = con.execute("SELECT count(*) FROM tag_history WHERE valid_to_seq = 2").fetchall()
    assert closed == [(registry.tag_count(),)]


def test_an_overlapping_sync_exits_75_at_once(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:2])
    with OutputLock(tmp_path / "swr.duckdb.lock"):
        began = time.monotonic()
        result = invoke("sync", "-c", str(path))
    assert result.exit_code == 75
    assert "another sync holds" in result.output and f"pid {os.getpid()}" in result.output
    assert time.monotonic() - began < 5
    assert served.state.stats.requests == 0


@pytest.mark.parametrize(
    ("broken", "code"),
    [pytest.param(1, 1, id="some-failed-exit-1"), pytest.param(99, 3, id="all-failed-exit-3")],
)
def test_exit_codes(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    broken: int,
    code: int,
) -> None:
    keys = list(small_registry.repositories)[:3]
    served.options.broken_repositories.update(keys[:broken])
    path = write_config(tmp_path, served, keys, max_attempts=1)
    result = sync(path)
    assert result.exit_code == code, result.output
    assert "failed" in result.output


def test_sync_logs_json_lines(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:2])
    result = invoke("sync", "-c", str(path), "--log-format", "json")
    assert result.exit_code == 0, result.output
    assert '"status":"ok"' in result.output and '"target":"local:' in result.output


def test_a_readonly_copy_for_dashboards_is_refreshed_after_each_run(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    with editing(path) as data:
        data["output"]["readonly_copy"] = "./dashboard/swr.duckdb"
    copy = tmp_path / "dashboard" / "swr.duckdb"
    run_sync(load_config(path))
    with reading(copy) as reader:
        # A dashboard holds the copy open while the next sync writes the main file.
        served.serve(next_day(small_registry))
        second = run_sync(load_config(path))
        assert reader.execute("SELECT count(*) FROM runs").fetchall() == [(1,)]
    with reading(copy) as reader:
        assert reader.execute("SELECT max(run_id) FROM runs").fetchall() == [(second.run_id,)]
