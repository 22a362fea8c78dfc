"""Scope is part of the history: what a run was asked to sync decides what is current.

A repository that leaves the configured scope (a dropped name, a narrowed pattern, a new
exclude, a renamed endpoint, another tag filter) leaves `tags_current` as `untracked` — never
`removed`, never freed bytes — and its return is a baseline. Lists are read as sets, and a
repository disappears only when SWR itself says it is gone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl.config_file import load_config
from etl.fakeswr import FakeSwr, ServerThread, generate_registry
from etl.job import run_sync
from etl.results import SyncOutcome
from tests.commands import invoke
from tests.configs import Discovering, editing
from tests.registries import expected_rows, only, tags_of
from tests.stored import changes, query, stored_rows

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

REGISTRY = generate_registry(repos=60, seed=11)  # data-eng, ml.models, platform: twenty each
EVERYTHING = [{"namespace": "*", "repositories": ["*"]}]


@pytest.fixture
def server() -> Iterator[FakeSwr]:
    with ServerThread(copy.deepcopy(REGISTRY)) as running:
        yield running


def sync(path: Path) -> SyncOutcome:
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0, outcome.list_failures
    return outcome


def test_a_narrowed_pattern_leaves_what_it_no_longer_selects_untracked_not_removed(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    db = tmp_path / "swr.duckdb"
    sync(discovering(tmp_path, server, EVERYTHING))
    narrowed = sync(
        discovering(tmp_path, server, [{"namespace": "platform", "repositories": ["*"]}])
    )
    # The organization the config no longer selects is deleted in SWR: nothing may notice.
    server.serve(only(REGISTRY, lambda key: key[0] != "data-eng"))
    sync(discovering(tmp_path, server, [{"namespace": "platform", "repositories": ["*"]}]))

    platform = only(REGISTRY, lambda key: key[0] == "platform")
    assert stored_rows(db) == expected_rows(platform)
    assert query(db, "SELECT tags FROM warehouse_totals") == [(tags_of(platform),)]
    assert changes(db, 2) == {"untracked": tags_of(REGISTRY) - tags_of(platform)}
    assert changes(db, 3) == {}
    assert narrowed.summary.changes == {"untracked": tags_of(REGISTRY) - tags_of(platform)}
    assert narrowed.summary.bytes_freed == 0
    offered = query(db, "SELECT DISTINCT namespace FROM stale_tags(0)")
    assert offered == [("platform",)]


def on_api(path: Path, api: str) -> None:
    """Make the config's endpoint use `api` (v3 or v2) rather than probe for it."""
    with editing(path) as data:
        data["endpoints"][0]["api"] = api


def renamed_endpoint(path: Path) -> None:
    with editing(path) as data:
        data["endpoints"][0]["name"] = "renamed"


@pytest.mark.parametrize(
    ("before", "after", "kept"),
    [
        pytest.param(
            [{"namespace": "platform", "repositories": ["api", "worker", "web.frontend"]}],
            [{"namespace": "platform", "repositories": ["api", "worker"]}],
            lambda key: key in {("platform", "api"), ("platform", "worker")},
            id="a-dropped-literal-is-untracked",
        ),
        pytest.param(
            EVERYTHING,
            [{"namespace": "*", "repositories": ["*"], "exclude": ["ml.models/*"]}],
            lambda key: key[0] != "ml.models",
            id="a-new-exclude-is-untracked",
        ),
    ],
)
def test_a_repository_that_leaves_the_scope_leaves_tags_current_as_untracked(
    discovering: Discovering,
    tmp_path: Path,
    server: FakeSwr,
    before: list[Any],
    after: list[Any],
    kept: Any,
) -> None:
    db = tmp_path / "swr.duckdb"
    sync(discovering(tmp_path, server, before))
    selected_before = query(db, "SELECT count(*) FROM tags_current")[0][0]
    sync(discovering(tmp_path, server, after))
    expected = only(REGISTRY, lambda key: kept(key))
    if before is not EVERYTHING:
        expected = only(expected, lambda key: key[0] == "platform")
    assert stored_rows(db) == expected_rows(expected)
    assert changes(db, 2) == {"untracked": selected_before - tags_of(expected)}
    # Back into the scope: a baseline, not an addition.
    sync(discovering(tmp_path, server, before))
    assert changes(db, 3) == {}
    assert query(db, "SELECT count(*) FROM tags_current")[0][0] == selected_before


