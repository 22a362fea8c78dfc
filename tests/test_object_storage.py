"""The lake on S3-compatible object storage (moto's server on 127.0.0.1 stands in for OBS/S3):
the same syncs as to a folder, a commit without rename, several writers, and one-line errors."""

from __future__ import annotations

import json
import re
import secrets
import signal
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from etl.config_file import load_config
from etl.fakeswr import FakeSwr, Registry, ServerThread, generate_registry, next_day
from etl.store import commits, lake
from etl.store.storage import store_for
from tests.commands import invoke, stopped, sync, sync_process
from tests.configs import WriteConfig, editing
from tests.registries import expected_rows
from tests.s3 import S3Config, S3Server, moto_server
from tests.stored import reading, stored_rows, table_rows


def versions(db: Path) -> list[tuple[Any, ...]]:
    """Every tag version, without what names a run (ids and times differ between lakes)."""
    with reading(db) as con:
        return sorted(
            con.execute(
                "SELECT * EXCLUDE (valid_from_run, valid_to_run, valid_from, valid_to) "
                "FROM tag_history"
            ).fetchall()
        )


def layout(keys: list[str]) -> list[str]:
    """The lake's table files with run ids and dates blanked: the shape of the layout."""
    shapes = {
        re.sub(r"run_id=[^/]+", "run_id=R", re.sub(r"snapshot_date=[^/]+", "snapshot_date=D", k))
        for k in keys
        if k.split("/", 1)[0] in lake.TABLES
    }
    return sorted(shapes)


def local_keys(folder: Path) -> list[str]:
    return [str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file()]


def test_syncs_to_object_storage_equal_the_same_syncs_to_a_folder(
    s3_config: S3Config,
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
) -> None:
    repositories = list(small_registry.repositories)
    (tmp_path / "folder").mkdir()
    folder = write_config(tmp_path / "folder", served, repositories)
    remote = s3_config(tmp_path / "s3", served, repositories, s3, bucket)
    tomorrow = next_day(small_registry)
    for day in (small_registry, tomorrow):
        served.serve(day)
        for path in (folder, remote):
            result = sync(path)
            assert result.exit_code == 0, result.output
    assert f"s3://{bucket}/lake/runs/snapshot_date=" in result.output
    kept = [r for r in repositories if r in tomorrow.repositories]
    assert stored_rows(tmp_path / "s3" / "swr.duckdb") == expected_rows(tomorrow, kept)
    assert versions(tmp_path / "s3" / "swr.duckdb") == versions(tmp_path / "folder" / "swr.duckdb")
    keys = [k.removeprefix("lake/") for k in s3.keys(bucket, "lake/")]
    assert layout(keys) == layout(local_keys(tmp_path / "folder" / "lake"))
    assert not [k for k in keys if not k.startswith(lake.TABLES)]  # no staging, probe, lock
    assert not (tmp_path / "s3" / "swr.duckdb.spool").exists() or not any(
        (tmp_path / "s3" / "swr.duckdb.spool").iterdir()
    )
    # `rebuild` from the bucket equals the database.
    before = table_rows(tmp_path / "s3" / "swr.duckdb")
    rebuilt = invoke("rebuild", "-c", str(remote))
    assert rebuilt.exit_code == 0, rebuilt.output
    assert f"committed run(s) in s3://{bucket}/lake" in rebuilt.output
    assert table_rows(tmp_path / "s3" / "swr.duckdb") == before


def test_a_run_killed_while_publishing_to_object_storage_is_never_visible(
    s3_config: S3Config,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
) -> None:
    path = s3_config(tmp_path, served, list(small_registry.repositories), s3, bucket)
    assert sync(path).exit_code == 0
    served.serve(next_day(small_registry))
    killed = sync_process(path, failpoint="lake-half-published")
    killed.communicate(timeout=120)
    assert killed.returncode == -signal.SIGKILL
    store = store_for(load_config(path).output)
    committed = {run_id for _, run_id in commits.listed_runs(store)}
    written = {re.search(r"run_id=([^/]+)", k).group(1) for k in s3.keys(bucket, "lake/")}  # type: ignore[union-attr]
    (orphan,) = written - committed  # its tags are in the bucket, its commit record is not
    assert len(committed) == 1

    # Within the grace the next sync leaves the orphan alone (another writer's run in
    # progress looks the same) and is exact; past it, the orphan is removed.
    served.serve(small_registry)
    assert sync(path).exit_code == 0
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)
    assert any(f"run_id={orphan}/" in k for k in s3.keys(bucket, "lake/"))
    with editing(path) as data:
        data["output"]["orphan_grace"] = "0s"
    result = sync(path)
    assert result.exit_code == 0, result.output
    assert not any(f"run_id={orphan}/" in k for k in s3.keys(bucket, "lake/"))
    before = table_rows(tmp_path / "swr.duckdb")
    assert invoke("rebuild", "-c", str(path)).exit_code == 0
    assert table_rows(tmp_path / "swr.duckdb") == before


