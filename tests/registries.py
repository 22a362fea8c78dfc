"""The registry side of every comparison: what the local API serves, as a test expects to read
it back (typed, times in UTC), and registries narrowed to some of their repositories."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from etl.fakeswr import Registry
from etl.fakeswr.registry import Tag


def parse_time(value: str) -> datetime:
    """The test's own reading of the API's timestamps: truncated to microseconds, UTC."""
    head, _, rest = value.rstrip("Z").partition(".")
    micros = int((rest + "000000")[:6]) if rest else 0
    moment = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return moment.replace(microsecond=micros)


def expected_tags(registry: Registry, namespace: str, repository: str) -> list[dict[str, Any]]:
    """Return a repository's tags as the v3 list should read them: typed, times in UTC, and
    no `deleted` or `scanned` (only the v2 list has them)."""
    return [
        {
            **asdict(t),
            "created": parse_time(t.created),
            "updated": parse_time(t.updated),
            "deleted": None,
            "scanned": None,
        }
        for t in registry.tags(namespace, repository)
    ]


def expected_row(namespace: str, repository: str, t: Tag) -> tuple[Any, ...]:
    """One tag as `tests.stored.stored_rows` reads it (the columns of `stored.COLUMNS`)."""
    return (
        namespace,
        repository,
        t.tag,
        t.id,
        t.repo_id,
        t.image_id,
        t.digest,
        t.schema,
        t.path,
        t.internal_path,
        t.size,
        t.is_trusted,
        parse_time(t.created),
        parse_time(t.updated),
        t.domain_id,
        t.tag_type,
    )


def expected_rows(
    registry: Registry, repositories: list[tuple[str, str]] | None = None
) -> list[tuple[Any, ...]]:
    """Every tag of `repositories` (default: all), sorted, as `stored_rows` reads them."""
    keys = repositories if repositories is not None else list(registry.repositories)
    return sorted(expected_row(ns, repo, t) for ns, repo in keys for t in registry.tags(ns, repo))


def only(registry: Registry, keep: Callable[[tuple[str, str]], bool]) -> Registry:
    """Return the registry with only the repositories `keep((namespace, name))` accepts."""
    narrowed = copy.deepcopy(registry)
    narrowed.repositories = {k: r for k, r in registry.repositories.items() if keep(k)}
    return narrowed


def tags_of(registry: Registry) -> int:
    """How many tags the registry holds, every repository together."""
    return sum(len(r.tags) for r in registry.repositories.values())
