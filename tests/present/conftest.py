"""A warehouse that says something to every surface: two syncs of four repositories a day
apart. On day two one repository lost a tag, saw one moved to another digest and one pushed;
another answered HTTP 500 (it did not sync: its day-one tags stand); a third was deleted (SWR
says it is gone: it synced, and holds nothing). Built once per session by the real sync
against the local SWR API; the tests read it, never write it."""

from __future__ import annotations

import copy
from collections.abc import Iterator

import pytest

from etl.config_file import load_config
from etl.fakeswr import Options, ServerThread, generate_registry
from etl.job import run_sync
from tests import configs
from tests.present.two_days import BROKEN, CHANGED, GONE, TwoDays, day_two


@pytest.fixture(scope="session")
def two_days(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoDays]:
    """The two days' warehouse (tests/present/two_days.py), synced once per test process."""
    directory = tmp_path_factory.mktemp("two-days")
    day1 = generate_registry(repos=4, seed=2, edge_sizes=False)
    assert {CHANGED, BROKEN, GONE} <= day1.repositories.keys()
    day2, deleted, moved, pushed = day_two(day1)
    options = Options()
    with ServerThread(copy.deepcopy(day1), options=options) as server:
        with pytest.MonkeyPatch.context() as env:
            # One attempt: the broken repository fails at once instead of backing off.
            config = configs.write_config(
                directory, server, list(day1.repositories), env=env, max_attempts=1
            )
            outcomes = [run_sync(load_config(config))]
            server.serve(copy.deepcopy(day2))
            options.broken_repositories = {BROKEN}
            outcomes.append(run_sync(load_config(config)))
    yield TwoDays(day1, day2, deleted, moved, pushed, outcomes, config)
