"""One repository's tags as `cleanup apply` needs them: all of them as SWR lists them now, and
one deleted (docs/swr-api.md: "Deleting a tag").

SWR has no call that reads one tag, and its list's `tag` filter is fuzzy (docs/swr-api.md:
substring or prefix, unconfirmed), so nothing here trusts it: a tag is read from its
repository's whole list (v3 or v2), which also says which other tags name its image. A tag is
deleted with `DELETE /v2/manage/namespaces/{namespace}/repos/{repository}/tags/{tag}` (the
official SDK's `DeleteRepoTag`): the repository's '/' sent as '$', every segment
percent-encoded; SWR answers 204 when it deleted the tag and 404 when the repository or the
tag does not exist.
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
from etl.swr.names import validate_tag
from etl.swr.paging import MAX_PAGE_SIZE


@dataclass(frozen=True)
class TagNow:
    """What SWR says of one tag now: its digest, last push and size (None: unreadable)."""

    tag: str
    digest: str | None
    updated: datetime | None
    size: int | None = None


def tags_of(columns: pa.RecordBatch) -> list[TagNow]:
    """Return the tags of a typed tag page (`etl.swr.pages.TagPage.columns`)."""
    rows = columns.select(["tag", "digest", "updated", "size"]).to_pylist()
    return [
        TagNow(r["tag"], r["digest"], r["updated"], r["size"]) for r in rows if r["tag"] is not None
    ]


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
    %24, as the SDK sends it), every segment percent-encoded; raise NameError_ for a tag
    outside the registry's grammar (`..` would be a dot segment)."""
    encoded = quote(validate_tag(tag), safe="")
    return f"{tag_list_path(namespace, repository, 'v2')}/{encoded}"


async def delete_tag(
    client: SwrClient,
    namespace: str,
    repository: str,
    tag: str,
    stats: RequestStats | None = None,
) -> bool:
    """Send one tag's DELETE once (no retry: the caller reads the repository again before
    another); return True if SWR answered 2xx, False if it said the tag was not there."""
    target = f"{namespace}/{repository}:{tag}"
    try:
        path = tag_path(namespace, repository, tag)
        await client.delete(path, target=target, stats=stats, retrying=False)
    except NotFoundError:
        return False
    return True
