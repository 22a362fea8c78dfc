"""What the metrics file says each endpoint holds (`etl.present.metrics`): the latest run's
holdings, read from the warehouse; nothing when it cannot be read."""

from __future__ import annotations

from pathlib import Path

import pytest

from etl.present.metrics import latest_holdings
from tests.present.two_days import TwoDays


def test_the_holdings_are_the_latest_runs_each_image_once(two_days: TwoDays) -> None:
    tags = two_days.current()
    unique = sum({t.digest: t.size for t in tags}.values())
    assert latest_holdings(two_days.db) == {"local": (len(tags), sum(t.size for t in tags), unique)}


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(None, id="no-database-holds-nothing"),
        pytest.param(b"", id="an-empty-file-holds-nothing"),
        pytest.param(b"not a database" * 100, id="another-file-holds-nothing"),
    ],
)
def test_a_database_that_cannot_be_read_holds_nothing(
    tmp_path: Path, content: bytes | None
) -> None:
    path = tmp_path / "swr.duckdb"
    if content is not None:
        path.write_bytes(content)
    assert latest_holdings(path) == {}
