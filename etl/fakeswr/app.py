"""The local SWR API: an aiohttp.web app serving the v3 and v2 tag lists, the organization and
repository lists, a tag's DELETE, an IAM token endpoint, and its own `/_fake/` routes.

This is a second, independent reading of the API page and docs/swr-api.md, not a mirror of the
client: it validates names, limits, markers and credentials with its own code. Only the AK/SK
check reuses the client's signer, which tests pin to the official SDK.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any

import orjson
from aiohttp import web

from etl.fakeswr.access import issue_token
from etl.fakeswr.admin import add_admin_routes
from etl.fakeswr.answers import admitted, refusal, send_page
from etl.fakeswr.days import push_tags
from etl.fakeswr.lists import (
    admitted_v2,
    content_range,
    list_namespaces,
    list_repositories,
    list_repositories_v2,
)
from etl.fakeswr.registry import Registry, Tag
from etl.fakeswr.state import (
    REQUEST_ID,
    STATE,
    Credentials,
    Options,
    Stats,
    SwrState,
    gateway_error,
)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The API page's name rules, written as patterns: a separator (or '__') must be followed by a
# letter or digit, so separators never touch and a name never ends in one.
NAMESPACE_RE = re.compile(r"[a-z](?:[a-z0-9]|(?:__|[._-])(?=[a-z0-9]))*")
REPOSITORY_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|(?:__|[./_-])(?=[a-z0-9]))*")
ORDER_COLUMNS = {"updated_at": "updated", "tag": "tag"}
ORDER_KEYS = ("order_column", "order_type")
# The organization and repository lists (a benchmark counts them apart from the tag lists).
LIST_PATHS = frozenset({"/v2/manage/namespaces", "/v3/manage/repos", "/v2/manage/repos"})


# --- middlewares --------------------------------------------------------------------------


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every response an X-Request-Id; unknown paths answer APIGW.0101 like the gateway."""
    request_id = uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = gateway_error(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
            request_id,
        )
    except web.HTTPMethodNotAllowed:
        response = gateway_error(405, "APIGW.0102", "Method not allowed", request_id)
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count requests and the most ever in flight at once (not the `/_fake/` ones)."""
    if request.path.startswith("/_fake/"):
        return await handler(request)
    stats: Stats = request.app[STATE].stats
    stats.requests += 1
    stats.list_requests += request.path in LIST_PATHS
    stats.request_times.append(time.monotonic())
    stats.last_at = time.time()
    stats.first_at = stats.first_at or stats.last_at
    stats.in_flight += 1
    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
    server = request.app[STATE].server
    if server is not None:
        stats.max_connections = max(stats.max_connections, len(server.connections))
    try:
        latency = request.app[STATE].options.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        return await handler(request)
    finally:
        stats.in_flight -= 1


# --- the v3 tag list ------------------------------------------------------------------------


def marker_scope(namespace: str, repository: str, request: web.Request) -> str:
    """Return what a marker is bound to: the repository, the filter and the order."""
    query = request.query
    return "|".join(
        [namespace, repository, query.get("tag", ""), *(query.get(k, "") for k in ORDER_KEYS)]
    )


def make_marker(state: SwrState, scope: str, offset: int) -> str:
    """Return an opaque marker: offset plus a MAC over the query it belongs to (has + / =)."""
    raw = offset.to_bytes(4, "big")
    mac = hmac.new(state.marker_key, scope.encode() + raw, hashlib.sha256).digest()[:7]
    return base64.b64encode(mac + raw).decode()


def read_marker(state: SwrState, scope: str, marker: str) -> int | None:
    """Return the offset of a marker this server made for this query, or None if forged."""
    try:
        raw = base64.b64decode(marker, validate=True)
    except ValueError:
        return None
    if len(raw) != 11 or make_marker(state, scope, int.from_bytes(raw[7:], "big")) != marker:
        return None
    return int.from_bytes(raw[7:], "big")


def name_error(request: web.Request, state: SwrState) -> web.Response | None:
    """Return the 400 for a namespace or repository in the path that breaks the name rules."""
    namespace = request.match_info["namespace"]
    repository = request.match_info["repository"].replace("$", "/")
    if not (len(namespace) <= 64 and NAMESPACE_RE.fullmatch(namespace)):
        return state.swr_error(400, "SVCSTG.SWR.4001025", f"Invalid namespace: {namespace}")
    if not (len(repository) <= 128 and REPOSITORY_RE.fullmatch(repository)):
        return state.swr_error(400, "SVCSTG.SWR.4001025", f"Invalid repository: {repository}")
    return None


def query_error(request: web.Request, state: SwrState) -> web.Response | None:
    """Return the 400 for a bad namespace, repository or query parameter, else None."""
    invalid = name_error(request, state)
    if invalid is not None:
        return invalid
    limit = request.query.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        return state.swr_error(400, "SVCSTG.SWR.4000056", f"Invalid limit: {limit}")
    if request.query.get("with_manifest", "false").lower() not in ("true", "false"):
        return state.swr_error(400, "SVCSTG.SWR.4001025", "Invalid with_manifest")
    column, direction = request.query.get("order_column"), request.query.get("order_type")
    if (column is None) != (direction is None):
        return state.swr_error(400, "SVCSTG.SWR.4001025", "order_column and order_type go together")
    if column is not None and (column not in ORDER_COLUMNS or direction not in ("asc", "desc")):
        return state.swr_error(400, "SVCSTG.SWR.4001025", "Invalid order_column or order_type")
    return None


def selected_tags(tags: list[Tag], request: web.Request) -> list[Tag]:
    """Return the repository's tags filtered by `tag` (substring match) and ordered."""
    wanted = request.query.get("tag")
    chosen = [t for t in tags if wanted in t.tag] if wanted else list(tags)
    column = request.query.get("order_column")
    if column is not None:
        key = ORDER_COLUMNS[column]
        chosen.sort(key=lambda t: getattr(t, key), reverse=request.query["order_type"] == "desc")
    return chosen


