"""Secrets never reach stdout, stderr, JSON logs, the lake or the database, in any auth mode."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from etl.fakeswr import Credentials, FaultPlan, Options, Registry, ServerThread
from tests.commands import invoke
from tests.configs import WriteConfig
from tests.stored import reading

MARK = "DISTINCTIVE"
SECRETS = dict(token=f"tok-{MARK}-9f8e7d", password=f"pw-{MARK}-1a2b3c", sk=f"sk-{MARK}-6f7a8b")


@pytest.mark.parametrize("auth", ["token", "password", "aksk"])
@pytest.mark.parametrize("refused", [False, True], ids=["accepted", "refused"])
def test_no_secret_in_any_output_or_stored_byte(
    write_config: WriteConfig, tmp_path: Path, small_registry: Registry, auth: str, refused: bool
) -> None:
    # Many faults, so that retries, refreshes and error paths all run and log.
    options = Options(faults=FaultPlan(rate=0.5, seed=2, retry_after_s=0.01, slow_s=0.5))
    with ServerThread(
        small_registry, credentials=Credentials(**SECRETS), options=options
    ) as server:
        path = write_config(
            tmp_path,
            server,
            list(small_registry.repositories)[:8],
            auth,
            max_attempts=8,
            timeout_s=0.3,
        )
        if refused:
            creds = server.credentials
            creds.token = creds.password = creds.sk = "rotated"
        outputs = [
            invoke("plan", "-c", str(path)),
            invoke("sync", "-c", str(path), "--log-format", "json"),
            invoke("sync", "-c", str(path), "--no-progress"),
            invoke("report", "-c", str(path), "--format", "json"),
        ]
        # IAM tokens the fake issued are secrets too.
        secrets = [MARK.encode(), *(t.encode() for t in server.state.issued_tokens)]
    assert outputs[1].exit_code == (3 if refused else 0), outputs[1].output
    texts = [r.output.encode() for r in outputs]
    stored = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p != path]
    assert len(stored) > 5
    leaks = [blob[:80] for blob in texts + stored for secret in secrets if secret in blob]
    assert leaks == []


@pytest.mark.parametrize("auth", ["token", "password", "aksk"])
def test_a_secret_a_server_echoes_back_is_never_stored_or_shown(
    write_config: WriteConfig, tmp_path: Path, small_registry: Registry, auth: str
) -> None:
    broken = list(small_registry.repositories)[0]
    options = Options(broken_repositories={broken}, echo_credentials=True)
    with ServerThread(
        small_registry, credentials=Credentials(**SECRETS), options=options
    ) as server:
        path = write_config(
            tmp_path, server, list(small_registry.repositories)[:3], auth, max_attempts=1
        )
        outputs = [
            invoke("sync", "-c", str(path), "--no-progress", "-v"),
            invoke("sync", "-c", str(path), "--log-format", "json"),
            invoke("report", "-c", str(path)),
            invoke("report", "-c", str(path), "--format", "csv"),
        ]
        secrets = [MARK.encode(), *(t.encode() for t in server.state.issued_tokens)]
        if auth == "aksk":
            secrets.append(server.credentials.ak.encode())
    assert outputs[0].exit_code == 1, outputs[0].output
    assert "request headers:" in outputs[0].output and "[REDACTED]" in outputs[0].output
    texts = [r.output.encode() for r in outputs]
    stored = [p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p != path]
    # Parquet and DuckDB compress their pages: read the stored messages back as text too.
    with reading(tmp_path / "swr.duckdb") as con:
        in_db = con.execute("SELECT error_message FROM target_runs WHERE status = 'failed'")
        messages = [m for (m,) in in_db.fetchall()]
    lake = [
        value
        for part in (tmp_path / "lake" / "target_runs").rglob("*.parquet")
        for value in pq.read_table(part, columns=["error_message"]).column(0).to_pylist()
    ]
    assert len(messages) == 2 and all("[REDACTED]" in m for m in messages)
    texts += [m.encode() for m in messages + [v for v in lake if v]]
    leaks = [blob[:80] for blob in texts + stored for secret in secrets if secret in blob]
    assert leaks == []
