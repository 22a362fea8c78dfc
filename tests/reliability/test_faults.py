"""Faults of every kind, alone and mixed: the snapshot equals the registry, or a target fails
and its previous snapshot stands."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.config_file import load_config
from etl.fakeswr import FaultPlan, Options, Registry, ServerThread, generate_registry, next_day
from etl.job import run_sync
from tests.configs import WriteConfig
from tests.registries import expected_rows
from tests.stored import reading, stored_rows

REGISTRY = generate_registry(repos=12, seed=31)
FAST = {"timeout_s": 0.3, "page_size": 10, "concurrency": 6}


def faults(rate: float, *kinds: str) -> Options:
    plan = FaultPlan(rate=rate, seed=9, slow_s=0.6, retry_after_s=0.05)
    if kinds:
        plan = FaultPlan(rate=rate, seed=9, slow_s=0.6, retry_after_s=0.05, kinds=kinds)
    return Options(faults=plan)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(faults(0.3, "500"), id="500-exact"),
        pytest.param(faults(0.3, "429"), id="429-without-retry-after-exact"),
        pytest.param(faults(0.3, "429_retry_after"), id="429-with-retry-after-exact"),
        pytest.param(faults(0.3, "reset"), id="connection-reset-mid-body-exact"),
        pytest.param(faults(0.3, "truncated"), id="truncated-200-body-exact"),
        pytest.param(faults(0.3, "slow"), id="slow-beyond-timeout-exact"),
        pytest.param(faults(0.3, "token_expiry"), id="token-expiry-mid-run-exact"),
        pytest.param(faults(0.1), id="all-mixed-at-10-percent-exact"),
        pytest.param(faults(0.3), id="all-mixed-at-30-percent-exact"),
    ],
)
def test_faults_leave_the_snapshot_exact(
    write_config: WriteConfig, tmp_path: Path, options: Options
) -> None:
    with ServerThread(REGISTRY, options=options) as server:
        path = write_config(
            tmp_path, server, list(REGISTRY.repositories), "password", max_attempts=8, **FAST
        )
        outcome = run_sync(load_config(path))
    assert outcome.exit_code == 0, [str(r.error) for r in outcome.results if r.error]
    assert sum(options.faults.injected.values()) > 0 and outcome.run.retries > 0
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(REGISTRY)


def test_when_retries_run_out_the_target_fails_and_its_previous_snapshot_stands(
    write_config: WriteConfig,
    tmp_path: Path,
) -> None:
    tomorrow: Registry = next_day(REGISTRY, churn=0.1)
    with ServerThread(REGISTRY) as server:
        path = write_config(
            tmp_path, server, list(REGISTRY.repositories), "password", max_attempts=1, **FAST
        )
        assert run_sync(load_config(path)).exit_code == 0
        server.serve(tomorrow)
        server.options.faults = FaultPlan(rate=0.3, seed=4, slow_s=0.6, retry_after_s=0.05)
        outcome = run_sync(load_config(path))
    failed = {
        (r.target.namespace, r.target.repository) for r in outcome.results if r.status == "failed"
    }
    synced = {
        (r.target.namespace, r.target.repository) for r in outcome.results if r.status == "ok"
    }
    assert failed and synced and outcome.exit_code == 1
    db = tmp_path / "swr.duckdb"
    for key in failed:
        where = f"WHERE namespace = '{key[0]}' AND repository = '{key[1]}'"
        assert stored_rows(db, where) == expected_rows(REGISTRY, [key])
    for key in synced:
        where = f"WHERE namespace = '{key[0]}' AND repository = '{key[1]}'"
        assert stored_rows(db, where) == expected_rows(tomorrow, [key])
    with reading(db) as con:
        errors = con.execute(
            "SELECT error_message FROM target_runs WHERE status = 'failed' AND seq = 2"
        ).fetchall()
    assert len(errors) == len(failed) and all(e[0] for e in errors)
