"""A writer's identity (etl.run.identity) outlives its database's folder: after a lost volume
and `rebuild`, or in a container with no volume at all, what the config no longer selects still
leaves `tags_current` at the next run. A writer of the same name on other endpoints is never
taken for it."""

from __future__ import annotations

import copy
import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from etl.config_file import load_config
from etl.fakeswr import FakeSwr, ServerThread, generate_registry
from etl.job import run_sync
from etl.run.identity import id_file
from tests.commands import invoke, time_limit
from tests.configs import Discovering, editing
from tests.registries import expected_rows, only
from tests.stored import changes, query, stored_rows

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

REGISTRY = generate_registry(repos=12, seed=7)
EVERYTHING = [{"namespace": "*", "repositories": ["*"]}]


@pytest.fixture
def server() -> Iterator[FakeSwr]:
    with ServerThread(copy.deepcopy(REGISTRY)) as running:
        yield running


def lose_the_volume(folder: Path) -> None:
    """Remove what lives beside the lake on the writer's volume: the database, its writer id."""
    db = folder / "swr.duckdb"
    for path in (db, id_file(db), Path(f"{db}.wal")):
        path.unlink(missing_ok=True)


def rebuilt(folder: Path, config: Path) -> None:
    lose_the_volume(folder)
    result = invoke("rebuild", "-c", str(config))
    assert result.exit_code == 0, result.output


RECOVERIES = [
    pytest.param(rebuilt, id="rebuild-after-a-lost-volume"),
    pytest.param(lambda folder, config: lose_the_volume(folder), id="a-container-without-a-volume"),
]


@pytest.mark.parametrize("recover", RECOVERIES)
def test_what_the_config_no_longer_selects_leaves_after_the_database_file_was_lost(
    discovering: Discovering, tmp_path: Path, server: FakeSwr, recover: Callable[[Path, Path], None]
) -> None:
    config = discovering(tmp_path, server, EVERYTHING)
    assert run_sync(load_config(config)).exit_code == 0
    db = tmp_path / "swr.duckdb"
    first_id = id_file(db).read_text().strip()
    dropped = sorted(REGISTRY.repositories)[:2]
    kept = [
        {"namespace": ns, "repositories": [name]} for ns, name in sorted(REGISTRY.repositories)[2:]
    ]
    recover(tmp_path, config)
    narrowed = discovering(tmp_path, server, kept)
    outcome = run_sync(load_config(narrowed))
    assert outcome.exit_code == 0
    assert id_file(db).read_text().strip() == first_id
    expected = only(REGISTRY, lambda key: key not in dropped)
    assert stored_rows(db) == expected_rows(expected)
    dropped_tags = sum(len(REGISTRY.repositories[key].tags) for key in dropped)
    assert changes(db, 2) == {"untracked": dropped_tags}
    # And again from the next lost volume on: the identity stays the first one.
    recover(tmp_path, narrowed)
    assert run_sync(load_config(narrowed)).exit_code == 0
    assert stored_rows(db) == expected_rows(expected)
    assert query(db, "SELECT DISTINCT writer_id FROM runs") == [(first_id,)]


def test_a_writer_of_the_same_name_on_other_endpoints_is_another_writer(
    discovering: Discovering, tmp_path: Path, server: FakeSwr
) -> None:
    lake = tmp_path / "shared-lake"
    configs = []
    for side in ("north", "south"):  # both files named config.yaml: one writer name
        folder = tmp_path / side
        folder.mkdir()
        path = discovering(folder, server, EVERYTHING)
        with editing(path) as data:
            data["endpoints"][0]["name"] = side
            data["output"]["lake"] = str(lake)
        configs.append(path)
    for path in configs:
        assert run_sync(load_config(path)).exit_code == 0
    ids = {id_file(path.parent / "swr.duckdb").read_text() for path in configs}
    assert len(ids) == 2
    # South loses its volume: it takes back its own identity, not north's.
    south_id = id_file(tmp_path / "south" / "swr.duckdb").read_text()
    lose_the_volume(tmp_path / "south")
    assert run_sync(load_config(configs[1])).exit_code == 0
    assert id_file(tmp_path / "south" / "swr.duckdb").read_text() == south_id
    both = query(tmp_path / "south" / "swr.duckdb", "SELECT count(*) FROM tags_current")
    assert both == [(2 * sum(len(r.tags) for r in REGISTRY.repositories.values()),)]


@pytest.mark.parametrize(
    "make, said",
    [
        pytest.param(os.mkfifo, "is a FIFO (named pipe), not a regular file", id="a-fifo"),
        pytest.param(Path.mkdir, "is a directory, not a regular file", id="a-directory"),
    ],
)
@pytest.mark.parametrize("command", ["sync", "plan", "load"])
def test_a_writer_id_that_is_no_file_is_one_line_exit_4_naming_it(
    discovering: Discovering,
    tmp_path: Path,
    server: FakeSwr,
    make: Callable[[Path], None],
    said: str,
    command: str,
) -> None:
    config = discovering(tmp_path, server, EVERYTHING)
    assert run_sync(load_config(config)).exit_code == 0
    kept = id_file(tmp_path / "swr.duckdb")
    kept.unlink()
    make(kept)
    with time_limit(60):  # a FIFO read as the id would wait for a writer forever
        result = invoke(command, "-c", str(config))
    assert result.exit_code == 4, result.output
    assert result.output == f"error: cannot use the writer's identity {kept}: it {said}\n"


@pytest.mark.parametrize(
    "garbage",
    [
        pytest.param(b"not an id\n", id="text"),
        pytest.param(b"\xff\xfe\x00garbage", id="binary"),
        pytest.param(b"0123456789abcdef" * 200, id="too-long"),
    ],
)
def test_a_damaged_writer_id_is_said_to_be_replaced_and_is(
    discovering: Discovering,
    tmp_path: Path,
    server: FakeSwr,
    garbage: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    config = discovering(tmp_path, server, EVERYTHING)
    assert run_sync(load_config(config)).exit_code == 0
    kept = id_file(tmp_path / "swr.duckdb")
    first = kept.read_text().strip()
    kept.write_bytes(garbage)
    with caplog.at_level(logging.INFO, logger="etl.run.identity"):
        assert run_sync(load_config(config)).exit_code == 0
    (said,) = [r.getMessage() for r in caplog.records if r.name == "etl.run.identity"]
    assert said == (
        f"{kept} held no writer id (damaged) and is replaced: this writer takes back its "
        f"identity {first} from the lake"
    )
    assert "missing" not in said
    assert kept.read_text() == first + "\n"
