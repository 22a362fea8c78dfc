"""The lake and the warehouse against operator mistakes and a moving clock: a run DuckDB
refuses is set aside instead of blocking every sync, `rebuild` never erases the database from
an empty or damaged lake, runs keep their order when the clock jumps back, and two configs
cannot write one lake at once."""

from __future__ import annotations

import signal
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from click.testing import Result

import etl.run.start
from etl.fakeswr import FakeSwr, Options, Registry, next_day
from etl.store import commits
from etl.store.storage import local_store
from tests.commands import invoke, sync, sync_process
from tests.configs import WriteConfig, editing
from tests.registries import expected_rows
from tests.stored import reading, stored_rows, table_rows


def rebuild(path: Path, *args: str) -> Result:
    return invoke("rebuild", "-c", str(path), *args)


def only_committed_run(lake: Path) -> commits.Commit:
    (commit,) = commits.commits_in_order(local_store(lake), commits.listed_runs(local_store(lake)))
    return commit


def poison(lake: Path, run_id: str) -> None:
    """Rewrite a committed run's records so that DuckDB refuses them (a repository without an
    endpoint), keeping the row count its commit record lists: a run that found nothing
    changed stores no tag to spoil."""
    (date, _), *_ = [r for r in commits.listed_runs(local_store(lake)) if r[1] == run_id]
    (path,) = commits.read_commit(local_store(lake), date, run_id).files_of("target_runs")
    table = pq.read_table(path)
    names = table.column("endpoint").to_pylist()
    names[0] = None
    table = table.set_column(table.schema.get_field_index("endpoint"), "endpoint", pa.array(names))
    pq.write_table(table, path)


