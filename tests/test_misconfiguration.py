"""Misconfiguration is loud: a name SWR does not know on its first sync, a pattern that selects
nothing, an optional output that cannot be produced and an endpoint that cannot be reached
each say what is wrong — never a healthy-looking run that syncs nothing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from etl.config_file import load_config
from etl.fakeswr import FakeSwr, Registry
from etl.job import run_sync
from tests.commands import invoke, sync
from tests.configs import Discovering, WriteConfig, editing

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")


def test_a_literal_name_swr_does_not_know_on_its_first_sync_fails_the_run(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    known = list(small_registry.repositories)[:2]
    path = write_config(tmp_path, served, [*known, ("platform", "no-such-repo")])
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 1
    failed = [r for r in outcome.results if r.status == "failed"]
    assert [r.target.repository for r in failed] == ["no-such-repo"]
    assert failed[0].error is not None and "SWR does not know" in str(failed[0].error)
    planned = invoke("plan", "-c", str(path))
    assert planned.exit_code == 1, planned.output
    assert "platform/no-such-repo: SWR does not know it" in planned.output


def test_a_repository_that_synced_before_and_is_gone_is_not_found_and_exit_0(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    keys = list(small_registry.repositories)[:3]
    path = write_config(tmp_path, served, keys)
    assert run_sync(load_config(path)).exit_code == 0
    gone = dict(small_registry.repositories)
    del gone[keys[0]]
    registry = Registry(
        small_registry.seed, small_registry.day, gone, small_registry.manifests, 10**6
    )
    served.serve(registry)
    outcome = run_sync(load_config(path, environ=None))
    assert outcome.exit_code == 0
    assert [r.status for r in outcome.results].count("not_found") == 1


def test_a_pattern_that_selects_nothing_fails_the_run_and_plan_says_so(
    discovering: Discovering, tmp_path: Path, served: FakeSwr
) -> None:
    targets = [
        {"namespace": "platform", "repositories": ["api"]},
        {"namespace": "platform", "repositories": ["no-such-*"]},
    ]
    path = discovering(tmp_path, served, targets)
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 1
    assert any(
        "platform: no-such-*" in str(e) and "selects no repository" in str(e)
        for e in outcome.list_failures
    )
    planned = invoke("plan", "-c", str(path))
    assert "selects no repository" in planned.output and planned.exit_code == 1


def test_a_dashboard_that_cannot_be_drawn_is_refused_before_any_request(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:2])
    with editing(path) as data:
        data["output"]["dashboard"] = "./page.html"
    monkeypatch.setitem(sys.modules, "plotly", None)  # not installed
    result = sync(path)
    assert result.exit_code == 2, result.output
    assert "output.dashboard" in result.output and "plotly" in result.output
    assert served.state.stats.requests == 0


def test_an_endpoint_that_cannot_be_reached_fails_once_naming_host_and_reason(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    refused_port: int,
) -> None:
    port = refused_port  # nothing listens there
    keys = list(small_registry.repositories)[:10]
    path = write_config(tmp_path, served, keys, max_attempts=4, concurrency=8)
    with editing(path) as data:
        data["endpoints"][0]["url"] = f"http://127.0.0.1:{port}"
    outcome = run_sync(load_config(path))
    assert outcome.exit_code == 3
    messages = {str(r.error) for r in outcome.results}
    assert len(messages) == 1
    assert f"connection refused by 127.0.0.1:{port}" in messages.pop()
    attempts = sum(r.stats.requests for r in outcome.results)
    assert attempts <= 4 + len(keys)
