"""Throttling: the sync stays within its configured rate (measured at the server) and still
finishes with exact data when the server throttles harder than configured."""

from __future__ import annotations

from pathlib import Path

from etl.config_file import load_config
from etl.fakeswr import Options, ServerThread, generate_registry
from etl.job import run_sync
from tests.configs import WriteConfig
from tests.registries import expected_rows
from tests.stored import stored_rows

REGISTRY = generate_registry(repos=6, tags=300, seed=8)


def paced_rate(times: list[float]) -> float:
    """Requests per second the server saw from the first to the last, the client's one-request
    burst aside. Over the whole run, not in any one window: a stalled thread on a busy machine
    may bunch arrivals together, but cannot make the client send sooner."""
    return (len(times) - 2) / (max(times) - min(times))


def test_the_configured_rate_holds_at_the_server(write_config: WriteConfig, tmp_path: Path) -> None:
    with ServerThread(REGISTRY, options=Options(rate_limit_rps=30)) as server:
        path = write_config(
            tmp_path, server, list(REGISTRY.repositories), page_size=8, requests_per_second=15
        )
        outcome = run_sync(load_config(path))
        times = list(server.state.stats.request_times)
        throttled = server.state.stats.throttled
    assert outcome.exit_code == 0
    assert len(times) > 30
    # 15/s (the bucket's pace), with room for the first request's connection; without the
    # limit this would be hundreds.
    assert paced_rate(times) <= 15 * 1.05
    assert throttled == 0
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(REGISTRY)


def test_a_server_stricter_than_the_config_throttles_and_the_data_is_still_exact(
    write_config: WriteConfig,
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
    assert throttled > 0 and outcome.run.retries >= throttled
    assert throttled < served / 2  # the client slowed down instead of hammering
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(REGISTRY)
