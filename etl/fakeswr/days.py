"""A registry's next day or hour, as the local API serves it: tags pushed, deleted, moved to
another digest and re-pushed, whole repositories deleted and created, pull counters moved; a
mass re-push (`repush_everything`); and a push in the middle of a crawl (`push_tags`)."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta

from etl.fakeswr.registry import (
    NAMESPACE_WORDS,
    Builder,
    Registry,
    Repository,
    Tag,
    describe,
    fill_repository,
    format_time,
    gc_paused,
)


def next_day(registry: Registry, churn: float = 0.02, seed: int | None = None) -> Registry:
    """Return the registry a day later: tags added, deleted, moved to another digest, re-pushed;
    whole repositories deleted and created at the same rate; pull counters moved."""
    rng = random.Random(seed if seed is not None else registry.seed * 1000 + registry.day + 1)
    day = successor(registry, registry.day + 1, registry.hours)
    builder = Builder(day, rng, registry.with_manifests)
    for key, repo in registry.repositories.items():
        if rng.random() < churn:
            continue  # the whole repository deleted
        day.repositories[key] = _mutate_repository(builder, repo, churn, day.now)
    _create_repositories(builder, registry, day, churn)
    return day


def next_hour(
    registry: Registry, share: float = 0.1, seed: int | None = None, turnover: bool = False
) -> Registry:
    """Return the registry an hour later: `share` of its repositories (rounded) touched by
    pushes within the hour (tags added, re-pushed, moved to another digest, deleted), and with
    `turnover` one repository created and one untouched one (if any is left) deleted. Every
    other repository keeps its tags and its list entry (`updated_at`, `num_images`, `size`);
    its pull counter may move. `registry` itself is left as it was."""
    if not 0 <= share <= 1:
        raise ValueError(f"share must be between 0 and 1, not {share}")
    rng = random.Random(
        seed if seed is not None else f"hour:{registry.seed}:{registry.day}:{registry.hours}"
    )
    hour = successor(registry, registry.day, registry.hours + 1)
    builder = Builder(hour, rng, registry.with_manifests)
    keys = list(registry.repositories)
    touched = set(rng.sample(keys, round(share * len(keys))))
    spared = [k for k in keys if k not in touched]
    gone = rng.choice(spared) if turnover and spared else None
    for key, repo in registry.repositories.items():
        if key == gone:
            continue
        # An hour of pulls: a counter moves, as the list's `num_download` of a real one would.
        pulls = 0 if repo.pulls_frozen or rng.random() < 0.5 else int(rng.expovariate(1 / 3))
        hour.repositories[key] = replace(
            repo, tags=list(repo.tags), num_download=repo.num_download + pulls
        )
        if key in touched:
            _push_within_hour(builder, hour.repositories[key], registry.now)
    if turnover:
        _create_within_hour(builder, registry, hour)
    return hour


def repush_everything(registry: Registry, seed: int | None = None) -> Registry:
    """Return the registry an hour later in which every tag was pushed again and renumbered (a
    mass re-push, a registry migrated): the same names and images, a new `id` and a push time
    within the hour for each. `registry` itself is left as it was."""
    rng = random.Random(
        seed if seed is not None else f"repush:{registry.seed}:{registry.day}:{registry.hours}"
    )
    hour = successor(registry, registry.day, registry.hours + 1)
    with gc_paused():  # a million new tags: the cyclic GC would rescan them again and again
        for key, repo in registry.repositories.items():
            tags = []
            for tag in repo.tags:
                hour.next_id += 1
                stamp = format_time(_within_hour(rng, registry.now), rng.choice((0, 3, 6, 9)))
                tags.append(replace(tag, id=hour.next_id, updated=stamp))
            hour.repositories[key] = replace(repo, tags=tags)
    return hour


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
            image = builder.image()
            tag = on_image(tag, image, format_time(builder.moment_before(now, 1), 3))
        elif roll < 3 * churn:  # re-pushed: same image, newer push time
            tag = replace(tag, updated=format_time(builder.moment_before(now, 1), 6))
        out.tags.append(tag)
    for _ in range(sum(rng.random() < churn for _ in repo.tags) + int(rng.random() < 0.2)):
        moment = builder.moment_before(now, 1)
        out.tags.append(builder.tag(out, builder.tag_name(taken), builder.image(), moment, moment))
    return out


def successor(registry: Registry, day: int, hours: int) -> Registry:
    """Return an empty registry at `day` and `hours` that continues `registry`: its seed, its
    manifests (copied), its ids."""
    return Registry(
        seed=registry.seed,
        day=day,
        repositories={},
        manifests=dict(registry.manifests),
        next_id=registry.next_id,
        base_time=registry.base_time,
        with_manifests=registry.with_manifests,
        hours=hours,
    )


def _within_hour(rng: random.Random, start: datetime) -> datetime:
    """Return a moment of the hour after `start`, a whole second or more after it: written with
    no fraction it still comes after every push before the hour."""
    return start + timedelta(seconds=rng.uniform(1, 3600))


def _push_within_hour(builder: Builder, repo: Repository, start: datetime) -> None:
    """Change `repo` in place as an hour of pushes after `start` would: one or more tags added,
    re-pushed, moved to another image or deleted. Re-pushes, moves and deletes take tags the
    hour found, so its list entry always changes: a later `updated_at`, or fewer images."""
    rng = builder.rng
    tags = {t.tag: t for t in repo.tags}
    taken, found = set(tags), list(tags)
    for _ in range(1 + int(rng.expovariate(1 / 2))):
        moment, roll = _within_hour(rng, start), rng.random()
        if not found or roll < 0.4:
            tag = builder.tag(repo, builder.tag_name(taken), builder.image(), moment, moment)
            tags[tag.tag] = tag
        elif roll < 0.85:
            name = rng.choice(found)
            tags[name] = _pushed_again(builder, tags[name], moment, moved=roll >= 0.65)
        else:
            del tags[found.pop(rng.randrange(len(found)))]
    repo.tags = list(tags.values())


def _pushed_again(builder: Builder, tag: Tag, moment: datetime, moved: bool) -> Tag:
    """Return `tag` pushed again at `moment`: the same image (a re-push), or another (moved)."""
    stamp = format_time(moment, builder.rng.choice((0, 3, 6, 9)))
    if not moved:
        return replace(tag, updated=stamp)
    return on_image(tag, builder.image(), stamp)


def on_image(tag: Tag, image: tuple[str, str, int, int, int], stamp: str) -> Tag:
    """Return `tag` pushed at `stamp` onto another image (`Builder.image`'s digest, image id,
    size, schema, tag type)."""
    digest, image_id, size, schema, tag_type = image
    return replace(
        tag,
        digest=digest,
        image_id=image_id,
        size=size,
        schema=schema,
        tag_type=tag_type,
        updated=stamp,
    )


def _create_within_hour(builder: Builder, before: Registry, hour: Registry) -> None:
    """Add to `hour` a repository created within it (a name no day or hour used), a few tags."""
    rng = builder.rng
    namespace = rng.choice(sorted(before.namespaces) or [NAMESPACE_WORDS[0]])
    repo_id = max((r.repo_id for r in before.repositories.values()), default=0) + 1
    name = f"new-{hour.day}-h{hour.hours}"
    repo = describe(Repository(namespace, name, repo_id), rng, hour.now)
    created = _within_hour(rng, before.now)
    repo.created_at = format_time(created, 0)
    taken = set[str]()
    for _ in range(rng.randint(1, 12)):
        moment = min(hour.now, created + timedelta(seconds=rng.uniform(0, 600)))
        repo.tags.append(
            builder.tag(repo, builder.tag_name(taken), builder.image(), moment, moment)
        )
    hour.repositories[(namespace, name)] = repo