def test_a_run_duckdb_refuses_twice_is_set_aside_and_syncs_go_on(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    crashed = sync_process(path, "lake-published")  # committed to the lake, not to DuckDB
    crashed.communicate(timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    lake = tmp_path / "lake"
    poisoned = max(r for _, r in commits.listed_runs(local_store(lake)))
    poison(lake, poisoned)

    first = sync(path)
    assert first.exit_code == 4, first.output
    last = first.output.strip().splitlines()[-1]
    assert f"DuckDB could not load run {poisoned}" in last
    assert "the next sync tries it once more, then sets it aside" in last

    second = sync(path)
    assert second.exit_code == 0, second.output
    assert (
        f"run {poisoned} failed to load twice and is set aside for this database" in second.output
    )
    # Set aside for this database alone: the lake, which other writers may share, is untouched.
    assert not (lake / commits.SET_ASIDE).exists()
    assert poisoned in {r for _, r in commits.listed_runs(local_store(lake))}
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)

    third = sync(path)  # reported again, every run, until someone acts
    assert third.exit_code == 0
    assert f"run {poisoned} is set aside for this database and missing from it" in third.output
    before = table_rows(tmp_path / "swr.duckdb")
    assert rebuild(path).exit_code == 0
    assert table_rows(tmp_path / "swr.duckdb") == before


@pytest.mark.parametrize(
    "damage",
    [
        pytest.param("lake-missing", id="lake-unmounted-refused"),
        pytest.param("lake-empty", id="lake-emptied-refused"),
        pytest.param("one-run-pruned", id="fewer-runs-than-the-database-refused"),
    ],
)
def test_rebuild_refuses_a_lake_with_fewer_runs_than_the_database(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    damage: str,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    served.serve(next_day(small_registry))
    assert sync(path).exit_code == 0
    before = table_rows(tmp_path / "swr.duckdb")
    lake = tmp_path / "lake"
    if damage == "lake-missing":
        lake.rename(tmp_path / "elsewhere")
    elif damage == "lake-empty":
        for table in ("runs", "tag_snapshots", "target_runs", "manifests"):
            for folder in (lake / table).glob("*/*"):
                for file in folder.iterdir():
                    file.unlink()
                folder.rmdir()
    else:
        date, run_id = commits.listed_runs(local_store(lake))[0]
        for file in (lake / "runs" / f"snapshot_date={date}" / f"run_id={run_id}").iterdir():
            file.unlink()
    result = rebuild(path)
    assert result.exit_code == 2, result.output
    assert "rebuilding would lose runs" in result.output and "--force" in result.output
    assert result.output.count("\n") == 1
    assert table_rows(tmp_path / "swr.duckdb") == before
    forced = rebuild(path, "--force")
    assert forced.exit_code == 0, forced.output


class ClockBack(datetime):
    """A wall clock set back by a day (an NTP step, a VM restored from a snapshot)."""

    @classmethod
    def now(cls, tz: Any = None) -> ClockBack:  # type: ignore[override]
        return super().now(tz) - timedelta(days=1)


def test_a_clock_that_jumps_back_keeps_runs_in_order(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    tomorrow = next_day(small_registry)
    served.serve(tomorrow)
    monkeypatch.setattr(etl.run.start, "datetime", ClockBack)
    second = sync(path)
    assert second.exit_code == 0, second.output
    assert "did it jump back?" in second.output
    db = tmp_path / "swr.duckdb"
    with reading(db) as con:
        starts = con.execute("SELECT started_at FROM runs ORDER BY seq").fetchall()
        backwards = con.execute(
            "SELECT count(*) FROM tag_history WHERE valid_to < valid_from"
        ).fetchall()[0][0]
    assert starts[1][0] > starts[0][0]
    assert backwards == 0
    assert stored_rows(db) == expected_rows(tomorrow, list(small_registry.repositories))
    before = table_rows(db)
    assert rebuild(path).exit_code == 0
    assert table_rows(db) == before
    lake_seqs = [
        c.seq
        for c in commits.commits_in_order(
            local_store(tmp_path / "lake"), commits.listed_runs(local_store(tmp_path / "lake"))
        )
    ]
    assert lake_seqs == [1, 2]


class ClockAhead(datetime):
    """A wall clock `offset` ahead of the real one (a machine whose NTP is off)."""

    offset = timedelta(0)

    @classmethod
    def now(cls, tz: Any = None) -> ClockAhead:  # type: ignore[override]
        return super().now(tz) + cls.offset


def writer_config(
    write_config: WriteConfig, folder: Path, served: FakeSwr, repositories: list[Any], lake: Path
) -> Path:
    folder.mkdir()
    path = write_config(folder, served, repositories)
    with editing(path) as data:
        data["output"].update(lake=str(lake), writer=folder.name)
    return path


def test_a_writer_whose_clock_runs_ahead_costs_another_no_daily_whole_listing(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    repositories = list(small_registry.repositories)
    lake = tmp_path / "lake"  # one lake, two writers of other repositories, each its database
    a = writer_config(write_config, tmp_path / "a", served, repositories[:10], lake)
    b = writer_config(write_config, tmp_path / "b", served, repositories[10:], lake)
    monkeypatch.setattr(etl.run.start, "datetime", ClockAhead)
    assert sync(a).exit_code == 0
    ClockAhead.offset = timedelta(days=30)  # b's clock
    assert sync(b).exit_code == 0
    (b_run,) = query_db(tmp_path / "b" / "swr.duckdb", "SELECT run_id FROM runs WHERE writer = 'b'")
    ClockAhead.offset = timedelta(0)  # a's clock is right: b's run starts later than a's now
    after_b = sync(a)
    assert after_b.exit_code == 0, after_b.output
    assert "did it jump back?" not in after_b.output  # a's clock is not to blame
    assert f"of run {b_run[0]} of writer b (" in after_b.output
    ClockAhead.offset = timedelta(days=1)  # the next real day, for a
    assert sync(a).exit_code == 0
    db = tmp_path / "a" / "swr.duckdb"
    listings = query_db(
        db,
        "SELECT DISTINCT listing FROM target_runs WHERE seq = (SELECT max(seq) FROM runs "
        "WHERE writer = 'a')",
    )
    assert listings == [("full",)]  # the day's whole listing, by a's own clock
    starts = [c.started_at for c in commits.commits_in_order(local_store(lake), listed(lake))]
    assert starts == sorted(starts) and len(starts) == 4  # the lake's order: b's run, then a's
    assert stored_rows(db) == expected_rows(small_registry)


def listed(lake: Path) -> list[tuple[str, str]]:
    return commits.listed_runs(local_store(lake))


def query_db(db: Path, sql: str) -> list[tuple[Any, ...]]:
    with reading(db) as con:
        return con.execute(sql).fetchall()


def test_rebuild_names_a_run_whose_files_are_gone(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    before = table_rows(tmp_path / "swr.duckdb")
    commit = only_committed_run(tmp_path / "lake")
    (pruned,) = commit.files_of("tag_snapshots")
    Path(pruned).unlink()
    result = rebuild(path)
    assert result.exit_code == 4, result.output
    assert f"run {commit.run_id}: {pruned} is missing" in result.output
    assert result.output.count("\n") == 1
    assert table_rows(tmp_path / "swr.duckdb") == before
    assert not list(tmp_path.glob("*.rebuild*"))


@pytest.mark.parametrize(
    "stray",
    [
        pytest.param("part-00000 (copy).parquet", id="a-copied-part-ignored"),
        pytest.param("part-00001.parquet", id="a-part-nobody-committed-ignored"),
    ],
)
def test_rebuild_reads_exactly_the_committed_files(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry, stray: str
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    before = table_rows(tmp_path / "swr.duckdb")
    (part,) = only_committed_run(tmp_path / "lake").files_of("tag_snapshots")
    Path(part).with_name(stray).write_bytes(Path(part).read_bytes())
    assert rebuild(path).exit_code == 0
    assert table_rows(tmp_path / "swr.duckdb") == before


def test_rebuild_names_a_file_whose_row_count_changed(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    commit = only_committed_run(tmp_path / "lake")
    (part,) = commit.files_of("tag_snapshots")
    table = pq.read_table(part)
    pq.write_table(pa.concat_tables([table, table.slice(0, 3)]), part)
    result = rebuild(path)
    assert result.exit_code == 4, result.output
    assert (
        f"has {table.num_rows + 3} rows, its commit record says {table.num_rows}" in result.output
    )


@pytest.mark.parametrize("fake_options", [Options(latency_ms=20)])
def test_two_configs_sharing_one_lake_cannot_write_it_at_once(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    first = write_config(tmp_path, served, list(small_registry.repositories), page_size=10)
    other = tmp_path / "other"
    other.mkdir()
    data = yaml.safe_load(first.read_text())
    data["output"] = {"lake": str(tmp_path / "lake"), "duckdb": str(other / "other.duckdb")}
    second = other / "config.yaml"
    second.write_text(yaml.safe_dump(data))
    running = sync_process(first)
    deadline = time.monotonic() + 60
    while served.state.stats.requests < 5 and time.monotonic() < deadline:
        time.sleep(0.02)  # the first sync is crawling: its staging is in the lake
    blocked = sync(second)
    out, err = running.communicate(timeout=120)
    assert running.returncode == 0, err.decode()
    assert blocked.exit_code == 75, blocked.output
    assert f"another sync holds {tmp_path / 'lake' / '_lock'}" in blocked.output
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)
    assert not (other / "other.duckdb").exists()