async def list_tags(request: web.Request) -> web.StreamResponse:
    """GET /v3/manage/namespaces/{namespace}/repos/{repository}/tags."""
    state: SwrState = request.app[STATE]
    refused, fault = await admitted(request, state, "v3")
    if refused is not None:
        return refused
    invalid = query_error(request, state)
    if invalid is not None:
        return invalid
    namespace = request.match_info["namespace"]
    repository = request.match_info["repository"].replace("$", "/")
    if (namespace, repository) in state.options.broken_repositories:
        return state.swr_error(500, "SVCSTG.SWR.5000001", broken_message(request, state))
    repo = state.registry.repositories.get((namespace, repository))
    if repo is None:
        # Only a miss needs the namespace set (building it per request cost the bench dearly).
        if namespace not in state.registry.namespaces:
            return state.swr_error(404, "SVCSTG.SWR.4040001", f"Namespace {namespace} not found")
        return state.swr_error(404, "SVCSTG.SWR.4040002", f"Repository {repository} not found")
    scope = marker_scope(namespace, repository, request)
    offset = 0
    if "marker" in request.query:
        found = read_marker(state, scope, request.query["marker"])
        if found is None:
            return state.swr_error(400, "SVCSTG.SWR.4001025", "Invalid marker")
        offset = found
    body = page_body(state, selected_tags(repo.tags, request), offset, scope, request)
    return await send_page(request, state, body, fault)


def page_body(
    state: SwrState, tags: list[Tag], offset: int, scope: str, request: web.Request
) -> bytes:
    """Return the JSON body of one page starting at `offset`."""
    limit = int(request.query.get("limit", "100"))
    page = tags[offset : offset + limit]
    with_manifest = request.query.get("with_manifest", "false").lower() == "true"
    # orjson writes the Tag dataclasses itself; manifests are only attached when asked for.
    items = [with_manifest_of(t, state) for t in page] if with_manifest else page
    body: dict[str, Any] = {"tags": items}
    more = offset + limit < len(tags)
    if more:
        body[state.options.marker_key] = make_marker(state, scope, offset + limit)
    if state.options.has_more:
        body["has_more"] = more
    return orjson.dumps(body)


def with_manifest_of(tag: Tag, state: SwrState) -> Tag:
    """Return the tag with its manifest JSON filled in."""
    return replace(tag, manifest=state.registry.manifests.get(tag.digest, ""))


