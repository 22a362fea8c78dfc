"""A v2 list whose Content-Range contradicts its pages: the repository fails with a message
naming the header and the values — never a shorter snapshot stored as `ok`.

Each case serves one hostile repository (`ns/hostile`, 25 tags, 10 a page) beside a normal
one, through a hand-made v2 server on 127.0.0.1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiohttp import web
from click.testing import Result

from etl.fakeswr import AppThread
from tests.commands import sync
from tests.reliability.hostile import status_of, stored, tag

TAGS = [tag(f"t{i:02d}") for i in range(25)]
Window = Callable[[int, int], tuple[list[dict[str, Any]], str]]  # offset, limit -> rows, header


def honest(offset: int, limit: int) -> tuple[list[dict[str, Any]], str]:
    rows = TAGS[offset : offset + limit]
    return rows, f"{offset}-{offset + max(len(rows), 1) - 1}/{len(TAGS)}"


def v2_app(hostile: Window) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        offset, limit = int(request.query["offset"]), int(request.query["limit"])
        window = hostile if request.match_info["repository"] == "hostile" else honest
        rows, header = window(offset, limit)
        body = [{**{k: v for k, v in t.items() if k != "tag"}, "Tag": t["tag"]} for t in rows]
        return web.json_response(
            body, headers={"Content-Range": header, "X-Request-Id": "req-hostile"}
        )

    app = web.Application()
    app.router.add_get("/v2/manage/namespaces/{namespace}/repos/{repository}/tags", handler)
    return app


@pytest.fixture
def v2_server() -> Iterator[Callable[[Window], str]]:
    threads: list[AppThread] = []

    def serve(hostile: Window) -> str:
        threads.append(AppThread(v2_app(hostile)))
        return threads[-1].__enter__().url

    yield serve
    for thread in threads:
        thread.__exit__(None, None, None)


def sync_v2(directory: Path, url: str, repositories: list[str], page_size: int) -> Result:
    """Sync `ns/<repositories>` from a v2-only server at `url`, one attempt a request."""
    config = {
        "endpoints": [
            {
                "name": "v2",
                "url": url,
                "api": "v2",
                "auth": {"type": "token", "token": "t"},
                "targets": [{"namespace": "ns", "repositories": repositories}],
            }
        ],
        "crawl": {"max_attempts": 1, "timeout_s": 5, "page_size": page_size},
        "output": {"lake": "./lake", "duckdb": "./swr.duckdb"},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return sync(path)


@pytest.mark.parametrize(
    ("hostile", "says"),
    [
        pytest.param(
            lambda o, n: (TAGS[o : o + n], f"{o}-{o + 9}/5"),
            "more than the total of 5 (Content-Range '0-9/5')",
            id="a-total-below-what-was-served-target-fails",
        ),
        pytest.param(
            lambda o, n: (TAGS[:n], f"0-{n - 1}/25"),
            "repeats 10 rows already served while the total stayed 25",
            id="a-server-that-ignores-offset-target-fails",
        ),
        pytest.param(
            lambda o, n: (TAGS[o : min(o + n, 13)], f"{o}-{min(o + n, 13) - 1}/25"),
            "ended after 13 rows, short of its total of 25",
            id="a-total-never-reached-target-fails",
        ),
    ],
)
def test_a_content_range_contradiction_fails_the_repository(
    tmp_path: Path, v2_server: Callable[[Window], str], hostile: Window, says: str
) -> None:
    result = sync_v2(tmp_path, v2_server(hostile), ["hostile", "normal"], page_size=10)
    assert result.exit_code == 1, result.output
    db = tmp_path / "swr.duckdb"
    status, message, _, request_id = status_of(db, "hostile")
    assert status == "failed" and says in message, message
    assert request_id == "req-hostile"
    assert stored(db, "hostile") == []
    assert len(stored(db, "normal")) == len(TAGS)


def test_a_push_to_the_front_of_a_one_tag_page_list_is_kept_once_and_ends_exact(
    tmp_path: Path, v2_server: Callable[[Window], str]
) -> None:
    # A server that lists newest first: a push after the first page moves every later row one
    # offset down, so the next page holds only the tag already served.
    listed = list(TAGS)
    pushed = tag("pushed")

    def newest_first(offset: int, limit: int) -> tuple[list[dict[str, Any]], str]:
        rows, header = (
            listed[offset : offset + limit],
            f"{offset}-{offset + limit - 1}/{len(listed)}",
        )
        if offset == 0 and pushed not in listed:
            listed.insert(0, pushed)
        return rows, header

    result = sync_v2(tmp_path, v2_server(newest_first), ["hostile"], page_size=1)
    assert result.exit_code == 0, result.output
    assert sorted(r["tag"] for r in stored(tmp_path / "swr.duckdb", "hostile")) == sorted(
        t["tag"] for t in listed
    )
