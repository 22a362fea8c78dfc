"""The SWR lists swr-tag-etl reads, each a small definition for the client's paging core:
the tag list of a repository and the repository list of an organization, each in v3 (marker
paging) and v2 (offset paging, for regions and clouds without v3), and the organization list.
A new list is one more function here and a page reader in `etl.swr.pages`."""

from __future__ import annotations

from functools import partial
from typing import Any, Literal
from urllib.parse import quote

from etl.errors import ApiError, EndpointError
from etl.swr.client import SwrClient
from etl.swr.list_pages import (
    NamespacePage,
    RepositoryPage,
    decode_namespace_page,
    decode_repository_page,
    decode_v2_repository_page,
)
from etl.swr.names import encode_repository
from etl.swr.pages import TagPage, decode_tag_page, decode_v2_tag_page
from etl.swr.paging import MAX_PAGE_SIZE, SwrList
from etl.swr.wire import UNKNOWN_PATH_CODE

Api = Literal["v3", "v2"]


def tag_list(
    namespace: str,
    repository: str,
    *,
    page_size: int = MAX_PAGE_SIZE,
    tag: str | None = None,
    with_manifest: bool = False,
) -> SwrList[TagPage]:
    """Return the v3 tag list of one repository (booleans sent lowercase, docs/swr-api.md)."""
    if not 1 <= page_size <= MAX_PAGE_SIZE:
        raise ValueError(f"page_size must be 1..{MAX_PAGE_SIZE}, got {page_size}")
    query = [("limit", str(page_size))]
    if tag:
        query.append(("tag", tag))
    if with_manifest:
        query.append(("with_manifest", "true"))
    return SwrList(
        tag_list_path(namespace, repository),
        tuple(query),
        decode_tag_page,
        f"{namespace}/{repository}",
    )


def tag_list_path(namespace: str, repository: str, api: Api = "v3") -> str:
    """Return the URL path of a tag list, the repository's '/' sent as '$' (as %24)."""
    encoded = quote(encode_repository(repository), safe="")
    return f"/{api}/manage/namespaces/{quote(namespace, safe='')}/repos/{encoded}/tags"


def v2_tag_list(
    namespace: str,
    repository: str,
    *,
    page_size: int = MAX_PAGE_SIZE,
    tag: str | None = None,
    with_manifest: bool = False,
) -> SwrList[TagPage]:
    """Return the v2 tag list of one repository: offset paging; manifests always sent, kept
    only if asked for (docs/swr-api.md)."""
    return SwrList(
        tag_list_path(namespace, repository, "v2"),
        (("tag", tag),) if tag else (),
        partial(decode_v2_tag_page, keep_manifest=with_manifest),
        f"{namespace}/{repository}",
        paging="offset",
        page_size=page_size,
    )


def tag_list_of(
    api: Api,
    namespace: str,
    repository: str,
    *,
    page_size: int,
    tag: str | None,
    with_manifest: bool,
) -> SwrList[TagPage]:
    """Return the tag list of `api` for one repository."""
    make = tag_list if api == "v3" else v2_tag_list
    return make(namespace, repository, page_size=page_size, tag=tag, with_manifest=with_manifest)


def repository_list(namespace: str, *, page_size: int = MAX_PAGE_SIZE) -> SwrList[RepositoryPage]:
    """Return the v3 repository list of one organization (docs/swr-api.md: integer `nextMarker`,
    `limit` up to 1000; names carry their '/')."""
    query = (("namespace", namespace), ("limit", str(page_size)))
    return SwrList("/v3/manage/repos", query, decode_repository_page, namespace)


def v2_repository_list(
    namespace: str, *, page_size: int = MAX_PAGE_SIZE
) -> SwrList[RepositoryPage]:
    """Return the v2 repository list of one organization (a bare array, offset paging)."""
    query = (("namespace", namespace),)
    return SwrList(
        "/v2/manage/repos",
        query,
        decode_v2_repository_page,
        namespace,
        paging="offset",
        page_size=page_size,
    )


def repository_list_of(api: Api, namespace: str, page_size: int) -> SwrList[RepositoryPage]:
    """Return the repository list of `api` for one organization."""
    make = repository_list if api == "v3" else v2_repository_list
    return make(namespace, page_size=page_size)


async def offered_api(client: SwrClient, probe: SwrList[Any]) -> Api:
    """Return the API an endpoint offers, from its answer to one v3 request: APIGW's "API not
    found" (not SWR's "repository not found") means v2 only (a region without v3, Open
    Telekom Cloud); any other answer, v3 (a real failure shows again where it matters)."""
    try:
        await client.get_json(
            probe.path, list(probe.query), target=probe.target, decode=probe.decode
        )
    except EndpointError as exc:
        if exc.error_code == UNKNOWN_PATH_CODE:
            return "v2"
    except ApiError:
        pass
    return "v3"


def v3_probe(namespace: str | None, repository: str | None) -> SwrList[Any]:
    """Return the smallest v3 request a run would make first: one tag of its first literal
    repository, or (discovery on) one repository of the repository list."""
    if namespace is not None and repository is not None:
        return tag_list(namespace, repository, page_size=1)
    return SwrList("/v3/manage/repos", (("limit", "1"),), decode_repository_page, "repositories")


def namespace_list() -> SwrList[NamespacePage]:
    """Return the list of organizations these credentials may see (one page, docs/swr-api.md)."""
    return SwrList("/v2/manage/namespaces", (), decode_namespace_page, "organizations")
