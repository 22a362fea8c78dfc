"""A registry's next day, as the local API serves it: tags pushed, deleted, moved to another
digest and re-pushed, whole repositories deleted and created, pull counters moved; and a push
in the middle of a crawl (`push_tags`)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime

from etl.fakeswr.registry import (
    NAMESPACE_WORDS,
    Builder,
    Registry,
    Repository,
    describe,
    fill_repository,
    format_time,
)


def next_day(registry: Registry, churn: float = 0.02, seed: int | None = None) -> Registry:
    """Return the registry a day later: tags added, deleted, moved to another digest, re-pushed;
    whole repositories deleted and created at the same rate; pull counters moved."""
    rng = random.Random(seed if seed is not None else registry.seed * 1000 + registry.day + 1)
    day = Registry(
        seed=registry.seed,
        day=registry.day + 1,
        repositories={},
        manifests=dict(registry.manifests),
        next_id=registry.next_id,
        base_time=registry.base_time,
        with_manifests=registry.with_manifests,
    )
    builder = Builder(day, rng, registry.with_manifests)
    for key, repo in registry.repositories.items():
        if rng.random() < churn:
            continue  # the whole repository deleted
        day.repositories[key] = _mutate_repository(builder, repo, churn, day.now)
    _create_repositories(builder, registry, day, churn)
    return day


def push_tags(registry: Registry, key: tuple[str, str], count: int) -> None:
    """Push `count` new tags to one repository of `registry`, in place (a push mid-crawl)."""
    repo = registry.repositories[key]
    builder = Builder(registry, random.Random(registry.seed + registry.next_id), False)
    taken = {t.tag for t in repo.tags}
    for _ in range(count):
        moment = builder.moment_before(registry.now, 1)
        repo.tags.append(
            builder.tag(repo, builder.tag_name(taken), builder.image(), moment, moment)
        )


def _create_repositories(builder: Builder, before: Registry, day: Registry, churn: float) -> None:
    """Add new repositories to `day` (names never used in `before`), a few tags each."""
    rng = builder.rng
    count = sum(rng.random() < churn for _ in before.repositories) + int(rng.random() < 0.3)
    namespaces = sorted(before.namespaces) or [NAMESPACE_WORDS[0]]
    next_repo_id = max((r.repo_id for r in before.repositories.values()), default=0) + 1
    for k in range(count):
        namespace = rng.choice(namespaces)
        name = f"new-{day.day}-{k}"
        repo = describe(Repository(namespace, name, next_repo_id + k), rng, day.now)
        repo.created_at = format_time(builder.moment_before(day.now, 1), 0)
        day.repositories[(namespace, name)] = repo
        fill_repository(builder, repo, rng.randint(1, 12), day.now)


def _mutate_repository(
    builder: Builder, repo: Repository, churn: float, now: datetime
) -> Repository:
    rng = builder.rng
    pulls = 0 if repo.pulls_frozen else int(rng.expovariate(1 / 40))
    out = replace(repo, tags=[], num_download=repo.num_download + pulls)
    taken = {t.tag for t in repo.tags}
    for tag in repo.tags:
        roll = rng.random()
        if roll < churn:
            taken.discard(tag.tag)  # deleted
            continue
        if roll < 2 * churn:  # moved: same tag name, another image
            digest, image_id, size, schema, tag_type = builder.image()
            stamp = format_time(builder.moment_before(now, 1), 3)
            tag = replace(
                tag,
                digest=digest,
                image_id=image_id,
                size=size,
                schema=schema,
                tag_type=tag_type,
                updated=stamp,
            )
        elif roll < 3 * churn:  # re-pushed: same image, newer push time
            tag = replace(tag, updated=format_time(builder.moment_before(now, 1), 6))
        out.tags.append(tag)
    for _ in range(sum(rng.random() < churn for _ in repo.tags) + int(rng.random() < 0.2)):
        moment = builder.moment_before(now, 1)
        out.tags.append(builder.tag(out, builder.tag_name(taken), builder.image(), moment, moment))
    return out
