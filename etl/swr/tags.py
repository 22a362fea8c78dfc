"""One repository's tags as `cleanup apply` needs them: read now, by name or all, and deleted
(docs/swr-api.md: "Deleting a tag").

SWR has no call that reads one tag: it is read from its repository's tag list (v3 or v2) with
the `tag` filter, which is fuzzy (docs/swr-api.md: substring or prefix, unconfirmed), so the
answer is searched for the exact name. A tag is deleted with `DELETE /v2/manage/namespaces/
{namespace}/repos/{repository}/tags/{tag}` (the official SDK's `DeleteRepoTag`): the
repository's '/' sent as '$', the tag URL-encoded; SWR answers 204 when it deleted the tag and
404 when the repository or the tag does not exist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

import pyarrow as pa

from etl.errors import NotFoundError
from etl.results import RequestStats
from etl.swr.client import SwrClient
from etl.swr.lists import Api, tag_list_of, tag_list_path
from etl.swr.paging import MAX_PAGE_SIZE


@dataclass(frozen=True)
class TagNow:
    """What SWR says of one tag now: its digest and last push (None: absent or unreadable)."""

    tag: str
    digest: str | None
    updated: datetime | None


def tags_of(columns: pa.RecordBatch) -> list[TagNow]:
    """Return the tags of a typed tag page (`etl.swr.pages.TagPage.columns`)."""
    rows = columns.select(["tag", "digest", "updated"]).to_pylist()
    return [TagNow(r["tag"], r["digest"], r["updated"]) for r in rows if r["tag"] is not None]


async def read_tag(
    client: SwrClient,
    api: Api,
    namespace: str,
    repository: str,
    tag: str,
    stats: RequestStats | None = None,
) -> TagNow | None:
    """Return the tag named `tag` exactly as SWR lists it now, or None if it lists none (a
    repository SWR says does not exist has none)."""
    listing = tag_list_of(
        api, namespace, repository, page_size=MAX_PAGE_SIZE, tag=tag, with_manifest=False
    )
    try:
        async for answer in client.iter_pages(listing, stats):
            found = [t for t in tags_of(answer.body.columns) if t.tag == tag]
            if found:
                return found[0]
    except NotFoundError:
        return None
    return None


async def repository_tags(
    client: SwrClient,
    api: Api,
    namespace: str,
    repository: str,
    stats: RequestStats | None = None,
) -> list[TagNow]:
    """Return every tag of a repository as SWR lists it now (none if SWR says the repository
    does not exist)."""
    listing = tag_list_of(
        api, namespace, repository, page_size=MAX_PAGE_SIZE, tag=None, with_manifest=False
    )
    found: list[TagNow] = []
    try:
        async for answer in client.iter_pages(listing, stats):
            found += tags_of(answer.body.columns)
    except NotFoundError:
        return []
    return found


def tag_path(namespace: str, repository: str, tag: str) -> str:
    """Return the URL path of one tag (DeleteRepoTag's): the repository's '/' as '$' (sent as
    %24, as the SDK sends it), the tag percent-encoded."""
    return f"{tag_list_path(namespace, repository, 'v2')}/{quote(tag, safe='')}"


async def delete_tag(
    client: SwrClient,
    namespace: str,
    repository: str,
    tag: str,
    stats: RequestStats | None = None,
) -> bool:
    """Delete one tag; return True if SWR deleted it, False if SWR said it was not there (a
    retry that found what an earlier attempt deleted, or someone else's delete)."""
    target = f"{namespace}/{repository}:{tag}"
    try:
        await client.delete(tag_path(namespace, repository, tag), target=target, stats=stats)
    except NotFoundError:
        return False
    return True