@pytest.mark.parametrize(
    "fault, says",
    [
        ("wrong secret key", "access denied (are the credentials right?)"),
        ("missing bucket", "bucket 'no-such-bucket' does not exist"),
        ("unreachable endpoint", "cannot connect (is output.s3.endpoint_url right?)"),
    ],
)
def test_object_storage_that_cannot_be_used_is_one_line_before_any_crawl(
    s3_config: S3Config,
    monkeypatch: pytest.MonkeyPatch,
    refused_port: int,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
    fault: str,
    says: str,
) -> None:
    path = s3_config(tmp_path, served, list(small_registry.repositories), s3, bucket)
    with editing(path) as data:
        wrong_secret = "wrong-" + secrets.token_hex(8)
        if fault == "wrong secret key":
            monkeypatch.setenv("OBS_SK", wrong_secret)
        elif fault == "missing bucket":
            data["output"]["lake"] = "s3://no-such-bucket/lake"
        else:
            data["output"]["s3"]["endpoint_url"] = f"http://127.0.0.1:{refused_port}"
    for command in ("sync", "load", "rebuild"):
        result = invoke(command, "-c", str(path), *(["--no-progress"] if command == "sync" else []))
        assert result.exit_code == 2, (command, result.output)
        (line,) = result.output.strip().splitlines()
        assert line.startswith(f"error: {path}: output.lake: "), line
        assert says in line
        assert wrong_secret not in line and s3.secret_key not in line
    assert served.state.stats.requests == 0
    assert not (tmp_path / "swr.duckdb").exists()


