"""Pages of the organization and repository lists (v3 and v2) → typed rows, by the same field
rules as the tag pages (`etl.swr.pages`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa

from etl.errors import ResponseError
from etl.schemas import REPOSITORY_FIELDS, REPOSITORY_SCHEMA
from etl.swr.pages import field_arrays, list_of_objects


# docs/swr-api.md: the v3 repository list's fields; `name` carries its '/'.
@dataclass(frozen=True)
class RepositoryPage:
    """One page of the repository list, typed (REPOSITORY_SCHEMA), and its marker fields."""

    columns: pa.RecordBatch
    bad_times: int
    markers: dict[str, Any]

    def __len__(self) -> int:
        return int(self.columns.num_rows)


@dataclass(frozen=True)
class NamespacePage:
    """The organization list: the names, in the order given (one page, no markers)."""

    names: list[str]
    markers: dict[str, Any]


async def decode_repository_page(body: bytes) -> RepositoryPage:
    """Return a v3 repository-list body as typed columns; raise ResponseError (naming the
    field, the repository and the value) if its shape or a field is wrong."""
    parsed = orjson.loads(body)
    batch, warnings = repository_columns(objects_under(parsed, "repos"))
    return RepositoryPage(batch, warnings, {k: parsed[k] for k in ("nextMarker",) if k in parsed})


async def decode_v2_repository_page(body: bytes) -> RepositoryPage:
    """Return a v2 repository-list body (a bare array, no `id`, the organization under
    `namespace`) as typed columns."""
    repos = list_of_objects(orjson.loads(body), "the v2 repository list")
    for repo in repos:
        repo["namespace_name"] = repo.get("namespace")
    batch, warnings = repository_columns(repos)
    return RepositoryPage(batch, warnings, {})


def repository_columns(repos: list[dict[str, Any]]) -> tuple[pa.RecordBatch, int]:
    """Return (REPOSITORY_SCHEMA columns, count of unparseable timestamps) for repositories."""
    columns, warnings = field_arrays(repos, REPOSITORY_FIELDS, label="name")
    batch = pa.RecordBatch.from_arrays(columns, schema=REPOSITORY_SCHEMA)
    if batch.column("name").null_count:
        raise ResponseError("a repository object has no 'name'")
    return batch, warnings


async def decode_namespace_page(body: bytes) -> NamespacePage:
    """Return the organization names of a namespace-list body."""
    names = [item.get("name") for item in objects_under(orjson.loads(body), "namespaces")]
    valid = [name for name in names if isinstance(name, str) and name]
    if len(valid) != len(names):
        raise ResponseError("an organization has no 'name'")
    return NamespacePage(valid, {})


def objects_under(body: Any, key: str) -> list[dict[str, Any]]:
    """Return `body[key]`, checked to be a list of objects (null is an empty list)."""
    if not isinstance(body, dict):
        raise ResponseError(f"expected a JSON object, got {type(body).__name__}")
    if key not in body:
        raise ResponseError(f"the page has no {key!r} key")
    return list_of_objects(body[key] if body[key] is not None else [], repr(key))
