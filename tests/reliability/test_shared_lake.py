"""A shared lake never loses a run: two configs on two machines with one writer name (both
files called config.yaml) write one object-storage lake at once; their runs overlap and carry
the same sequence number from their own databases. Neither database refuses the other's run,
nothing is moved or set aside in the shared bucket, and both warn that two writers share a
name."""

from __future__ import annotations

import copy
import signal
from pathlib import Path
from typing import Any

from etl.fakeswr import FakeSwr, Registry, next_day
from etl.store import commits
from tests.commands import invoke, paused_sync, sync
from tests.registries import expected_rows, only, parse_time
from tests.s3 import S3Config, S3Server
from tests.stored import lake_state, query, stored_rows


def test_two_writers_with_one_name_at_once_lose_nothing(
    s3_config: S3Config,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
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
    planned = invoke("plan", "-c", str(north))
    assert "2 writers (machines) write under the name 'config'" in planned.output
    for side in ("north", "south"):
        db = tmp_path / side / "swr.duckdb"
        assert stored_rows(db) == expected_rows(small_registry)


def lake_copy(s3: S3Server, bucket: str, folder: Path) -> Path:
    """Download the bucket's lake into `folder` (to read it with the README's query)."""
    client = s3.client()
    for key in s3.keys(bucket, "lake/"):
        target = folder / key
        target.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(target))  # type: ignore[attr-defined]
    return folder / "lake"


def registry_state(registry: Registry, endpoint: str = "local") -> list[tuple[Any, ...]]:
    """The registry as the lake's state query gives it: key, digest, size and update time."""
    return sorted(
        (endpoint, ns, name, t.tag, t.digest, t.size, parse_time(t.updated))
        for ns, name in registry.repositories
        for t in registry.tags(ns, name)
    )


def test_two_writers_whose_runs_overlap_on_one_repository_leave_no_lasting_wrong_state(
    s3_config: S3Config,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
) -> None:
    # Unsupported, and warned about: two writers (named apart) sync the same repositories. A's
    # run starts first and commits last, B's runs whole in between while tags change.
    repositories = sorted(small_registry.repositories)[:12]
    a, b = (s3_config(tmp_path / w, served, repositories, s3, bucket, writer=w) for w in "ab")
    start = only(small_registry, lambda key: key in repositories)
    served.serve(copy.deepcopy(start))
    for path in (a, b):
        assert sync(path).exit_code == 0
    crawled_by_a = next_day(start, churn=0.2)
    served.serve(copy.deepcopy(crawled_by_a))
    paused = paused_sync(a, "lake-written:STOP")
    now = next_day(crawled_by_a, churn=0.2)
    served.serve(copy.deepcopy(now))
    now = only(now, lambda key: key in repositories)  # the configs name their repositories
    assert sync(b).exit_code == 0
    paused.send_signal(signal.SIGCONT)
    _, err = paused.communicate(timeout=120)
    assert paused.returncode == 0, err.decode()

    # B's next sync takes A's late run in the lake's order; any writer's next sync of the
    # repositories sets the lake's state right again.
    for writer, path in (("b", b), ("a", a)):
        result = sync(path)
        assert result.exit_code == 0, result.output
        db = path.parent / "swr.duckdb"
        assert stored_rows(db) == expected_rows(now), writer
        state = lake_state(lake_copy(s3, bucket, tmp_path / f"after-{writer}"))
        assert state == registry_state(now), writer
        before = query(db, "SELECT * FROM tag_history ORDER BY ALL")
        assert invoke("rebuild", "-c", str(path)).exit_code == 0
        assert query(db, "SELECT * FROM tag_history ORDER BY ALL") == before, writer
