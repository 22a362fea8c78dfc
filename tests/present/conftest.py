"""A warehouse that says something to every surface: two syncs of four repositories a day
apart. On day two one repository lost a tag, saw one moved to another digest and one pushed;
another answered HTTP 500 (it did not sync: its day-one tags stand); a third was deleted (SWR
says it is gone: it synced, and holds nothing). Built once per session by the real sync
against the local SWR API; the tests read it, never write it."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from etl.cli import cli
from etl.config_file import load_config
from etl.fakeswr import Options, Registry, ServerThread, generate_registry
from etl.fakeswr.registry import Tag
from etl.job import run_sync
from etl.results import SyncOutcome
from tests.conftest import write_config

CHANGED = ("platform", "web")  # a tag deleted, one moved to another digest, one pushed
BROKEN = ("platform", "worker")  # answers 500 on day two
GONE = ("platform", "base/nginx")  # deleted before day two
NEW_DIGEST = "sha256:" + "7" * 64


@dataclass(frozen=True)
class TwoDays:
    """The two days' registries, what changed between them, the syncs' outcomes and where the
    warehouse is."""

    day1: Registry
    day2: Registry
    deleted: Tag
    moved: tuple[Tag, Tag]  # before, after
    pushed: Tag
    outcomes: list[SyncOutcome]
    config: Path

    @property
    def db(self) -> Path:
        return self.config.parent / "swr.duckdb"

    def cli(self, command: str, *args: str) -> Result:
        """Run `swr-etl COMMAND -c CONFIG ARGS…`."""
        return CliRunner().invoke(cli, [command, "-c", str(self.config), *args])

    def current(self, *keys: tuple[str, str]) -> list[Tag]:
        """Return the tags the warehouse holds after day two (of `keys`, else of every
        repository): day two's, but the broken repository's from day one."""
        return [
            tag
            for key in keys or self.day2.repositories
            for tag in (self.day1 if key == BROKEN else self.day2).tags(*key)
        ]


def day_two(day1: Registry) -> tuple[Registry, Tag, tuple[Tag, Tag], Tag]:
    """Return day one's registry without GONE, with CHANGED's first tag deleted, its second
    moved to another digest and size, and a tag pushed; and those tags."""
    day2 = copy.deepcopy(day1)
    del day2.repositories[GONE]
    tags = day2.repositories[CHANGED].tags
    deleted, before = tags[0], tags[1]
    after = dataclasses.replace(before, digest=NEW_DIGEST, size=before.size + 1_000_000)
    pushed = dataclasses.replace(tags[2], tag="pushed-on-day-two", id=day2.next_id)
    day2.repositories[CHANGED].tags = [after, *tags[2:], pushed]
    return day2, deleted, (before, after), pushed


@pytest.fixture(scope="session")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoDays]:
    directory = tmp_path_factory.mktemp("two-days")
    day1 = generate_registry(repos=4, seed=2, edge_sizes=False)
    assert {CHANGED, BROKEN, GONE} <= day1.repositories.keys()
    day2, deleted, moved, pushed = day_two(day1)
    options = Options()
    with ServerThread(copy.deepcopy(day1), options=options) as server:
        with pytest.MonkeyPatch.context() as env:
            # One attempt: the broken repository fails at once instead of backing off.
            config = write_config(
                directory, server, list(day1.repositories), env=env, max_attempts=1
            )
            outcomes = [run_sync(load_config(config))]
            server.serve(copy.deepcopy(day2))
            options.broken_repositories = {BROKEN}
            outcomes.append(run_sync(load_config(config)))
    yield TwoDays(day1, day2, deleted, moved, pushed, outcomes, config)
