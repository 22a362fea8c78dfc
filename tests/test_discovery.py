"""Discovery: patterns resolved through SWR's organization and repository lists, exactly;
complete or counting for nothing; repositories that vanish close, new ones are crawled at once;
repository metadata and pull activity computed from what the lists showed."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

import etl.run.start
from etl.config_file import load_config
from etl.fakeswr import FakeSwr, Registry, ServerThread, generate_registry, next_day
from etl.job import run_sync
from tests import configs
from tests.commands import invoke, sync
from tests.configs import Discovering, editing
from tests.registries import expected_rows, parse_time
from tests.stored import query, stored_rows

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

REGISTRY = generate_registry(repos=60, seed=11)  # three organizations of twenty


EVERYTHING = [{"namespace": "*", "repositories": ["*"]}]


@pytest.fixture
def server() -> Iterator[FakeSwr]:
    with ServerThread(REGISTRY) as running:
        yield running


def test_every_organization_and_repository_is_found_over_several_pages(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = discovering(tmp_path, server, EVERYTHING, page_size=7)  # 3 pages per organization
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(REGISTRY)
    assert query(db, "SELECT DISTINCT selected_by FROM target_runs") == [("*/*",)]
    listed = query(
        db,
        "SELECT namespace, repository, id, category, description, size, is_public, num_images, "
        "num_download, created_at, updated_at, domain_name, status FROM repositories_current",
    )
    expected = [
        (
            ns,
            name,
            r.repo_id,
            r.category,
            r.description,
            r.size(),
            r.is_public,
            len(r.tags),
            r.num_download,
            parse_time(r.created_at),
            parse_time(r.updated_at()),
            "acme",
            True,
        )
        for (ns, name), r in REGISTRY.repositories.items()
    ]
    assert sorted(listed) == sorted(expected)


def selected(targets: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[str, str | None]]:
    """What the targets select, by the rules docs/configuration.md states, computed without the tool:
    the first target matching a repository wins (its pattern and tag filter)."""
    chosen: dict[tuple[str, str], tuple[str, str | None]] = {}
    for spec in targets:
        for ns, repo in REGISTRY.repositories:
            for pattern in spec["repositories"]:
                literal = not any(c in spec["namespace"] + pattern for c in "*?[")
                if not (fnmatchcase(ns, spec["namespace"]) and fnmatchcase(repo, pattern)):
                    continue
                if any(fnmatchcase(f"{ns}/{repo}", x) for x in spec.get("exclude", [])):
                    continue
                scope = "literal" if literal else f"{spec['namespace']}/{pattern}"
                chosen.setdefault((ns, repo), (scope, spec.get("tag")))
    return chosen


@pytest.mark.parametrize(
    "targets",
    [
        pytest.param([{"namespace": "platform", "repositories": ["*"]}], id="one-organization"),
        pytest.param(
            [{"namespace": "*", "repositories": ["base/*", "web*"], "exclude": ["*/web.frontend"]}],
            id="repository-globs-and-an-exclude",
        ),
        pytest.param(
            [{"namespace": "data-*", "repositories": ["*"], "exclude": ["*/*-1", "*/jobs/*"]}],
            id="organization-glob-slash-in-names",
        ),
        pytest.param(
            [{"namespace": "ml.model?", "repositories": ["api", "worker"]}],
            id="organization-glob-literal-repositories",
        ),
        pytest.param(
            [
                {"namespace": "*", "repositories": ["api*"], "tag": "v"},
                {"namespace": "platform", "repositories": ["*"]},
                {"namespace": "platform", "repositories": ["gateway"]},
            ],
            id="overlapping-targets-first-wins",
        ),
    ],
)
def test_patterns_and_excludes_select_exactly_what_they_say(
    discovering: Discovering, tmp_path: Path, server: FakeSwr, targets: list[dict[str, Any]]
) -> None:
    outcome = run_sync(load_config(discovering(tmp_path, server, targets)))
    assert outcome.exit_code == 0
    got = {
        (r.target.namespace, r.target.repository): (r.target.selected_by, r.target.tag)
        for r in outcome.results
    }
    assert got == selected(targets)
    assert len(outcome.results) == len(got)  # each repository once


def test_a_deleted_repository_is_not_found_and_a_new_one_is_crawled_in_the_same_run(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = discovering(tmp_path, server, EVERYTHING)
    assert run_sync(load_config(path)).exit_code == 0
    tomorrow = next_day(REGISTRY, churn=0.1)
    gone = set(REGISTRY.repositories) - set(tomorrow.repositories)
    new = set(tomorrow.repositories) - set(REGISTRY.repositories)
    assert gone and new
    server.serve(tomorrow)
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0
    status = {(r.target.namespace, r.target.repository): r.status for r in outcome.results}
    assert {k for k, s in status.items() if s == "not_found"} == gone
    assert new <= {k for k, s in status.items() if s == "ok"}
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(tomorrow)
    changes = query(db, "SELECT namespace, repository, tag, change FROM tag_changes")
    for key in gone:
        removed = {(k[0], k[1], k[2]) for k in changes if k[3] == "removed"}
        assert {(*key, t.tag) for t in REGISTRY.tags(*key)} <= removed
    for key in new:
        added = {(k[0], k[1], k[2]) for k in changes if k[3] == "added"}
        assert {(*key, t.tag) for t in tomorrow.tags(*key)} <= added
    listed = {
        (r[0], r[1]) for r in query(db, "SELECT namespace, repository FROM repositories_current")
    }
    assert listed == set(tomorrow.repositories)


def test_the_first_snapshot_of_a_literal_name_is_a_baseline_not_an_addition(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = discovering(tmp_path, server, [{"namespace": "platform", "repositories": ["api"]}])
    assert run_sync(load_config(path)).exit_code == 0
    discovering(tmp_path, server, [{"namespace": "platform", "repositories": ["api", "web"]}])
    assert run_sync(load_config(path)).exit_code == 0
    assert query(tmp_path / "swr.duckdb", "SELECT count(*) FROM tag_changes") == [(0,)]


@pytest.mark.parametrize(
    ("broken", "failed_organizations", "exit_code"),
    [
        pytest.param({"platform"}, {"platform"}, 1, id="one-organizations-list-fails"),
        pytest.param({""}, {"platform", "data-eng", "ml.models"}, 3, id="organization-list-fails"),
    ],
)
def test_a_failed_discovery_closes_nothing_and_is_recorded_per_repository(
    discovering: Discovering,
    tmp_path: Path,
    server: FakeSwr,
    broken: set[str],
    failed_organizations: set[str],
    exit_code: int,
) -> None:
    path = discovering(tmp_path, server, EVERYTHING)
    assert run_sync(load_config(path)).exit_code == 0
    tomorrow = next_day(REGISTRY, churn=0.1)
    server.serve(tomorrow)
    server.options.broken_lists = broken
    with editing(path) as data:
        data["crawl"]["max_attempts"] = 2
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == exit_code
    failed = {
        (r.target.namespace, r.target.repository) for r in outcome.results if r.status == "failed"
    }
    assert failed == {k for k in REGISTRY.repositories if k[0] in failed_organizations}
    assert all("HTTP 500" in str(r.error) for r in outcome.results if r.status == "failed")
    db = tmp_path / "swr.duckdb"
    kept = [k for k in REGISTRY.repositories if k[0] in failed_organizations]
    where = "WHERE namespace IN ({})".format(", ".join(f"'{ns}'" for ns in failed_organizations))
    assert stored_rows(db, where) == expected_rows(REGISTRY, kept)  # yesterday's, whole
    rows = query(db, "SELECT DISTINCT error_message FROM target_runs WHERE status = 'failed'")
    assert rows and all(r[0] for r in rows)
    statuses = query(db, "SELECT status FROM discoveries WHERE seq = 2")
    assert ("failed",) in statuses


class Clock(datetime):
    """A wall clock the test sets: each run starts at the moment it names."""

    moment = datetime(2026, 1, 1, tzinfo=UTC)

    @classmethod
    def now(cls, tz: Any = None) -> Clock:  # type: ignore[override]
        return cls.fromtimestamp(cls.moment.timestamp(), tz)


DAYS_APART = 4


@pytest.fixture(scope="module")
def three_days(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[Registry]]]:
    """Three syncs of everything, DAYS_APART days apart by the run clock."""
    days = [REGISTRY]
    for _ in range(2):
        days.append(next_day(days[-1], churn=0.05))
    directory = tmp_path_factory.mktemp("pulls")
    start = datetime(2026, 1, 1, tzinfo=UTC)
    with ServerThread(days[0]) as server, pytest.MonkeyPatch.context() as patch:
        path = configs.discovering(directory, server, EVERYTHING, env=patch)
        patch.setattr(etl.run.start, "datetime", Clock)
        for index, registry in enumerate(days):
            server.serve(registry)
            Clock.moment = start + timedelta(days=DAYS_APART * index)
            assert run_sync(load_config(path)).exit_code == 0
    yield directory / "swr.duckdb", days


def counters(days: list[Registry]) -> dict[tuple[str, str], list[int | None]]:
    keys = {k for day in days for k in day.repositories}
    return {
        k: [d.repositories[k].num_download if k in d.repositories else None for d in days]
        for k in keys
    }


def test_repo_pulls_are_the_counters_rise_between_runs_that_saw_the_repository(
    three_days: tuple[Path, list[Registry]],
) -> None:
    db, days = three_days
    expected = set()
    for (ns, repo), seen in counters(days).items():
        for day in (1, 2):
            before, after = seen[day - 1], seen[day]
            if before is not None and after is not None and after >= before:
                expected.add((ns, repo, day, after - before, (after - before) / DAYS_APART))
    rows = query(
        db,
        "SELECT namespace, repository, to_at, pulls, pulls_per_day FROM repo_pulls",
    )
    first = min(r[2] for r in rows) - timedelta(days=DAYS_APART)
    got = {(r[0], r[1], (r[2] - first).days // DAYS_APART, r[3], r[4]) for r in rows}
    assert got == expected
    assert any(r[3] > 0 for r in rows) and any(r[3] == 0 for r in rows)


@pytest.mark.parametrize("days", [DAYS_APART, 2 * DAYS_APART, 3 * DAYS_APART])
def test_unpulled_repositories_are_those_whose_counter_stood_still_that_long(
    three_days: tuple[Path, list[Registry]], days: int
) -> None:
    db, registries = three_days
    expected = set()
    for key, seen in counters(registries).items():
        if seen[-1] is None:
            continue  # gone: not current
        still_since = len(seen) - 1
        while still_since > 0 and seen[still_since - 1] == seen[-1]:
            still_since -= 1
        if (len(seen) - 1 - still_since) * DAYS_APART >= days:
            expected.add(key)
    rows = query(db, "SELECT namespace, repository FROM unpulled_repositories($d)", d=days)
    assert set(rows) == expected
    if days <= 2 * DAYS_APART:
        assert expected  # the generator keeps some counters still


def test_repo_summary_counts_pulls_of_the_last_week_only_when_observed_that_long(
    three_days: tuple[Path, list[Registry]],
) -> None:
    db, days = three_days
    rows = query(
        db,
        "SELECT namespace, repository, api_size, num_download, pulls_last_7d, pulls_last_30d "
        "FROM repo_summary",
    )
    seen = counters(days)
    assert rows
    for ns, repo, api_size, num_download, last_7d, last_30d in rows:
        history = seen[(ns, repo)]
        assert api_size == days[-1].repositories[(ns, repo)].size()
        assert num_download == history[-1]
        # The latest run is 8 days after the first: a week is observed when the first saw it.
        assert last_7d == (history[2] - history[0] if history[0] is not None else None)
        assert last_30d is None


def test_a_repository_recreated_with_a_lower_counter_starts_a_new_series(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = discovering(tmp_path, server, [{"namespace": "platform", "repositories": ["api"]}])
    with editing(path) as data:
        data["endpoints"][0]["targets"][0]["discover_metadata"] = True
    key = ("platform", "api")
    counts = [500, 10, 25]
    for count in counts:
        repos = dict(REGISTRY.repositories)
        repos[key] = dataclasses.replace(repos[key], num_download=count)
        server.serve(dataclasses.replace(REGISTRY, repositories=repos))
        assert run_sync(load_config(path)).exit_code == 0
    pulls = query(
        tmp_path / "swr.duckdb",
        "SELECT pulls FROM repo_pulls WHERE namespace = 'platform' AND repository = 'api'",
    )
    assert pulls == [(15,)]  # 500 -> 10 is no row (never negative), 10 -> 25 is 15


def test_plan_lists_what_discovery_resolved_and_writes_nothing(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    targets = [
        {"namespace": "data-*", "repositories": ["*"], "exclude": ["*/web*"]},
        {"namespace": "data-eng", "repositories": ["api", "gateway"], "tag": "v"},
    ]
    path = discovering(tmp_path, server, targets)
    result = invoke("plan", "-c", str(path))
    assert result.exit_code == 0, result.output
    chosen = selected(targets)
    assert (
        f"target 1 (data-*: *): organizations data-eng; {len(chosen)} repositories" in result.output
    )
    for ns, repo in chosen:
        assert f"    {ns}/{repo}\n" in result.output
    excluded = [
        f"{ns}/{r}" for ns, r in REGISTRY.repositories if ns == "data-eng" and r.startswith("web")
    ]
    assert f"excluded: {', '.join(sorted(excluded))}" in result.output
    assert "crawled for an earlier target: data-eng/api, data-eng/gateway" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def test_repositories_that_discovery_no_longer_finds_count_toward_the_removal_guard(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    path = discovering(tmp_path, server, EVERYTHING)
    assert run_sync(load_config(path)).exit_code == 0
    kept = dict(list(REGISTRY.repositories.items())[:10])
    server.serve(dataclasses.replace(REGISTRY, repositories=kept))
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 3
    assert all("crawl.max_removed_share" in str(r.error) for r in outcome.results)
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(REGISTRY)


def test_a_discovery_that_fails_on_the_first_run_fails_the_run(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    server.options.broken_lists = {""}
    path = discovering(tmp_path, server, EVERYTHING, max_attempts=2)
    result = sync(path)
    assert result.exit_code == 3, result.output  # nothing synced, and a list failed
    assert "discovery failed: local organizations: HTTP 500 SVCSTG.SWR.5000001" in result.output
    assert query(tmp_path / "swr.duckdb", "SELECT status FROM runs") == [("failed",)]
