"""Throttling: the sync stays within its configured rate (measured at the server) and still
finishes with exact data when the server throttles harder than configured."""

from __future__ import annotations

from pathlib import Path

from etl.config_file import load_config
from etl.fakeswr import Options, ServerThread, generate_registry
from etl.job import run_sync
from tests.conftest import expected_rows, stored_rows, write_config

REGISTRY = generate_registry(repos=6, tags=300, seed=8)


def busiest_second(times: list[float]) -> int:
    """The most requests the server saw in any one-second window."""
    return max(sum(1 for t in times if start <= t < start + 1.0) for start in times)


def test_the_configured_rate_holds_at_the_server(tmp_path: Path) -> None:
    with ServerThread(REGISTRY, options=Options(rate_limit_rps=30)) as server:
        path = write_config(
            tmp_path, server, list(REGISTRY.repositories), page_size=8, requests_per_second=15
        )
        outcome = run_sync(load_config(path))
        times = list(server.state.stats.request_times)
        throttled = server.state.stats.throttled
    assert outcome.exit_code == 0
    assert len(times) > 30
    # 15/s, plus the one-request burst, plus one request that loopback delivered late into the
    # window; without the limit this would be hundreds.
    assert busiest_second(times) <= 17
    assert throttled == 0
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(REGISTRY)


def test_a_server_stricter_than_the_config_throttles_and_the_data_is_still_exact(
    tmp_path: Path,
) -> None:
    with ServerThread(REGISTRY, options=Options(rate_limit_rps=12)) as server:
        path = write_config(
            tmp_path,
            server,
            list(REGISTRY.repositories),
            page_size=8,
            requests_per_second=40,
            max_attempts=10,
        )
        outcome = run_sync(load_config(path))
        throttled = server.state.stats.throttled
        served = server.state.stats.requests
    assert outcome.exit_code == 0
    assert throttled > 0 and outcome.run["retries"] >= throttled
    assert throttled < served / 2  # the client slowed down instead of hammering
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(REGISTRY)
