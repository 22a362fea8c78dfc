"""The warehouse the tests of present/ read (built by the `two_days` fixture in conftest.py):
two syncs of four repositories a day apart; what changed between them, and the outcomes."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from pathlib import Path

from click.testing import Result

from etl.fakeswr import Registry
from etl.fakeswr.registry import Tag
from etl.results import SyncOutcome
from tests.commands import invoke

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
        return invoke(command, "-c", str(self.config), *args)

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
