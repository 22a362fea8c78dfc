"""The reliability suite's fixture: hostile servers on 127.0.0.1 (tests/reliability/hostile.py)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack

import pytest

from etl.fakeswr import AppThread
from tests.reliability.hostile import Script, hostile_app


@pytest.fixture
def hostile() -> Iterator[Callable[[dict[str, Script]], str]]:
    """Start a hostile server for given scripts on 127.0.0.1; returns its URL."""
    with ExitStack() as stack:

        def serve(scripts: dict[str, Script]) -> str:
            return stack.enter_context(AppThread(hostile_app(scripts))).url

        yield serve
