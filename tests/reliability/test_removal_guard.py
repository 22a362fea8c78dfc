"""The removal guard: a run that would remove more than `crawl.max_removed_share` of an
endpoint's current tags is refused (its targets fail, nothing is closed) until an operator
says the removals are real with `sync --accept-removals`."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from aiohttp import web

from etl.fakeswr import AppThread, FakeSwr, Registry
from tests.commands import sync
from tests.configs import WriteConfig, editing
from tests.registries import expected_rows
from tests.stored import stored_rows


def keeping(registry: Registry, share: float) -> Registry:
    """The registry with only the first `share` of its repositories (the rest deleted)."""
    keys = list(registry.repositories)[: int(len(registry.repositories) * share)]
    return dataclasses.replace(registry, repositories={k: registry.repositories[k] for k in keys})


def test_most_repositories_gone_is_refused_until_accepted(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    remaining = keeping(small_registry, 0.2)
    served.serve(remaining)
    refused = sync(path)
    assert refused.exit_code == 3, refused.output  # every target of the endpoint failed
    assert "refused: this run would remove" in refused.output
    assert "crawl.max_removed_share (50%)" in refused.output
    assert "swr-etl sync --accept-removals" in refused.output
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(small_registry)  # nothing closed

    accepted = sync(path, "--accept-removals")
    assert accepted.exit_code == 0, accepted.output
    assert stored_rows(db) == expected_rows(remaining)


def test_a_proxy_answering_empty_pages_everywhere_is_refused(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0

    async def empty(request: web.Request) -> web.Response:
        return web.json_response({"tags": []})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", empty)
    with AppThread(app) as proxy:
        with editing(path) as data:
            data["endpoints"][0]["url"] = proxy.url
        result = sync(path)
    assert result.exit_code == 3, result.output
    assert "refused: this run would remove" in result.output
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)


@pytest.mark.parametrize(
    ("share", "kept", "exit_code"),
    [
        pytest.param(0.5, 0.7, 0, id="30pct-gone-under-50pct-committed"),
        pytest.param(0.2, 0.7, 3, id="30pct-gone-over-20pct-refused"),
        pytest.param(1.0, 0.0, 0, id="share-1-never-refuses"),
    ],
)
def test_the_share_is_the_operators_to_set(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    share: float,
    kept: float,
    exit_code: int,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    remaining = keeping(small_registry, kept)
    served.serve(remaining)
    with editing(path) as data:
        data["crawl"]["max_removed_share"] = share
    result = sync(path)
    assert result.exit_code == exit_code, result.output
    after = remaining if exit_code == 0 else small_registry
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(after)
