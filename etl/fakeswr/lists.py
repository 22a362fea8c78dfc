"""The local SWR API's organization and repository lists: `/v2/manage/namespaces`, the v3
repository list (integer markers) and the v2 one (offsets and `Content-Range`), all from the
served registry, with the tag list's errors and faults."""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from etl.fakeswr.answers import admitted, refusal, send_page
from etl.fakeswr.registry import Repository
from etl.fakeswr.state import STATE, SwrState

DOMAIN_NAME = "acme"


async def list_namespaces(request: web.Request) -> web.StreamResponse:
    """GET /v2/manage/namespaces: every organization, or the one named by `namespace`."""
    state: SwrState = request.app[STATE]
    refused, fault = await refusal(request, state)  # a v2 path every cloud offers
    if refused is not None:
        return refused
    if "" in state.options.broken_lists:
        return state.swr_error(500, "SVCSTG.SWR.5000001", "Internal error")
    wanted = request.query.get("namespace")
    names = sorted(state.registry.namespaces - state.options.hidden_organizations)
    items = [
        {"id": index, "name": name, "creator_name": state.credentials.user, "auth": 7}
        for index, name in enumerate(names, start=1)
        if wanted is None or name == wanted
    ]
    return await send_page(request, state, orjson.dumps({"namespaces": items}), fault)


async def list_repositories(request: web.Request) -> web.StreamResponse:
    """GET /v3/manage/repos: repositories by id, `limit` a page; `nextMarker` is the integer
    id the next page starts at (docs/swr-api.md), absent on the last page."""
    state: SwrState = request.app[STATE]
    refused, fault = await admitted(request, state, "v3")
    if refused is not None:
        return refused
    query = request.query
    limit, marker = query.get("limit", "100"), query.get("marker", "0")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        return state.swr_error(400, "SVCSTG.SWR.4000056", f"Invalid limit: {limit}")
    if not marker.isdigit():
        return state.swr_error(400, "SVCSTG.SWR.4001025", f"Invalid marker: {marker}")
    namespace = query.get("namespace")
    if namespace in state.options.broken_lists:
        return state.swr_error(500, "SVCSTG.SWR.5000001", "Internal error")
    if namespace is not None and namespace not in state.registry.namespaces:
        return state.swr_error(404, "SVCSTG.SWR.4040001", f"Namespace {namespace} not found")
    repos = sorted(
        (
            r
            for r in listed_in(state, namespace)
            if query.get("name", "") in r.name and r.repo_id >= int(marker)
        ),
        key=lambda r: r.repo_id,
    )
    body: dict[str, Any] = {"repos": [repository_item(r) for r in repos[: int(limit)]]}
    if state.options.repeat_list_rows and int(marker) > 0:
        earlier = [r for r in listed_in(state, namespace) if r.repo_id < int(marker)]
        if earlier:  # the row before this page, once more
            body["repos"].insert(0, repository_item(max(earlier, key=lambda r: r.repo_id)))
    if len(repos) > int(limit):
        body["nextMarker"] = repos[int(limit)].repo_id
    return await send_page(request, state, orjson.dumps(body), fault)


def listed_in(state: SwrState, namespace: str | None) -> list[Repository]:
    """Return the repositories a list of `namespace` shows (every one, for a server that
    ignores the filter)."""
    everything = namespace is None or state.options.ignore_namespace_filter
    return [
        r for r in state.registry.repositories.values() if everything or r.namespace == namespace
    ]


def create_mid_list(state: SwrState, namespace: str) -> None:
    """Create a repository in `namespace` that sorts first (an empty copy of its first), once:
    every later offset shifts by one, and the list's total moves."""
    if namespace not in state.options.create_mid_list:
        return
    state.options.create_mid_list.discard(namespace)
    first = min(listed_in(state, namespace), key=lambda r: r.repo_id)
    name = f"{first.name}-new"
    state.registry.repositories[(namespace, name)] = Repository(namespace, name, first.repo_id - 1)


def repository_item(repo: Repository) -> dict[str, Any]:
    """Return one repository as the v3 repository list shows it (docs/swr-api.md's fields)."""
    return {
        "id": repo.repo_id,
        "name": repo.name,
        "category": repo.category,
        "description": repo.description,
        "size": repo.size(),
        "is_public": repo.is_public,
        "num_images": len(repo.tags),
        "num_download": repo.num_download,
        "created_at": repo.created_at,
        "updated_at": repo.updated_at(),
        "domain_name": DOMAIN_NAME,
        "namespace_name": repo.namespace,
        "status": True,
    }


def offset_window(request: web.Request, state: SwrState) -> tuple[int, int] | web.Response:
    """Return (offset, limit) of a v2 list request, or its 400: `limit` needs `offset` (as
    Open Telekom Cloud demands), both whole numbers, limit 1..1000."""
    query = request.query
    state.stats.v2_requests += 1
    if "limit" in query and "offset" not in query:
        state.stats.limit_without_offset += 1
        return state.swr_error(400, "SVCSTG.SWR.4001025", "limit requires offset")
    offset, limit = query.get("offset", "0"), query.get("limit", "100")
    if not offset.isdigit() or not limit.isdigit() or not 1 <= int(limit) <= 1000:
        return state.swr_error(400, "SVCSTG.SWR.4000056", f"Invalid offset/limit: {offset}/{limit}")
    return int(offset), int(limit)


async def admitted_v2(
    request: web.Request, state: SwrState
) -> tuple[int, int, str | None] | web.Response:
    """Return (offset, limit, fault) of a v2 list request, or the answer that replaces it."""
    refused, fault = await admitted(request, state, "v2")
    if refused is not None:
        return refused
    window = offset_window(request, state)
    return window if isinstance(window, web.Response) else (*window, fault)


def content_range(offset: int, count: int, total: int) -> dict[str, str]:
    """Return the Content-Range header of a v2 page: `offset-last/total`."""
    return {"Content-Range": f"{offset}-{offset + max(count, 1) - 1}/{total}"}


async def list_repositories_v2(request: web.Request) -> web.StreamResponse:
    """GET /v2/manage/repos: a bare array of repositories (no `id`), offset and limit."""
    state: SwrState = request.app[STATE]
    admission = await admitted_v2(request, state)
    if isinstance(admission, web.Response):
        return admission
    offset, limit, fault = admission
    namespace = request.query.get("namespace")
    if namespace in state.options.broken_lists:
        return state.swr_error(500, "SVCSTG.SWR.5000001", "Internal error")
    repos = sorted(listed_in(state, namespace), key=lambda r: r.repo_id)
    page = []
    for repo in repos[offset : offset + limit]:
        item = repository_item(repo)
        del item["id"]
        item["namespace"] = item.pop("namespace_name")
        page.append({**item, "tags": [t.tag for t in repo.tags], "total_range": len(repos)})
    headers = content_range(offset, len(page), len(repos))
    if offset == 0 and namespace is not None:
        create_mid_list(state, namespace)
    return await send_page(request, state, orjson.dumps(page), fault, headers)