async def list_tags_v2(request: web.Request) -> web.StreamResponse:
    """GET /v2/manage/namespaces/{namespace}/repos/{repository}/tags: a bare array; the name
    under `Tag`; `deleted` and `scanned`; the manifest always."""
    state: SwrState = request.app[STATE]
    admission = await admitted_v2(request, state)
    if isinstance(admission, web.Response):
        return admission
    offset, limit, fault = admission
    namespace = request.match_info["namespace"]
    repository = request.match_info["repository"].replace("$", "/")
    repo = state.registry.repositories.get((namespace, repository))
    if repo is None:
        return state.swr_error(404, "SVCSTG.SWR.4040002", f"Repository {repository} not found")
    tags = selected_tags(repo.tags, request)
    page = [v2_tag(t, state) for t in tags[offset : offset + limit]]
    headers = content_range(offset, len(page), len(tags))
    pushes = state.options.push_after_first_page.get((namespace, repository))
    if offset == 0 and pushes:
        push_tags(state.registry, (namespace, repository), pushes.pop(0))
    return await send_page(request, state, orjson.dumps(page), fault, headers)


async def delete_tag(request: web.Request) -> web.StreamResponse:
    """DELETE /v2/manage/namespaces/{namespace}/repos/{repository}/tags/{tag} (the SDK's
    DeleteRepoTag): 204, and the image the tag names is gone with every tag of the repository
    that names it (the API page deletes "the image with a specified tag"); 404 when the
    repository or the tag does not exist. The lists' throttling, credentials and faults apply;
    'reset' and 'truncated' break the answer after the delete, as a lost answer would."""
    state: SwrState = request.app[STATE]
    state.stats.deletes += 1
    state.stats.delete_paths.append(request.raw_path)
    refused, fault = await refusal(request, state)  # a v2 path every cloud offers
    if refused is not None:
        return refused
    invalid = name_error(request, state)
    if invalid is not None:
        return invalid
    namespace = request.match_info["namespace"]
    repository = request.match_info["repository"].replace("$", "/")
    if (namespace, repository) in state.options.broken_repositories:
        return state.swr_error(500, "SVCSTG.SWR.5000001", broken_message(request, state))
    repo = state.registry.repositories.get((namespace, repository))
    if repo is None:
        return state.swr_error(404, "SVCSTG.SWR.4040002", f"Repository {repository} not found")
    name = request.match_info["tag"]
    digest = next((t.digest for t in repo.tags if t.tag == name), None)
    if digest is None:
        return state.swr_error(404, "SVCSTG.SWR.4040003", f"Tag {name} not found")
    gone = [t.tag for t in repo.tags if t.digest == digest]
    repo.tags = [t for t in repo.tags if t.digest != digest]
    state.deleted += [(namespace, repository, tag) for tag in gone]
    if fault in ("reset", "truncated"):
        return await send_page(request, state, b"{}", fault)
    return web.Response(status=204)


def broken_message(request: web.Request, state: SwrState) -> str:
    """Return the message of a broken repository's 500: with `echo_credentials`, the request's
    credential headers echoed back."""
    if not state.options.echo_credentials:
        return "Internal error"
    echoed = {k: request.headers.get(k) for k in ("X-Auth-Token", "Authorization")}
    return f"Internal error; request headers: {echoed}"


def v2_tag(tag: Tag, state: SwrState) -> dict[str, Any]:
    """Return a tag as the v2 list shows it."""
    item = dict(orjson.loads(orjson.dumps(with_manifest_of(tag, state))))
    item["Tag"] = item.pop("tag")
    return {**item, "deleted": "", "scanned": False}


def make_app(
    registry: Registry, credentials: Credentials | None = None, options: Options | None = None
) -> web.Application:
    """Return the local SWR API application serving `registry`."""
    app = web.Application(middlewares=[request_id_middleware, stats_middleware])
    app[STATE] = SwrState(registry, credentials or Credentials(), options or Options())
    app.router.add_get("/v3/manage/namespaces/{namespace}/repos/{repository}/tags", list_tags)
    app.router.add_get("/v2/manage/namespaces", list_namespaces)
    app.router.add_get("/v3/manage/repos", list_repositories)
    app.router.add_get("/v2/manage/namespaces/{namespace}/repos/{repository}/tags", list_tags_v2)
    app.router.add_get("/v2/manage/repos", list_repositories_v2)
    app.router.add_delete(
        "/v2/manage/namespaces/{namespace}/repos/{repository}/tags/{tag}", delete_tag
    )
    app.router.add_post("/v3/auth/tokens", issue_token)
    add_admin_routes(app)
    return app
