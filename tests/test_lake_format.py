"""The lake's format (docs/lake-format.md): every commit record states the format it was written
in; a reader refuses a run of a newer format, or one listing a table it does not know, with one
line and exit 4 — never reading part of the lake with exit 0 — and reads every older format."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import Result

from etl import schemas
from etl.config_file import load_config
from etl.fakeswr import ServerThread, generate_registry, next_day
from etl.job import run_sync
from etl.store import cleanups, commits
from etl.store.queries import sql
from etl.store.storage import local_store
from tests import configs
from tests.api import quicken_retries
from tests.commands import invoke
from tests.configs import Discovering, editing
from tests.stored import lake_state, query, states_by_run

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

FIXTURES = Path(__file__).parent / "fixtures"


SECRETS = ("SWR_TOKEN", "IAM_PASSWORD", "HW_AK", "HW_SK")


@dataclass(frozen=True)
class Synced:
    """A folder whose config, lake and database two syncs wrote, and the secrets its config
    names (their server is gone, as in every test here: the readers meet the lake alone)."""

    folder: Path
    secrets: dict[str, str]


@pytest.fixture(scope="module")
def two_syncs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    """Two syncs (changes included), made once for the module; each test changes a copy."""
    folder = tmp_path_factory.mktemp("synced-twice")
    registry = generate_registry(repos=8, tags=120, seed=11)
    with pytest.MonkeyPatch.context() as patch, ServerThread(registry) as server:
        quicken_retries(patch)
        path = configs.discovering(
            folder, server, [{"namespace": "*", "repositories": ["*"]}], env=patch
        )
        assert run_sync(load_config(path)).exit_code == 0
        server.serve(next_day(registry, churn=0.1))
        assert run_sync(load_config(path)).exit_code == 0
        secrets = {name: os.environ[name] for name in SECRETS}
    yield Synced(folder, secrets)


@pytest.fixture
def synced_twice(two_syncs: Synced, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Return the config of this test's copy of a lake and database that two syncs wrote."""
    shutil.copytree(two_syncs.folder, tmp_path, dirs_exist_ok=True)
    for name, value in two_syncs.secrets.items():
        monkeypatch.setenv(name, value)
    return tmp_path / "config.yaml"


def rewrite_latest_record(lake: Path, change: Callable[[dict[str, object]], None]) -> str:
    """Rewrite the commit record of the lake's latest run as a newer release (or another tool)
    might have written it; return the run's id. A `lake_format` that is no integer is written
    with the type of its value."""
    date, run_id = commits.listed_runs(local_store(lake))[-1]
    path = lake / "runs" / f"snapshot_date={date}" / f"run_id={run_id}" / commits.COMMIT_RECORD
    row = pq.read_table(path).to_pylist()[0]
    change(row)
    stated = row["lake_format"]
    kind = {str: pa.string(), float: pa.float64()}.get(type(stated), pa.int32())
    fields = [f.with_type(kind) if f.name == "lake_format" else f for f in schemas.RUN_SCHEMA]
    fields += [pa.field(name, pa.string()) for name in row if name not in schemas.RUN_SCHEMA.names]
    pq.write_table(pa.Table.from_pylist([row], schema=pa.schema(fields)), path)
    return run_id


def newer_format(row: dict[str, object]) -> None:
    row["lake_format"] = schemas.LAKE_FORMAT + 1
    row["coming_later"] = "a column this release does not know"  # ignored, like any new column


def unknown_table(row: dict[str, object]) -> None:
    files = row["files"]
    assert isinstance(files, list)
    files.append({"table": "tag_futures", "file": "tag_futures.parquet", "rows": 3})


def listing_runs(row: dict[str, object]) -> None:
    files = row["files"]
    assert isinstance(files, list)
    files.append({"table": "runs", "file": "runs-2.parquet", "rows": 1})


def stating(value: object) -> Callable[[dict[str, object]], None]:
    """A record stating `value` as its lake format (only a record without the column is 1)."""

    def change(row: dict[str, object]) -> None:
        row["lake_format"] = value

    return change


def parquet_files(lake: Path) -> dict[str, bytes]:
    """Every Parquet file of the lake, by path, with its bytes."""
    return {str(p.relative_to(lake)): p.read_bytes() for p in sorted(lake.rglob("*.parquet"))}


