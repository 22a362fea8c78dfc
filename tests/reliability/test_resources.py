"""Resource bounds: never more connections or requests in flight than `crawl.concurrency`."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config_file import load_config
from etl.fakeswr import Options, ServerThread, generate_registry
from etl.job import run_sync
from tests.configs import WriteConfig, editing

REGISTRY = generate_registry(repos=16, seed=12)


@pytest.mark.parametrize("concurrency", [1, 3, 8])
def test_connections_at_the_server_never_exceed_concurrency(
    write_config: WriteConfig, tmp_path: Path, concurrency: int
) -> None:
    with ServerThread(REGISTRY, options=Options(latency_ms=15)) as server:
        path = write_config(
            tmp_path, server, list(REGISTRY.repositories), page_size=10, concurrency=concurrency
        )
        # The same server twice, as two endpoints: the cap holds across endpoints too.
        with editing(path) as data:
            second = {**data["endpoints"][0], "name": "local-2"}
            data["endpoints"].append(second)
        outcome = run_sync(load_config(path))
        stats = server.state.stats
    assert outcome.exit_code == 0
    assert stats.requests > 40
    assert 1 <= stats.max_connections <= concurrency
    assert stats.max_in_flight <= concurrency
    if concurrency > 1:
        assert stats.max_in_flight > 1  # it does work in parallel
