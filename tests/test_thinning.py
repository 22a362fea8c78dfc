"""`swr-etl thin`: old whole listings become changes; every reader still sees every run as it
was, `rebuild` still equals the database, and a kill at any step loses nothing."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import etl.run.start
from etl.config_file import load_config
from etl.failpoints import ENV, THIN_FAILPOINTS
from etl.fakeswr import FakeSwr, Registry, ServerThread, generate_registry, next_day
from etl.job import run_sync
from etl.store import commits, queries
from etl.store.loading import rebuild
from etl.store.storage import local_store
from tests import configs
from tests.api import quicken_retries
from tests.commands import invoke
from tests.configs import editing
from tests.stored import docs_sql, lake_state, query, states_by_run

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

EVERYTHING = [{"namespace": "*", "repositories": ["*"]}]
FIXTURES = Path(__file__).parent / "fixtures"  # lakes that earlier releases wrote


def clock_at(moment: datetime) -> type[datetime]:
    """A wall clock that reads `moment` now and runs on from there."""
    offset = moment - datetime.now(UTC)

    class Shifted(datetime):
        @classmethod
        def now(cls, tz: Any = None) -> datetime:  # type: ignore[override]
            return datetime.now(tz) + offset

    return Shifted


def first_day() -> datetime:
    """Midnight UTC three days ago, or earlier: the history's first day. Its three days lie in
    one 30-day period (counted from the epoch, as `--keep-whole-every 30d` counts), whatever
    today's date."""
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(3)
    period = timedelta(30).total_seconds()
    boundary = datetime.fromtimestamp((day + timedelta(3)).timestamp() // period * period, UTC)
    return boundary - timedelta(3) if boundary > day else day


def config_for(
    folder: Path, server: FakeSwr, targets: list[dict[str, Any]], patch: pytest.MonkeyPatch
) -> Path:
    """A config in `folder` that syncs `targets` into `folder.parent`'s lake and database."""
    path = configs.write_config(folder, server, [("platform", "api")], env=patch)
    with editing(path) as data:
        data["endpoints"][0]["targets"] = targets
        data["output"] = {
            "lake": str(folder.parent / "lake"),
            "duckdb": str(folder.parent / "swr.duckdb"),
        }
    return path


def registry_at(index: int) -> Registry:
    """The registry the history's sync `index` finds: 10% of tags change from one to the
    next, and the first repository is deleted after the first sync."""
    day = generate_registry(repos=10, seed=7)
    gone = sorted(day.repositories)[0]
    for _ in range(index):
        day = next_day(day, churn=0.1)
        day.repositories.pop(gone, None)
    return day


# The history's syncs: (day, hour); the first of each day lists every repository whole.
SYNCS = [(0, 1), (0, 2), (1, 1), (1, 2), (1, 3), (2, 1), (2, 2)]


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A folder with a lake and a database of seven syncs over three UTC days, all in the
    past: the first of each day lists every repository whole, the others store changes; one
    repository is deleted, one fails for a run, some leave the scope for a run."""
    folder = tmp_path_factory.mktemp("history")
    registry = registry_at(0)
    failing = sorted(registry.repositories)[1]
    with pytest.MonkeyPatch.context() as patch, ServerThread(registry) as server:
        quicken_retries(patch)
        (folder / "all").mkdir()
        (folder / "narrowed").mkdir()
        path = config_for(folder / "all", server, EVERYTHING, patch)
        narrowed = [{**EVERYTHING[0], "exclude": ["*/w*"]}]
        narrowed_path = config_for(folder / "narrowed", server, narrowed, patch)
        for index, (days, hours) in enumerate(SYNCS):
            moment = first_day() + timedelta(days, hours=hours)
            patch.setattr(etl.run.start, "datetime", clock_at(moment))
            server.options.broken_repositories = {failing} if index == 3 else set()
            server.serve(registry_at(index))
            outcome = run_sync(load_config(narrowed_path if index == 4 else path))
            assert outcome.exit_code == (1 if index == 3 else 0)
    yield folder


@pytest.fixture
def synced(history: Path, tmp_path: Path) -> Path:
    """A copy of `history` to change."""
    subprocess.run(["cp", "-a", f"{history}/.", str(tmp_path)], check=True)
    for config in tmp_path.glob("*/config.yaml"):
        config.write_text(config.read_text().replace(str(history), str(tmp_path)))
    return tmp_path


def thin(folder: Path, *args: str) -> str:
    result = invoke("thin", "-c", str(folder / "all" / "config.yaml"), *args)
    assert result.exit_code == 0, result.output
    return result.output


def record_read(folder: Path, into: Path) -> list[tuple[Any, ...]]:
    """The tag history a database rebuilt from the lake's commit records holds."""
    rebuild(into, local_store(folder / "lake"))
    return query(into, "SELECT * FROM tag_history ORDER BY ALL")


def lake_bytes(folder: Path, table: str) -> int:
    return sum(p.stat().st_size for p in (folder / "lake" / table).rglob("*.parquet"))


def unlisted_files(lake: Path) -> list[str]:
    """Files in committed runs' partitions that their commit records do not list."""
    store = local_store(lake)
    found = []
    for date, run_id in commits.listed_runs(store):
        commit = commits.read_commit(store, date, run_id)
        listed = {
            path
            for table in ("tag_snapshots", "tag_deltas", "target_runs")
            for path in commit.files_of(table)
        }
        for table in ("tag_snapshots", "tag_deltas", "target_runs"):
            for path in (lake / table).glob(f"*/run_id={run_id}/*"):
                if str(path) not in listed:
                    found.append(str(path))
    return found


def test_the_documented_query_is_the_one_the_lake_is_thinned_with() -> None:
    query_text = docs_sql(
        "other-engines.md", "`target_runs`, `tag_snapshots` and `tag_deltas`, and is the same text"
    )
    owned = queries.sql("lake/state").split("\n", 1)[1]  # after its comment line
    assert owned.rstrip().rstrip(";") == query_text


@pytest.mark.parametrize(
    ("keep", "thinned", "share"),
    [
        pytest.param("30d", 3, 0.5, id="keep-the-first-whole-listing-of-each-30-days"),
        pytest.param("1d", 1, 1.0, id="keep-the-first-of-each-day"),
    ],
)
def test_thinned_runs_read_as_before_and_rebuild_to_the_database(
    synced: Path, keep: str, thinned: int, share: float
) -> None:
    db = synced / "swr.duckdb"
    states = states_by_run(db)
    history = query(db, "SELECT * FROM tag_history ORDER BY ALL")
    snapshots = lake_bytes(synced, "tag_snapshots")
    said = thin(synced, "--older-than", "0", "--keep-whole-every", keep, "--grace", "0")
    assert said.startswith(f"thinned {thinned} run(s) of {synced / 'lake'}")
    for run_id, state in states.items():
        assert lake_state(synced / "lake", run_id) == state, run_id
    assert lake_bytes(synced, "tag_snapshots") < snapshots * share
    assert not unlisted_files(synced / "lake") and not list(
        (synced / "lake" / "_thinned").iterdir()
    )
    assert record_read(synced, synced / "rebuilt.duckdb") == history
    again = thin(synced, "--older-than", "0", "--keep-whole-every", keep, "--grace", "0")
    assert again.startswith("thinned 0 run(s)")


def test_a_sync_after_thin_continues_the_history(
    synced: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    thin(synced, "--older-than", "0", "--grace", "0")
    later = first_day() + timedelta(2, hours=3)  # the third day still: changes
    monkeypatch.setattr(etl.run.start, "datetime", clock_at(later))
    with ServerThread(registry_at(len(SYNCS))) as server:
        config = config_for(synced / "all", server, EVERYTHING, monkeypatch)
        assert run_sync(load_config(config)).exit_code == 0
    db = synced / "swr.duckdb"
    assert query(db, "SELECT listing FROM target_runs WHERE seq = 8 LIMIT 1") == [("delta",)]
    for run_id, state in states_by_run(db).items():
        assert lake_state(synced / "lake", run_id) == state, run_id
    assert record_read(synced, synced / "rebuilt.duckdb") == query(
        db, "SELECT * FROM tag_history ORDER BY ALL"
    )


@pytest.mark.slow  # a whole `swr-etl thin` process, killed at each step
@pytest.mark.parametrize("moment", THIN_FAILPOINTS)
def test_a_thin_killed_at_any_step_leaves_every_reader_right(
    synced: Path, moment: str, tmp_path: Path
) -> None:
    db = synced / "swr.duckdb"
    states = states_by_run(db)
    history = query(db, "SELECT * FROM tag_history ORDER BY ALL")
    args = ["-m", "etl", "thin", "-c", str(synced / "all" / "config.yaml"), "--older-than", "0"]
    killed = subprocess.run(
        [sys.executable, *args, "--grace", "0"],
        # Its DuckDB spill folder, which a kill leaves behind, in the test's folder.
        env={**os.environ, ENV: moment, "TMPDIR": str(tmp_path)},
        capture_output=True,
        check=False,
    )
    assert killed.returncode == -9, killed.stderr.decode()
    # Readers of the folders (docs/other-engines.md's views) and of the records (`rebuild`) are right.
    for run_id, state in states.items():
        assert lake_state(synced / "lake", run_id) == state, (moment, run_id)
    assert record_read(synced, synced / "after-kill.duckdb") == history
    # The next thin finishes the work and clears what the killed one left.
    thin(synced, "--older-than", "0", "--grace", "0")
    for run_id, state in states.items():
        assert lake_state(synced / "lake", run_id) == state, (moment, run_id)
    assert record_read(synced, synced / "rebuilt.duckdb") == history
    assert not unlisted_files(synced / "lake")
    assert not list((synced / "lake" / "_thinned").iterdir())
    assert not list((synced / "lake" / "_staging").glob("thin-*"))


def test_replaced_files_stay_for_the_grace_and_the_next_sync_deletes_them(
    synced: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    thin(synced, "--older-than", "0")  # output.orphan_grace: 6h by default
    replaced = unlisted_files(synced / "lake")
    assert replaced and all(Path(p).exists() for p in replaced)
    markers = list((synced / "lake" / "_thinned").iterdir())
    past = (datetime.now(UTC) - timedelta(hours=7)).timestamp()
    for marker in markers:
        os.utime(marker, (past, past))
    with ServerThread(registry_at(len(SYNCS))) as server:
        run_sync(load_config(config_for(synced / "all", server, EVERYTHING, monkeypatch)))
    assert not unlisted_files(synced / "lake")
    assert not list((synced / "lake" / "_thinned").iterdir())


def test_a_run_whose_listed_file_is_missing_stops_thin_in_one_line(synced: Path) -> None:
    store = local_store(synced / "lake")
    ordered = commits.commits_in_order(store, commits.listed_runs(store))
    damaged = [c for c in ordered if c.files and c.files.get("tag_snapshots")][-1]
    Path(damaged.files_of("tag_snapshots")[0]).unlink()
    config = str(synced / "all" / "config.yaml")
    result = invoke("thin", "-c", config, "--older-than", "0", "--grace", "0")
    assert result.exit_code == 4
    assert f"error: run {damaged.run_id}: " in result.output and "is missing" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert commits.read_commit(store, damaged.snapshot_date, damaged.run_id).files == damaged.files


def test_a_lake_written_before_deltas_is_thinned_and_reads_as_before(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its target_runs have no `listing` column; every run listed every repository whole.
    shutil.copytree(FIXTURES / "lake-before-deltas", tmp_path / "lake")
    day = next_day(next_day(generate_registry(repos=8, tags=120, seed=11), churn=0.1), churn=0.1)
    (tmp_path / "all").mkdir()
    with ServerThread(day) as server:
        config = config_for(tmp_path / "all", server, EVERYTHING, monkeypatch)
        assert run_sync(load_config(config)).exit_code == 0  # loads the two old runs
    db = tmp_path / "swr.duckdb"
    states = states_by_run(db)
    history = query(db, "SELECT * FROM tag_history ORDER BY ALL")
    said = thin(tmp_path, "--older-than", "0", "--keep-whole-every", "36500d", "--grace", "0")
    assert said.startswith("thinned 2 run(s)"), said  # the second old run, and today's
    for run_id, state in states.items():
        assert lake_state(tmp_path / "lake", run_id) == state, run_id
    assert record_read(tmp_path, tmp_path / "rebuilt.duckdb") == history
