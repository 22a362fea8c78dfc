"""A hostile or wrong server: no credential leaves for another host, a 404 that is not SWR's
erases nothing, and no answer can keep a sync running, or growing, without bound.

Each test serves a hostile repository (`ns/hostile`) beside a normal one (`ns/normal`) where
that makes sense: the normal one must always be committed.
"""

from __future__ import annotations

import asyncio
import time
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from etl.fakeswr import AppThread, FakeSwr, Registry
from tests.commands import invoke, measured_process, sync
from tests.configs import WriteConfig, editing
from tests.registries import expected_rows
from tests.reliability.hostile import (
    Script,
    page,
    raw,
    status_of,
    stored,
    tag,
    write_hostile_config,
)
from tests.stored import stored_rows

NORMAL = [tag("n1"), tag("n2")]
TAGS_PATH = "/v3/manage/namespaces/{namespace}/repos/{repository}/tags"


class Recorder:
    """Another host: it records every request it gets and answers with a valid page."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []

    def app(self) -> web.Application:
        async def record(request: web.Request) -> web.Response:
            body = await request.read()
            self.requests.append(
                {"path": request.path, "headers": dict(request.headers), "body": body}
            )
            return web.json_response(
                {"tags": [tag("planted")]}, status=201, headers={"X-Subject-Token": "t2"}
            )

        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", record)
        return app


@pytest.fixture
def recorder() -> Iterator[tuple[Recorder, str]]:
    seen = Recorder()
    with AppThread(seen.app()) as running:
        yield seen, running.url


def redirecting(status: int, to: str) -> Script:
    return Script([(status, {"Location": f"{to}/v3/manage/namespaces/ns/repos/hostile/tags"}, b"")])


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_a_redirected_tag_list_fails_the_target_and_sends_nothing_elsewhere(
    tmp_path: Path,
    hostile: Callable[[dict[str, Script]], str],
    recorder: tuple[Recorder, str],
    status: int,
) -> None:
    seen, elsewhere = recorder
    url = hostile(
        {"ns/hostile": redirecting(status, elsewhere), "ns/normal": Script([page(NORMAL)])}
    )
    result = sync(write_hostile_config(tmp_path, url))
    assert result.exit_code == 1, result.output
    assert seen.requests == []  # not even a request without the token
    db = tmp_path / "swr.duckdb"
    status_, message, _, _ = status_of(db, "hostile")
    assert status_ == "failed" and "redirect to 127.0.0.1 refused" in message
    assert stored(db, "hostile") == []
    assert [r["tag"] for r in stored(db, "normal")] == ["n1", "n2"]


def test_a_redirected_iam_token_request_fails_the_endpoint_and_posts_no_password(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    recorder: tuple[Recorder, str],
) -> None:
    seen, elsewhere = recorder

    async def moved(request: web.Request) -> web.Response:
        raise web.HTTPTemporaryRedirect(f"{elsewhere}/v3/auth/tokens?nocatalog=true")

    iam = web.Application()
    iam.router.add_post("/v3/auth/tokens", moved)
    with AppThread(iam) as running:
        path = write_config(
            tmp_path, served, list(small_registry.repositories)[:3], auth="password"
        )
        with editing(path) as data:
            data["endpoints"][0]["auth"]["iam_url"] = running.url
        result = sync(path)
    assert result.exit_code == 3, result.output  # the endpoint failed: nothing could be synced
    assert "redirect to 127.0.0.1 refused" in result.output
    assert seen.requests == []
    assert served.state.stats.requests == 0  # no tag request without a token either


def answer_everything_with(status: int, body: bytes, content_type: str) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(status=status, body=body, content_type=content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handler)
    return app


PROXY_404 = b"<html><body><h1>404 Not Found</h1>nginx</body></html>"


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        pytest.param(PROXY_404, "text/html", id="html-404-of-a-proxy"),
        pytest.param(b'{"message": "no route"}', "application/json", id="json-404-not-swr"),
        pytest.param(b"", "text/plain", id="empty-404"),
    ],
)
def test_a_404_that_is_not_swrs_fails_and_closes_no_tag(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    body: bytes,
    content_type: str,
) -> None:
    keys = list(small_registry.repositories)
    path = write_config(tmp_path, served, keys)
    assert sync(path).exit_code == 0
    with AppThread(answer_everything_with(404, body, content_type)) as wrong:
        with editing(path) as data:
            data["endpoints"][0]["url"] = wrong.url  # a typo, a proxy in the way
        result = sync(path)
    assert result.exit_code == 3, result.output
    assert "HTTP 404 that is not SWR's 'not found' answer" in result.output
    assert "is the endpoint URL right?" in result.output
    db = tmp_path / "swr.duckdb"
    assert stored_rows(db) == expected_rows(small_registry)  # nothing closed
    query = "SELECT count(*) FROM tag_changes WHERE change = 'removed'"
    removed = invoke("query", "-c", str(path), query, "--format", "csv")
    assert removed.output.splitlines()[-1] == "0"


def test_swrs_own_404_still_makes_a_target_not_found(
    tmp_path: Path, hostile: Callable[[dict[str, Script]], str]
) -> None:
    # After one good answer, the hostile repository's tag list answers SWR's own
    # SVCSTG.SWR.4040002: the repository was deleted.
    gone = raw(404, b'{"error_code": "SVCSTG.SWR.4040002", "error_msg": "Repository not found"}')
    url = hostile(
        {
            "ns/normal": Script([page(NORMAL)]),
            # The first sync's API probe and its crawl: two good answers.
            "ns/hostile": Script([gone], first=[page(NORMAL), page(NORMAL)]),
        }
    )
    path = write_hostile_config(tmp_path, url)
    assert sync(path).exit_code == 0
    result = sync(path)
    assert result.exit_code == 0, result.output
    assert status_of(tmp_path / "swr.duckdb", "hostile")[0] == "not_found"


def endless_markers(delay_s: float = 0.0, with_tags: bool = False) -> web.Application:
    """An app whose `ns/hostile` always has one more page; `ns/normal` is a normal one."""
    count = {"pages": 0}

    async def handler(request: web.Request) -> web.Response:
        if request.match_info["repository"] == "normal":
            return web.json_response({"tags": NORMAL})
        count["pages"] += 1
        await asyncio.sleep(delay_s)
        tags = [tag(f"t{count['pages']}")] if with_tags else []
        return web.json_response({"tags": tags, "nextMarker": f"m{count['pages']}"})

    app = web.Application()
    app.router.add_get(TAGS_PATH, handler)
    return app


@pytest.mark.parametrize("with_tags", [False, True], ids=["empty-pages", "pages-with-tags"])
def test_endless_markers_stop_at_max_pages_per_target(tmp_path: Path, with_tags: bool) -> None:
    with AppThread(endless_markers(with_tags=with_tags)) as server:
        path = write_hostile_config(tmp_path, server.url, max_pages_per_target=40)
        began = time.monotonic()
        result = sync(path)
    assert time.monotonic() - began < 30
    assert result.exit_code == 1, result.output
    status, message, _, _ = status_of(tmp_path / "swr.duckdb", "hostile")
    assert status == "failed"
    assert "still not done after 40 pages" in message and "crawl.max_pages_per_target" in message
    assert [r["tag"] for r in stored(tmp_path / "swr.duckdb", "normal")] == ["n1", "n2"]


def test_the_run_deadline_fails_what_is_unfinished_and_commits_the_rest(tmp_path: Path) -> None:
    with AppThread(endless_markers(delay_s=0.05, with_tags=True)) as server:
        path = write_hostile_config(tmp_path, server.url, deadline_s=2)
        began = time.monotonic()
        result = sync(path)
        took = time.monotonic() - began
    assert took < 15, took
    assert result.exit_code == 1, result.output
    status, message, _, _ = status_of(tmp_path / "swr.duckdb", "hostile")
    assert status == "failed" and "crawl.deadline_s = 2 s" in message
    assert [r["tag"] for r in stored(tmp_path / "swr.duckdb", "normal")] == ["n1", "n2"]
    # The lock is free again: the next cron run is not turned away.
    assert "another sync holds" not in sync(path).output


def streaming(body: Callable[[web.StreamResponse], Any], **headers: str) -> web.Application:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.match_info["repository"] == "normal":
            return web.json_response({"tags": NORMAL})
        response = web.StreamResponse(headers={"Content-Type": "application/json", **headers})
        await response.prepare(request)
        try:
            await body(response)
        except (ConnectionError, RuntimeError):
            pass  # the client hung up, as it should
        return response

    app = web.Application()
    app.router.add_get(TAGS_PATH, handler)
    return app


async def endless_json(response: web.StreamResponse) -> None:
    await response.write(b'{"tags": [')
    one = orjson.dumps(tag("x")) + b", "
    for _ in range(10_000_000):
        await response.write(one * 100)


def test_an_endless_body_fails_its_target_at_max_page_bytes(tmp_path: Path) -> None:
    with AppThread(streaming(endless_json)) as server:
        path = write_hostile_config(tmp_path, server.url, max_page_bytes=2**20, timeout_s=20)
        began = time.monotonic()
        result = sync(path)
    assert time.monotonic() - began < 10  # stopped by size, long before the timeout
    assert result.exit_code == 1, result.output
    status, message, _, _ = status_of(tmp_path / "swr.duckdb", "hostile")
    assert status == "failed"
    assert "larger than crawl.max_page_bytes (1048576 bytes)" in message
    assert [r["tag"] for r in stored(tmp_path / "swr.duckdb", "normal")] == ["n1", "n2"]


@pytest.fixture(scope="module")
def gzip_bomb() -> bytes:
    """1 MB of gzip that inflates to 1 GiB."""
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)
    zeros = b"\0" * 2**20
    parts = [squeeze.compress(b'{"tags": [{"tag": "')]
    parts += [squeeze.compress(zeros) for _ in range(1024)]
    return b"".join([*parts, squeeze.flush()])


def test_a_gzip_bomb_fails_its_target_in_bounded_memory(tmp_path: Path, gzip_bomb: bytes) -> None:
    async def bomb(response: web.StreamResponse) -> None:
        await response.write(gzip_bomb)

    with AppThread(streaming(bomb, **{"Content-Encoding": "gzip"})) as server:
        path = write_hostile_config(tmp_path, server.url)  # the default max_page_bytes
        figure = tmp_path / "peak-rss"
        sync_args = ("-m", "etl", "sync", "-c", str(path), "--no-progress")
        returncode, output, peak_mb = measured_process(figure, *sync_args)
    print(f"peak RSS of the sync: {peak_mb:.0f} MB")
    assert returncode == 1, output
    assert "Traceback" not in output
    assert "larger than crawl.max_page_bytes" in output
    assert peak_mb < 400, peak_mb  # 1 GiB inflated would be 1,000+ MB
    assert [r["tag"] for r in stored(tmp_path / "swr.duckdb", "normal")] == ["n1", "n2"]


def test_a_surprise_while_reading_one_page_fails_that_target_only(
    tmp_path: Path, hostile: Callable[[dict[str, Script]], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import etl.run.crawl

    convert = etl.run.crawl.snapshot_batch

    def explode_on_hostile(columns: Any, context: Any) -> Any:
        if context.repository == "hostile":
            raise OverflowError("cannot fit 'int' into an index-sized integer")
        return convert(columns, context)

    monkeypatch.setattr(etl.run.crawl, "snapshot_batch", explode_on_hostile)
    url = hostile({"ns/hostile": Script([page([tag("a")])]), "ns/normal": Script([page(NORMAL)])})
    result = sync(write_hostile_config(tmp_path, url))
    assert result.exit_code == 1, result.output
    status, message, _, _ = status_of(tmp_path / "swr.duckdb", "hostile")
    assert status == "failed" and "unexpected OverflowError" in message
    assert [r["tag"] for r in stored(tmp_path / "swr.duckdb", "normal")] == ["n1", "n2"]