def test_several_writers_share_a_lake_and_one_warehouse_loads_them_all(
    s3_config: S3Config,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
) -> None:
    repositories = list(small_registry.repositories)
    north, south = repositories[:15], repositories[15:]
    writers = {
        "north": s3_config(tmp_path / "north", served, north, s3, bucket, endpoint="north"),
        "south": s3_config(tmp_path / "south", served, south, s3, bucket, endpoint="south"),
    }
    warehouse = tmp_path / "warehouse" / "config.yaml"
    warehouse.parent.mkdir()
    warehouse.write_text(yaml.safe_dump({"output": s3.output(bucket)}))
    served.serve(small_registry)
    for path in (writers["north"], writers["south"], writers["north"]):
        assert sync(path).exit_code == 0
    loaded = invoke("load", "-c", str(warehouse))
    assert loaded.exit_code == 0, loaded.output
    assert "loaded 3 run(s)" in loaded.output
    # Both files are called config.yaml: one name, two writers, told apart by identity.
    assert "2 writers write under the name 'config'" in loaded.output
    assert "nothing to load" in invoke("load", "-c", str(warehouse)).output
    db = tmp_path / "warehouse" / "swr.duckdb"
    assert stored_rows(db) == expected_rows(small_registry)
    with reading(db) as con:
        order = con.execute("SELECT writer FROM runs ORDER BY seq").fetchall()
        by_endpoint = con.execute(
            "SELECT endpoint, count(*) FROM repo_summary GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [w for (w,) in order] == ["config", "config", "config"]  # the file's name
    assert by_endpoint == [("north", 15), ("south", 15)]
    # South's writer catches up on north's runs too: each writer's database is a whole one.
    assert sync(writers["south"]).exit_code == 0
    assert stored_rows(tmp_path / "south" / "swr.duckdb") == expected_rows(small_registry)

    # A third config that syncs one of north's repositories under the same endpoint name:
    # the warehouse's load says so.
    rogue = s3_config(tmp_path / "rogue", served, north[:1], s3, bucket, endpoint="north")
    with editing(rogue) as data:
        data["output"]["writer"] = "rogue"
    assert sync(rogue).exit_code == 0
    overlapping = invoke("load", "-c", str(warehouse))
    assert overlapping.exit_code == 0
    namespace, repository = north[0]
    assert f"north/{namespace}/{repository} is synced by two writers: config" in overlapping.output
    assert "rogue" in overlapping.output
    # North learns of it by loading the lake; its plan then names the other writer.
    assert invoke("load", "-c", str(writers["north"])).exit_code == 0
    planned = invoke("plan", "-c", str(writers["north"]))
    assert planned.exit_code == 0, planned.output
    assert "1 of these repositories were last synced by another writer" in planned.output
    assert f"north/{namespace}/{repository} (writer rogue, run " in planned.output


def test_the_secret_key_is_never_stored_or_shown(
    s3_config: S3Config,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
) -> None:
    path = s3_config(tmp_path, served, list(small_registry.repositories)[:3], s3, bucket)
    result = sync(path)
    assert result.exit_code == 0
    client: Any = s3.client()
    stored = b"".join(
        client.get_object(Bucket=bucket, Key=key)["Body"].read() for key in s3.keys(bucket)
    )
    for secret in (s3.secret_key, s3.access_key):
        assert secret not in result.output
        assert secret.encode() not in stored
        assert secret.encode() not in (tmp_path / "swr.duckdb").read_bytes()


def test_an_object_store_that_goes_away_while_a_run_is_written_is_one_line(
    s3_config: S3Config, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    with moto_server() as gone:
        gone.client().create_bucket(Bucket="lake-gone")  # type: ignore[attr-defined]
        path = s3_config(tmp_path, served, list(small_registry.repositories), gone, "lake-gone")
        paused = sync_process(path, "lake-written:STOP")
        deadline = time.monotonic() + 60
        while not stopped(paused.pid) and time.monotonic() < deadline:
            time.sleep(0.02)
    paused.send_signal(signal.SIGCONT)  # the store is gone: the commit record cannot be written
    _, err = paused.communicate(timeout=300)
    assert paused.returncode == 4, err.decode()
    line = err.decode().strip().splitlines()[-1]
    assert line.startswith("error: cannot write the lake at s3://lake-gone/lake: ")
    assert line.endswith(
        "nothing of this run was committed and what it wrote could not all be removed: the "
        "next sync removes it after output.orphan_grace"
    )
    assert gone.secret_key not in err.decode()


def test_thin_on_object_storage_keeps_what_rebuild_reads(
    s3_config: S3Config,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
) -> None:
    repositories = list(small_registry.repositories)
    remote = s3_config(tmp_path, served, repositories, s3, bucket, full_listing_every=0)
    for day in (small_registry, next_day(small_registry), next_day(next_day(small_registry))):
        served.serve(day)
        assert sync(remote).exit_code == 0
    before = versions(tmp_path / "swr.duckdb")
    thinned = invoke(
        "thin",
        "-c",
        str(remote),
        "--older-than",
        "0",
        "--keep-whole-every",
        "3650d",
        "--grace",
        "0",
    )
    assert thinned.output.startswith(f"thinned 2 run(s) of s3://{bucket}/lake"), thinned.output
    keys = s3.keys(bucket, "lake/")
    assert len({k.split("/run_id=")[1].split("/")[0] for k in keys if "/tag_snapshots/" in k}) == 1
    assert not [k for k in keys if "/_thinned/" in k]
    assert invoke("rebuild", "-c", str(remote)).exit_code == 0
    assert versions(tmp_path / "swr.duckdb") == before


@pytest.mark.parametrize("command", ["rebuild", "load", "thin"])
def test_lake_readers_take_the_object_store_keys_from_their_files(
    s3_config: S3Config,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    s3: S3Server,
    bucket: str,
    command: str,
) -> None:
    # As the shipped deploys give them: `output.s3.*_file`, not the environment.
    path = s3_config(tmp_path, served, list(small_registry.repositories)[:5], s3, bucket)
    with editing(path) as data:
        for name, value in (("access_key", s3.access_key), ("secret_key", s3.secret_key)):
            (tmp_path / name).write_text(value + "\n")
            del data["output"]["s3"][name]
            data["output"]["s3"][f"{name}_file"] = name
    assert sync(path).exit_code == 0
    result = invoke(command, "-c", str(path))
    assert result.exit_code == 0, result.output
    assert s3.secret_key not in result.output


def test_a_cleanup_on_object_storage_is_one_object_that_rebuild_reads(
    s3_config: S3Config, tmp_path: Path, s3: S3Server, bucket: str
) -> None:
    registry = generate_registry(repos=4, seed=11, now=datetime.now(UTC))  # deletes change it
    plan = tmp_path / "plan.json"
    with ServerThread(registry) as fake:
        path = s3_config(tmp_path, fake, list(registry.repositories), s3, bucket)
        assert sync(path).exit_code == 0
        made = invoke(
            "cleanup", "plan", "-c", str(path), "--older-than", "365d", "--out", str(plan)
        )
        assert made.exit_code == 0, made.output
        result = invoke(
            "cleanup", "apply", "-c", str(path), str(plan), "--yes", "--max-deletions", "999"
        )
        assert result.exit_code == 0, result.output
    keys = [k for k in s3.keys(bucket) if k.startswith("lake/cleanups/")]
    assert len(keys) == 1
    assert re.fullmatch(r"lake/cleanups/applied_date=\d{4}-\d\d-\d\d/[\w.-]+\.parquet", keys[0])

    def audit() -> list[tuple[Any, ...]]:
        with reading(tmp_path / "swr.duckdb") as con:
            return sorted(con.execute("SELECT tag, result FROM cleanup_deletions").fetchall())

    recorded = audit()
    assert len(recorded) == len(json.loads(plan.read_text())["tags"]) > 0
    (tmp_path / "swr.duckdb").unlink()
    assert invoke("rebuild", "-c", str(path)).exit_code == 0
    assert audit() == recorded