READERS = [
    pytest.param(lambda config: invoke("sync", "-c", str(config)), id="sync-catching-up"),
    pytest.param(lambda config: invoke("load", "-c", str(config)), id="load"),
    pytest.param(lambda config: invoke("rebuild", "-c", str(config)), id="rebuild"),
    pytest.param(lambda config: invoke("thin", "-c", str(config)), id="thin"),
    # What a sync would refuse, before any request: the plan says it too, writing nothing.
    pytest.param(lambda config: invoke("plan", "-c", str(config)), id="plan"),
]
NOT_A_FORMAT = "not a lake format this release knows"
WHAT = [
    pytest.param(newer_format, f"lake format {schemas.LAKE_FORMAT + 1}", id="newer-format"),
    pytest.param(unknown_table, "a table 'tag_futures'", id="unknown-table"),
    pytest.param(listing_runs, "a table 'runs'", id="files-naming-runs"),
    *(
        pytest.param(stating(value), f"lake_format {value!r}, {NOT_A_FORMAT}", id=case)
        for value, case in [
            (None, "null-format"),
            ("3", "a-string-format"),
            ("abc", "a-word-format"),
            (2.5, "a-fractional-format"),
            (0, "format-0"),
            (-1, "a-negative-format"),
        ]
    ),
]


@pytest.mark.parametrize("what, said", WHAT)
@pytest.mark.parametrize("reader", READERS)
def test_a_run_this_release_cannot_read_is_refused_with_one_line_and_exit_4(
    synced_twice: Path,
    tmp_path: Path,
    reader: Callable[[Path], Result],
    what: Callable[..., None],
    said: str,
) -> None:
    config = synced_twice
    run_id = rewrite_latest_record(tmp_path / "lake", what)
    # The older reader's own database lacks the newer run (a warehouse upgraded later, a
    # rolled-back binary): it is removed here, so every reader must meet the run.
    db = tmp_path / "swr.duckdb"
    db.unlink()
    lake_before = parquet_files(tmp_path / "lake")
    for attempt in range(3):  # never set aside: the same answer every time
        result = reader(config)
        assert result.exit_code == 4, (attempt, result.output)
        lines = [line for line in result.output.splitlines() if line.startswith("error:")]
        assert len(lines) == 1 and "Traceback" not in result.output
        assert run_id in lines[0] and said in lines[0]
        assert f"reads lake formats up to {schemas.LAKE_FORMAT}" in lines[0]
        if db.exists():
            assert query(db, "SELECT count(*) FROM runs") == [(0,)]
            assert query(db, "SELECT count(*) FROM load_failures") == [(0,)]
    assert parquet_files(tmp_path / "lake") == lake_before


def test_rebuild_refusing_a_newer_run_leaves_the_database_as_it_was(
    synced_twice: Path, tmp_path: Path
) -> None:
    config = synced_twice
    db = tmp_path / "swr.duckdb"
    before = query(db, "SELECT * FROM tag_history ORDER BY ALL")
    rewrite_latest_record(tmp_path / "lake", newer_format)
    assert invoke("rebuild", "-c", str(config)).exit_code == 4
    assert query(db, "SELECT * FROM tag_history ORDER BY ALL") == before


def test_every_commit_record_states_the_format_it_was_written_in(
    synced_twice: Path, tmp_path: Path
) -> None:
    store = local_store(tmp_path / "lake")
    found = [commits.read_commit(store, d, r) for d, r in commits.listed_runs(store)]
    assert [c.lake_format for c in found] == [schemas.LAKE_FORMAT] * 2
    assert all(c.row.column("lake_format")[0].as_py() == schemas.LAKE_FORMAT for c in found)


# Lakes earlier releases wrote (tests/fixtures/README.md), with the registries they synced.
EARLIER_LAKES = [
    pytest.param(
        "lake-before-deltas",
        lambda: next_day(next_day(generate_registry(repos=8, tags=120, seed=11), churn=0.1), 0.1),
        2,
        id="before-changes",
    ),
    pytest.param(
        "lake-unversioned",
        lambda: next_day(next_day(generate_registry(repos=6, tags=60, seed=21), 0.15), 0.15),
        3,
        id="changes-before-lake-format",
    ),
]