def test_an_endpoint_renamed_with_the_same_url_never_counts_a_tag_twice(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    db = tmp_path / "swr.duckdb"
    path = discovering(tmp_path, server, EVERYTHING)
    sync(path)
    renamed_endpoint(path)
    outcome = sync(path)
    assert query(db, "SELECT DISTINCT endpoint FROM tags_current") == [("renamed",)]
    assert query(db, "SELECT tags FROM warehouse_totals") == [(tags_of(REGISTRY),)]
    assert changes(db, 2) == {"untracked": tags_of(REGISTRY)}  # `local` left; `renamed` began
    assert outcome.summary.bytes_freed == 0
    repo_tags = query(db, "SELECT sum(tags) FROM repo_summary")[0][0]
    assert repo_tags == tags_of(REGISTRY)


def test_a_tag_filter_change_is_a_new_scope_not_removals_or_additions(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    db = tmp_path / "swr.duckdb"
    every = [{"namespace": "platform", "repositories": ["api"]}]
    filtered = [{"namespace": "platform", "repositories": ["api"], "tag": "main"}]
    sync(discovering(tmp_path, server, every))
    narrowed = sync(discovering(tmp_path, server, filtered))
    widened = sync(discovering(tmp_path, server, every))
    api = REGISTRY.repositories[("platform", "api")]
    outside = sum("main" not in t.tag for t in api.tags)
    assert 0 < outside < len(api.tags)
    assert changes(db, 2) == {"untracked": outside}
    assert narrowed.summary.bytes_freed == 0
    assert "removed" not in narrowed.summary.changes
    assert changes(db, 3) == {}
    assert "added" not in widened.summary.changes
    assert stored_rows(db) == expected_rows(only(REGISTRY, lambda key: key == ("platform", "api")))


def test_a_list_that_repeats_rows_counts_each_repository_once(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    server.options.repeat_list_rows = True
    path = discovering(tmp_path, server, EVERYTHING, page_size=7)
    on_api(path, "v3")
    sync(path)
    sync(path)  # identical duplicates must not survive a clean run either
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(REGISTRY)
    per_repository = (
        "SELECT namespace, repository, count(*) FROM {} GROUP BY ALL HAVING count(*) > 1"
    )
    assert query(db, per_repository.format("repositories_current")) == []
    assert query(db, per_repository.format("target_runs WHERE seq = 2")) == []
    # Empty repositories count too (repositories_synced): one row each, with no tag.
    summed = "SELECT namespace, repository, tags, total_size FROM repo_summary ORDER BY ALL"
    current = (
        "SELECT namespace, repository, count(tag), coalesce(sum(size::HUGEINT), 0) "
        "FROM repositories_synced LEFT JOIN tags_current USING (endpoint, namespace, repository) "
        "GROUP BY ALL ORDER BY ALL"
    )
    assert query(db, summed) == query(db, current)
    assert query(db, "SELECT sum(warnings) FROM discoveries WHERE seq = 1")[0][0] > 0


def test_a_list_that_names_other_organizations_plants_no_phantom_repository(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    server.options.ignore_namespace_filter = True  # every list answers every organization
    sync(discovering(tmp_path, server, EVERYTHING))
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(REGISTRY)
    assert query(db, "SELECT count(*) FROM repositories_current")[0][0] == len(
        REGISTRY.repositories
    )
    assert query(db, "SELECT sum(warnings) FROM discoveries")[0][0] == 2 * len(
        REGISTRY.repositories
    )


def test_a_v2_repository_list_whose_total_moves_is_read_again(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    server.options.create_mid_list = {"platform"}
    path = discovering(
        tmp_path, server, [{"namespace": "platform", "repositories": ["*"]}], page_size=5
    )
    on_api(path, "v2")
    sync(path)
    db = tmp_path / "swr.duckdb"
    listed = query(db, "SELECT repository FROM repositories_current ORDER BY 1")
    platform = sorted(n for ns, n in server.state.registry.repositories if ns == "platform")
    assert [r for (r,) in listed] == platform  # the new one too, and every one once
    # The first read, shifted by the creation, showed one repository twice: read again.
    assert query(db, "SELECT warnings FROM discoveries WHERE namespace = 'platform'") == [(0,)]
    assert query(db, "SELECT count(*) FROM target_runs")[0][0] == len(platform)


def test_an_organization_list_that_omits_organizations_closes_nothing(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    db = tmp_path / "swr.duckdb"
    path = discovering(tmp_path, server, EVERYTHING)
    sync(path)
    server.options.hidden_organizations = {"data-eng", "ml.models"}  # one flapping answer
    sync(path)
    server.options.hidden_organizations = set()
    sync(path)
    assert changes(db, 2) == {} and changes(db, 3) == {}
    assert stored_rows(db) == expected_rows(REGISTRY)
    assert query(db, "SELECT count(*) FROM tag_history")[0][0] == tags_of(REGISTRY)


def test_a_repository_disappears_only_when_its_tag_list_says_not_found(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    db = tmp_path / "swr.duckdb"
    path = discovering(tmp_path, server, EVERYTHING)
    sync(path)
    gone = only(REGISTRY, lambda key: key[0] != "ml.models" and key != ("platform", "api"))
    server.serve(gone)
    sync(path)
    statuses = dict(
        query(db, "SELECT namespace || '/' || repository, status FROM target_runs WHERE seq = 2")
    )
    assert statuses["platform/api"] == "not_found"
    assert {s for k, s in statuses.items() if k.startswith("ml.models/")} == {"not_found"}
    assert stored_rows(db) == expected_rows(gone)
    assert changes(db, 2) == {"removed": tags_of(REGISTRY) - tags_of(gone)}
    listed = query(db, "SELECT count(*) FROM repositories_current")[0][0]
    assert listed == len(gone.repositories)


def test_plan_names_what_would_leave_the_scope_before_the_sync_does(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    sync(discovering(tmp_path, server, [{"namespace": "platform", "repositories": ["*"]}]))
    path = discovering(tmp_path, server, [{"namespace": "platform", "repositories": ["api"]}])
    result = invoke("plan", "-c", str(path))
    assert result.exit_code == 0, result.output
    leaving = len([k for k in REGISTRY.repositories if k[0] == "platform"]) - 1
    assert (
        f"scope: {leaving} repositories this config tracked are no longer selected" in result.output
    )
    assert "local:platform/worker" in result.output and "local:platform/api\n" not in result.output
