"""The SWR lists swr-tag-etl reads, each a small definition for the client's paging core:
the v3 tag list of a repository, the v3 repository list of an organization, and the list of
organizations. A new list (the v2 ones, say) is one more function here and a page reader."""

from __future__ import annotations

from urllib.parse import quote

from etl.swr.client import MAX_PAGE_SIZE, SwrList
from etl.swr.names import encode_repository
from etl.swr.pages import (
    NamespacePage,
    RepositoryPage,
    TagPage,
    decode_namespace_page,
    decode_repository_page,
    decode_tag_page,
)


def tag_list(
    namespace: str,
    repository: str,
    *,
    page_size: int = MAX_PAGE_SIZE,
    tag: str | None = None,
    with_manifest: bool = False,
) -> SwrList[TagPage]:
    """Return the v3 tag list of one repository (booleans sent lowercase, FACTS.md)."""
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


def tag_list_path(namespace: str, repository: str) -> str:
    """Return the URL path of the v3 tag list, the repository's '/' sent as '$' (as %24)."""
    encoded = quote(encode_repository(repository), safe="")
    return f"/v3/manage/namespaces/{quote(namespace, safe='')}/repos/{encoded}/tags"


def repository_list(namespace: str, *, page_size: int = MAX_PAGE_SIZE) -> SwrList[RepositoryPage]:
    """Return the v3 repository list of one organization (FACTS.md: integer `nextMarker`,
    `limit` up to 1000; names carry their '/')."""
    query = (("namespace", namespace), ("limit", str(page_size)))
    return SwrList("/v3/manage/repos", query, decode_repository_page, namespace)


def namespace_list() -> SwrList[NamespacePage]:
    """Return the list of organizations these credentials may see (one page, FACTS.md)."""
    return SwrList("/v2/manage/namespaces", (), decode_namespace_page, "organizations")
