"""A shared lake never loses a run: two configs on two machines with one writer name (both
files called config.yaml) write one object-storage lake at once; their runs overlap and carry
the same sequence number from their own databases. Neither database refuses the other's run,
nothing is moved or set aside in the shared bucket, and both warn that two writers share a
name."""

from __future__ import annotations

import signal
from pathlib import Path

from click.testing import CliRunner

from etl.cli import cli
from etl.fakeswr import FakeSwr, Registry
from etl.store import commits
from tests.conftest import expected_rows, stored_rows
from tests.reliability.conftest import paused_sync
from tests.s3 import S3Server
from tests.test_object_storage import bucket, s3, s3_config, sync  # noqa: F401 - fixtures

__all__ = ["bucket", "s3"]


def test_two_writers_with_one_name_at_once_lose_nothing(
    tmp_path: Path, served: FakeSwr, small_registry: Registry, s3: S3Server, bucket: str
) -> None:
    repositories = list(small_registry.repositories)
    north = s3_config(tmp_path / "north", served, repositories[:15], s3, bucket, endpoint="north")
    south = s3_config(tmp_path / "south", served, repositories[15:], s3, bucket, endpoint="south")
    # North takes its sequence number, crawls, and waits before publishing; south runs whole
    # meanwhile, with the same number from its own database; then north publishes.
    paused = paused_sync(north, "lake-written:STOP")
    assert sync(south).exit_code == 0
    paused.send_signal(signal.SIGCONT)
    _, err = paused.communicate(timeout=120)
    assert paused.returncode == 0, err.decode()

    for path in (north, south, north, south):  # each loads the other's run, twice over
        result = sync(path)
        assert result.exit_code == 0, result.output
        assert "writers write under the name 'config'" in result.output
    records = [k for k in s3.keys(bucket, "lake/runs/") if k.endswith(commits.COMMIT_RECORD)]
    assert len(records) == 6  # every run of both writers is committed, none moved aside
    assert not [k for k in s3.keys(bucket) if k.startswith(("lake/_set_aside", "lake/_load"))]
    planned = CliRunner().invoke(cli, ["plan", "-c", str(north)])
    assert "2 writers (machines) write under the name 'config'" in planned.output
    for side in ("north", "south"):
        db = tmp_path / side / "swr.duckdb"
        assert stored_rows(db) == expected_rows(small_registry)