@pytest.mark.parametrize("fixture, registry, runs", EARLIER_LAKES)
def test_a_lake_of_an_earlier_format_is_read_continued_and_rebuilt(
    discovering: Discovering,
    tmp_path: Path,
    fixture: str,
    registry: Callable[[], object],
    runs: int,
) -> None:
    shutil.copytree(FIXTURES / fixture, tmp_path / "lake")
    store = local_store(tmp_path / "lake")
    assert {
        commits.read_commit(store, d, r).lake_format for d, r in commits.listed_runs(store)
    } == {schemas.UNVERSIONED_LAKE_FORMAT}
    with ServerThread(registry()) as server:  # type: ignore[arg-type]
        path = discovering(tmp_path, server, [{"namespace": "*", "repositories": ["*"]}])
        with editing(path) as data:
            data["output"]["full_listing_every"] = "36500d"  # the old runs' listings count
        outcome = run_sync(load_config(path))
        assert outcome.exit_code == 0 and len(outcome.caught_up) == runs
        assert run_sync(load_config(path)).exit_code == 0
    db = tmp_path / "swr.duckdb"
    for run_id, state in states_by_run(db).items():
        assert lake_state(tmp_path / "lake", run_id) == state, run_id
    before = query(db, "SELECT * FROM tag_history ORDER BY ALL")
    assert invoke("rebuild", "-c", str(path)).exit_code == 0
    assert query(db, "SELECT * FROM tag_history ORDER BY ALL") == before


SPEC = Path(__file__).resolve().parents[1] / "docs" / "lake-format.md"
LAKE_SCHEMAS = {
    "tag_snapshots": schemas.SNAPSHOT_SCHEMA,
    "target_runs": schemas.TARGET_RUN_SCHEMA,
    "manifests": schemas.MANIFEST_SCHEMA,
    "repositories": schemas.REPOSITORY_ROW_SCHEMA,
    "discoveries": schemas.DISCOVERY_SCHEMA,
    "runs": schemas.RUN_SCHEMA,
    "cleanups": schemas.CLEANUP_SCHEMA,
}


def spec_columns(table: str) -> list[tuple[str, str]]:
    """The (column, type) rows of one table's section of the specification."""
    text = SPEC.read_text(encoding="utf-8")
    section = text[text.index(f"### `{table}`") :]
    section = section[: section.find("\n### ", 1)] if "\n### " in section[1:] else section
    rows = [line.split(" | ") for line in section.splitlines() if line.startswith("| `")]
    return [(cells[0].strip("| `"), cells[1].strip()) for cells in rows]


@pytest.mark.parametrize("table", [*LAKE_SCHEMAS, "tag_deltas"])
def test_the_specification_lists_every_column_the_lake_holds_with_its_type(table: str) -> None:
    if table == "tag_deltas":  # the columns of tag_snapshots, then `op`
        assert spec_columns(table)[-1] == ("op", str(schemas.DELTA_SCHEMA.field("op").type))
        assert schemas.DELTA_SCHEMA.names == [*schemas.SNAPSHOT_SCHEMA.names, "op"]
        return
    written = [(f.name, str(f.type)) for f in LAKE_SCHEMAS[table]]
    assert spec_columns(table) == written


def test_the_specification_states_this_release_s_format_and_the_query_the_code_runs() -> None:
    text = SPEC.read_text(encoding="utf-8")
    assert f"| {schemas.LAKE_FORMAT} | this release |" in text
    block = text[text.index("```sql\n") + len("```sql\n") :]
    block = block[: block.index("```")].rstrip().rstrip(";")
    assert block == sql("lake/state").split("\n", 1)[1].rstrip().rstrip(";")


@pytest.mark.parametrize("reader", READERS[:3])
def test_a_cleanup_record_of_a_newer_format_is_refused_too(
    synced_twice: Path, tmp_path: Path, reader: Callable[[Path], Result]
) -> None:
    config = synced_twice
    store = local_store(tmp_path / "lake")
    path = cleanups.cleanup_path(store, "20991231T000000.000000Z-abcdef", datetime.now(UTC))
    Path(path).parent.mkdir(parents=True)
    newer = {cleanups.FORMAT_KEY: str(schemas.LAKE_FORMAT + 1).encode()}
    pq.write_table(schemas.CLEANUP_SCHEMA.empty_table().replace_schema_metadata(newer), path)
    (tmp_path / "swr.duckdb").unlink()
    result = reader(config)
    assert result.exit_code == 4, result.output
    (line,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert "cleanup record 20991231T000000.000000Z-abcdef.parquet" in line
    assert f"lake format {schemas.LAKE_FORMAT + 1}" in line
