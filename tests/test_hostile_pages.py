"""Hostile answers at the page level: every case of the reliability table
(`tests/reliability/test_hostile.py`), read by the client alone from a scripted server, gives
the rows a sync would store or the error its target would fail with — in milliseconds, with
retries that do not wait. The whole sync is kept there for a handful of cases (a failed target
beside a healthy one, duplicates and warnings counted by the crawl, nulls stored)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from etl.errors import ApiError
from etl.swr.auth import TokenAuth
from etl.swr.client import RetryPolicy, SwrClient
from etl.swr.lists import tag_list
from etl.swr.pages import SnapshotContext, snapshot_batch
from tests.api import serve
from tests.reliability.hostile import Script, hostile_app
from tests.reliability.test_hostile import CASES

CONTEXT = SnapshotContext("run-1", datetime(2026, 12, 3, tzinfo=UTC), "ep", "ns", "hostile")
NO_WAIT = RetryPolicy(max_attempts=2, base_delay_s=0.001, max_delay_s=0.001)


async def served_rows(script: Script) -> tuple[list[dict[str, Any]], int]:
    """Every row of `ns/hostile`'s pages as the client types them and the crawl makes them
    snapshot rows, and the times it could not read."""
    rows: list[dict[str, Any]] = []
    bad_times = 0
    async with (
        serve(hostile_app({"ns/hostile": script})) as url,
        SwrClient(url, TokenAuth("t"), retry=NO_WAIT, requests_per_second=10_000) as client,
    ):
        async for answer in client.iter_pages(tag_list("ns", "hostile")):
            try:
                rows.extend(snapshot_batch(answer.body.columns, CONTEXT).to_pylist())
            except ApiError as exc:  # the crawl names the page's request and target so
                raise exc.at(request_id=answer.request_id, target="ns/hostile") from None
            bad_times += answer.body.bad_times
    return rows, bad_times


def first_sightings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows a snapshot keeps: each tag name once, as first served."""
    kept: dict[str, dict[str, Any]] = {}
    for row in rows:
        kept.setdefault(row["tag"], row)
    return list(kept.values())


@pytest.mark.parametrize(("script", "expected", "error", "warns"), CASES)
async def test_a_hostile_page_gives_the_stored_rows_or_the_targets_error(
    script: Script, expected: list[dict[str, Any]] | None, error: str | None, warns: int
) -> None:
    if expected is None:
        with pytest.raises(ApiError) as raised:
            await served_rows(script)
        assert error is not None and error in str(raised.value)
        assert raised.value.request_id == "req-hostile"
        assert raised.value.target == "ns/hostile"
        return
    rows, bad_times = await served_rows(script)
    kept = first_sightings(rows)
    assert sorted(r["tag"] for r in kept) == sorted(t["tag"] for t in expected)
    for row, want in zip(
        sorted(kept, key=lambda r: r["tag"]), sorted(expected, key=lambda t: t["tag"]), strict=True
    ):
        assert row["digest"] == want.get("digest") and row["id"] == want.get("id")
        assert row["size"] == want.get("size") and row["image_id"] == want.get("image_id")
        assert (row["created"] is None) == (want.get("created") is None)
    # A warning per row already seen and per time that could not be read.
    assert len(rows) - len(kept) + bad_times == warns
