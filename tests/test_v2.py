"""Every region and every Huawei-based cloud: where an endpoint offers only the v2 lists (Open
Telekom Cloud, regions without v3), `api: auto` switches to them and the data is the same."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl.config_file import load_config
from etl.fakeswr import FakeSwr, FaultPlan, Options, Registry, ServerThread, generate_registry
from etl.fakeswr.registry import repository_names
from etl.job import run_sync
from tests.configs import WriteConfig, editing
from tests.registries import expected_rows
from tests.stored import reading, stored_rows

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

SIZES = [0, 1000, 1001, 2500, 3, 17]  # tags per repository; names include '/'


def sized_registry() -> Registry:
    """Repositories of exactly SIZES tags (unique names in each), with manifests."""
    registry = generate_registry(repos=len(SIZES), tags=len(SIZES), seed=30)
    for index, ((namespace, name), count) in enumerate(
        zip(repository_names(len(SIZES)), SIZES, strict=True)
    ):
        donor = generate_registry(repos=1, tags=count, seed=40 + index, edge_sizes=False)
        registry.repositories[(namespace, name)].tags = next(iter(donor.repositories.values())).tags
        registry.manifests.update(donor.manifests)
    return registry


def query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with reading(db) as con:
        return con.execute(sql).fetchall()


def configure(path: Path, api: str | None = None, **targets: Any) -> Path:
    with editing(path) as data:
        if api is not None:
            data["endpoints"][0]["api"] = api
        if targets:
            data["endpoints"][0]["targets"] = [targets]
    return path


@pytest.fixture
def v2_only() -> Iterator[tuple[FakeSwr, Registry]]:
    registry = sized_registry()
    faults = FaultPlan(rate=0.1, seed=4, retry_after_s=0.01)
    with ServerThread(registry, options=Options(api="v2", faults=faults)) as server:
        yield server, registry


@pytest.mark.parametrize("api", ["auto", "v2"])
def test_a_v2_only_endpoint_gives_exactly_the_registry(
    write_config: WriteConfig, tmp_path: Path, v2_only: tuple[FakeSwr, Registry], api: str
) -> None:
    server, registry = v2_only
    path = configure(
        write_config(tmp_path, server, list(registry.repositories), max_attempts=10), api
    )
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0, [str(r.error) for r in outcome.results if r.error]
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(registry)
    assert query(db, "SELECT DISTINCT api FROM target_runs") == [("v2",)]
    assert outcome.run.retries > 0  # the faults were met
    assert server.state.stats.limit_without_offset == 0


def test_v2_rows_keep_deleted_and_scanned_in_the_lake_and_drop_manifests_unless_asked(
    write_config: WriteConfig, tmp_path: Path, v2_only: tuple[FakeSwr, Registry]
) -> None:
    server, registry = v2_only
    path = write_config(tmp_path, server, list(registry.repositories)[:2], max_attempts=10)
    assert run_sync(load_config(path)).exit_code == 0
    lake = tmp_path / "lake" / "tag_snapshots"
    rows = query(
        tmp_path / "swr.duckdb",
        f"SELECT DISTINCT deleted, scanned FROM read_parquet('{lake}/*/*/*.parquet')",
    )
    assert rows == [("", False)]
    assert query(tmp_path / "swr.duckdb", "SELECT count(*) FROM manifests") == [(0,)]


def test_against_both_apis_auto_stays_on_v3(write_config: WriteConfig, tmp_path: Path) -> None:
    registry = sized_registry()
    with ServerThread(registry) as server:
        path = write_config(tmp_path, server, list(registry.repositories))
        assert run_sync(load_config(path)).exit_code == 0
        assert server.state.stats.v2_requests == 0
    db = tmp_path / "swr.duckdb"
    assert query(db, "SELECT DISTINCT api FROM target_runs") == [("v3",)]
    assert stored_rows(db) == expected_rows(registry)


@pytest.mark.parametrize(
    ("pushes", "warnings"),
    [
        pytest.param([7], 0, id="changed-once-crawled-again-exact"),
        pytest.param([3, 4], 1, id="changed-twice-second-crawl-kept-and-a-warning"),
    ],
)
def test_a_repository_pushed_to_during_its_v2_crawl_ends_up_exact(
    write_config: WriteConfig, tmp_path: Path, pushes: list[int], warnings: int
) -> None:
    registry = sized_registry()
    key = ("platform", "base/nginx")  # 2500 tags: 25 pages of 100
    assert len(registry.tags(*key)) == 2500
    options = Options(api="v2", push_after_first_page={key: list(pushes)})
    with ServerThread(registry, options=options) as server:
        path = write_config(tmp_path, server, [key], page_size=100)
        outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0
    assert len(registry.tags(*key)) == 2500 + sum(pushes)
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(registry, [key])
    assert outcome.results[0].warnings == warnings


def test_switching_an_endpoint_from_v2_to_v3_changes_no_tag(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    registry = sized_registry()
    with ServerThread(registry, options=Options(api="v2")) as server:
        path = write_config(tmp_path, server, list(registry.repositories))
        assert run_sync(load_config(path)).exit_code == 0
        server.options.api = "both"  # the region gains v3
        assert run_sync(load_config(path)).exit_code == 0
    db = tmp_path / "swr.duckdb"
    assert query(db, "SELECT DISTINCT seq, api FROM target_runs ORDER BY seq") == [
        (1, "v2"),
        (2, "v3"),
    ]
    assert query(db, "SELECT count(*) FROM tag_changes") == [(0,)]
    assert query(db, "SELECT count(*) FROM tag_history") == [(sum(SIZES),)]


def test_discovery_follows_the_v2_choice(write_config: WriteConfig, tmp_path: Path) -> None:
    registry = generate_registry(repos=45, seed=8)
    with ServerThread(registry, options=Options(api="v2")) as server:
        path = configure(
            write_config(tmp_path, server, [("platform", "api")], page_size=7),
            namespace="*",
            repositories=["*"],
        )
        outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(registry)
    listed = query(db, "SELECT namespace, repository, id, num_download FROM repositories_current")
    assert sorted(listed) == sorted(
        (ns, name, None, r.num_download) for (ns, name), r in registry.repositories.items()
    )


@pytest.mark.parametrize("auth", ["token", "password", "aksk"])
def test_every_auth_mode_works_against_a_v2_only_endpoint(
    write_config: WriteConfig, tmp_path: Path, auth: str
) -> None:
    registry = generate_registry(repos=6, seed=31)
    with ServerThread(registry, options=Options(api="v2")) as server:
        path = write_config(tmp_path, server, list(registry.repositories), auth=auth)
        outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0
    assert {r.api for r in outcome.results} == {"v2"}
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(registry)
