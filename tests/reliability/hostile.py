"""Hand-made hostile servers for the reliability suite: well-formed tags and pages, scripts of
what a hostile repository answers, the app that plays them, a config that syncs from one, and
what such a sync stored."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

from tests.stored import reading

Answer = tuple[int, dict[str, str], bytes]  # status, headers, body


def tag(name: str, **overrides: Any) -> dict[str, Any]:
    """One well-formed tag object of the v3 API, with any field overridden."""
    base: dict[str, Any] = {
        "id": abs(hash(name)) % 10**9,
        "repo_id": 7,
        "tag": name,
        "image_id": "img",
        "manifest": "",
        "digest": f"sha256:{abs(hash(name)):064x}"[:71],
        "schema": 2,
        "path": f"swr/x/y:{name}",
        "internal_path": f"10.0.0.1/x/y:{name}",
        "size": 1000 + len(name),
        "is_trusted": False,
        "created": "2024-01-02T03:04:05Z",
        "updated": "2024-02-03T04:05:06.123Z",
        "domain_id": "d",
        "tag_type": 0,
    }
    return {**base, **overrides}


def page(
    tags: list[dict[str, Any]], marker: Any = None, key: str = "nextMarker", **extra: Any
) -> Answer:
    body: dict[str, Any] = {"tags": tags, **extra}
    if marker is not None:
        body[key] = marker
    # The standard json module, because orjson refuses integers beyond 64 bits.
    return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()


def raw(status: int, body: bytes, content_type: str = "application/json") -> Answer:
    return status, {"Content-Type": content_type}, body


@dataclass
class Script:
    """What a hostile repository answers: page N for marker "pN"; `first` answers come before."""

    pages: list[Answer]
    first: list[Answer] = field(default_factory=list)

    def answer(self, marker: str | None) -> Answer:
        if self.first:
            return self.first.pop(0)
        index = int(marker[1:]) if marker and marker.startswith("p") and marker[1:].isdigit() else 0
        return self.pages[min(index, len(self.pages) - 1)]


def hostile_app(scripts: dict[str, Script]) -> web.Application:
    """An app answering the v3 tag list from scripts keyed by 'namespace/repository'; it
    plays its own copy, so that a script (a parametrised case) can be served again."""
    scripts = copy.deepcopy(scripts)

    async def handler(request: web.Request) -> web.Response:
        key = f"{request.match_info['namespace']}/{request.match_info['repository'].replace('$', '/')}"
        script = scripts.get(key)
        if script is None:
            return web.json_response(
                {"error_code": "SVCSTG.SWR.4040002", "error_msg": "no"}, status=404
            )
        status, headers, body = script.answer(request.query.get("marker"))
        return web.Response(
            status=status, headers={**headers, "X-Request-Id": "req-hostile"}, body=body
        )

    app = web.Application()
    app.router.add_get("/v3/manage/namespaces/{namespace}/repos/{repository}/tags", handler)
    return app


def write_hostile_config(directory: Path, url: str, **crawl: Any) -> Path:
    """Write a config that syncs `ns/hostile` and `ns/normal` from `url`."""
    config = {
        "endpoints": [
            {
                "name": "hostile",
                "url": url,
                "auth": {"type": "token", "token": "t"},
                "targets": [{"namespace": "ns", "repositories": ["hostile", "normal"]}],
            }
        ],
        "crawl": {"max_attempts": 2, "timeout_s": 5, "requests_per_second": 1000, **crawl},
        "output": {"lake": "./lake", "duckdb": "./swr.duckdb"},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def stored(db: Path, repository: str) -> list[dict[str, Any]]:
    """The current tags of one repository, as dicts of a few columns."""
    with reading(db) as con:
        result = con.execute(
            "SELECT tag, id, digest, size, image_id, created FROM tags_current WHERE repository = $r ORDER BY tag",
            {"r": repository},
        )
        columns = [d[0] for d in result.description or []]
        return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def status_of(db: Path, repository: str) -> tuple[Any, ...]:
    """(status, error_message, warnings, request_id) of a repository's latest target run."""
    with reading(db) as con:
        return con.execute(
            "SELECT status, error_message, warnings, request_id FROM target_runs WHERE repository = $r ORDER BY seq DESC LIMIT 1",
            {"r": repository},
        ).fetchall()[0]
