"""Seeded, realistic SWR registries for the local API, the demo and the tests.

A registry is namespaces → repositories → tags. Tags point at images (a retag shares one; a few
are shared across repositories), manifests' layers are partly shared, sizes are log-normal from a
few MB to GBs (plus 0 and the int64 maximum), timestamps have 0, 3, 6 or 9 fraction digits.
`days.py` moves a registry on by a day or an hour of CI pushes. Everything follows from the seed.
"""

from __future__ import annotations

import gc
import hashlib
import random
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

INT64_MAX = 9_223_372_036_854_775_807
BASE_TIME = datetime(2026, 11, 1, tzinfo=UTC)
DOMAIN_ID = "050a1b2c3d4e5f60718293a4b5c6d70a9600"
EXTERNAL_HOST = "swr.cn-north-4.myhuaweicloud.com"
INTERNAL_HOST = "10.125.0.198:20202"

MEDIA_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
MEDIA_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MEDIA_LAYER = "application/vnd.docker.image.rootfs.diff.tar.gzip"
MEDIA_CONFIG = "application/vnd.docker.container.image.v1+json"

NAMESPACE_WORDS = ["platform", "data-eng", "ml.models", "team__legacy", "ci-builds", "web", "sec"]
REPO_WORDS = [
    "api",
    "web",
    "worker",
    "base/nginx",
    "tools/build__cache",
    "web.frontend",
    "svc-auth",
    "jobs/etl",
    "mirror/library/redis",
    "gateway",
    "db-migrate",
    "agent",
]


@dataclass(slots=True)
class Tag:
    """One tag as the v3 API returns it (all 15 fields of the API page), manifest kept apart."""

    id: int
    repo_id: int
    tag: str
    image_id: str
    digest: str
    schema: int
    path: str
    internal_path: str
    size: int
    is_trusted: bool
    created: str
    updated: str
    domain_id: str
    tag_type: int
    manifest: str = ""


CATEGORIES = ["app_server", "linux", "framework_app", "database", "lang", "other", "arm"]


@dataclass
class Repository:
    """A repository, its tags in creation order, and what the repository list says of it."""

    namespace: str
    name: str
    repo_id: int
    tags: list[Tag] = field(default_factory=list)
    category: str = "other"
    description: str = ""
    is_public: bool = False
    created_at: str = "2023-01-01T00:00:00Z"
    num_download: int = 0
    pulls_frozen: bool = False  # nobody pulls it: its counter never moves

    def size(self) -> int:
        """Return the repository's size as the list reports it: each image once, int64-capped."""
        return min(INT64_MAX, sum({t.digest: t.size for t in self.tags}.values()))

    def updated_at(self) -> str:
        """Return when the repository last changed: its latest push, else its creation."""
        return max((t.updated for t in self.tags), key=time_order, default=self.created_at)


def describe(repo: Repository, rng: random.Random, now: datetime) -> Repository:
    """Give a repository the metadata the repository list shows, from `rng`."""
    repo.category = rng.choice(CATEGORIES)
    repo.description = rng.choice(["", f"{repo.name} images", "maintained by the platform team"])
    repo.is_public = rng.random() < 0.2
    repo.created_at = format_time(now - timedelta(days=rng.uniform(30, 5 * 365)), 0)
    repo.pulls_frozen = rng.random() < 0.15
    repo.num_download = 0 if repo.pulls_frozen and rng.random() < 0.5 else rng.randint(0, 50_000)
    return repo


@dataclass
class Registry:
    """A whole registry: repositories by (namespace, name) and manifests by digest."""

    seed: int
    day: int
    repositories: dict[tuple[str, str], Repository]
    manifests: dict[str, str]
    next_id: int
    base_time: datetime = BASE_TIME
    with_manifests: bool = True
    hours: int = 0  # hours past the day's start (`next_hour`)

    @property
    def now(self) -> datetime:
        return self.base_time + timedelta(days=self.day, hours=self.hours)

    @property
    def namespaces(self) -> set[str]:
        return {ns for ns, _ in self.repositories}

    def tags(self, namespace: str, repository: str) -> list[Tag]:
        """Return the tags of one repository (empty for an unknown one)."""
        repo = self.repositories.get((namespace, repository))
        return list(repo.tags) if repo else []

    def tag_count(self) -> int:
        return sum(len(r.tags) for r in self.repositories.values())


def format_time(moment: datetime, digits: int) -> str:
    """Return a UTC timestamp string with 0, 3, 6 or 9 fraction digits and a 'Z'."""
    base = moment.isoformat()[:19]  # YYYY-MM-DDTHH:MM:SS, faster than strftime
    if digits == 0:
        return base + "Z"
    fraction = f"{moment.microsecond:06d}000"[:digits]
    return f"{base}.{fraction}Z"


def time_order(stamp: str) -> tuple[str, str]:
    """Return `format_time`'s text as a key in time order (as text, '05Z' follows '05.1Z')."""
    return stamp[:19], stamp[20:-1].ljust(9, "0")


def repository_names(count: int) -> list[tuple[str, str]]:
    """Return `count` distinct (namespace, repository) pairs, about 20 repositories a namespace."""
    words = len(NAMESPACE_WORDS)
    n_namespaces = max(1, -(-count // 20))
    namespaces = [
        NAMESPACE_WORDS[i % words] + ("" if i < words else f"-{i // words}")
        for i in range(n_namespaces)
    ]
    pairs, per_namespace = [], [0] * n_namespaces
    for i in range(count):
        k = per_namespace[i % n_namespaces]
        per_namespace[i % n_namespaces] += 1
        base = REPO_WORDS[k % len(REPO_WORDS)]
        name = base if k < len(REPO_WORDS) else f"{base}-{k // len(REPO_WORDS)}"
        pairs.append((namespaces[i % n_namespaces], name))
    return pairs


def tag_counts(repos: int, total: int, rng: random.Random) -> list[int]:
    """Return per-repository tag counts: skewed, a few empty, summing exactly to `total`."""
    weights = [0.0 if rng.random() < 0.03 else rng.lognormvariate(0, 1.0) for _ in range(repos)]
    scale = sum(weights) or 1.0
    counts = [int(total * w / scale) for w in weights]
    nonempty = [i for i, w in enumerate(weights) if w > 0] or [0]
    for k in range(total - sum(counts)):
        counts[nonempty[k % len(nonempty)]] += 1
    return counts


class Builder:
    """Makes images, manifests and tags from one random stream."""

    def __init__(self, registry: Registry, rng: random.Random, manifests: bool = True):
        self.registry = registry
        self.rng = rng
        self.manifests = manifests
        self.layer_pool = [self._layer() for _ in range(40)]
        self.shared_images: list[tuple[str, str, int, int, int]] = []

    def _digest(self, data: bytes) -> str:
        return "sha256:" + hashlib.sha256(data).hexdigest()

    def _layer(self) -> dict[str, object]:
        size = int(self.rng.lognormvariate(16.5, 1.6))
        return {
            "mediaType": MEDIA_LAYER,
            "size": size,
            "digest": self._digest(self.rng.randbytes(16)),
        }

    def image(self) -> tuple[str, str, int, int, int]:
        """Return (digest, image_id, size, schema, tag_type) of a new image with its manifest."""
        rng = self.rng
        if self.shared_images and rng.random() < 0.02:
            return rng.choice(self.shared_images)
        roll = rng.random()
        if not self.manifests:
            return self._bare_image(roll)
        if roll < 0.05:
            manifest, size, schema, tag_type = self._manifest_list()
        else:
            layers = rng.sample(self.layer_pool, rng.randint(0, 3))
            layers += [self._layer() for _ in range(rng.randint(1, 4))]
            manifest, size = self._manifest(layers)
            schema, tag_type = (1, 0) if roll > 0.98 else (2, 0)
        digest = self._digest(manifest.encode())
        self.registry.manifests[digest] = manifest
        image = (digest, hashlib.sha256(digest.encode()).hexdigest(), size, schema, tag_type)
        if rng.random() < 0.05:
            self.shared_images.append(image)
        return image

    def _bare_image(self, roll: float) -> tuple[str, str, int, int, int]:
        """An image without a manifest document: for big benchmark registries, 3x faster."""
        rng = self.rng
        tag_type = 1 if roll < 0.05 else 0
        schema = 1 if roll > 0.98 else 2
        size = int(rng.lognormvariate(18.5, 1.3))
        image = (
            f"sha256:{rng.getrandbits(256):064x}",
            f"{rng.getrandbits(256):064x}",
            size,
            schema,
            tag_type,
        )
        if rng.random() < 0.05:
            self.shared_images.append(image)
        return image

    def _manifest(self, layers: list[dict[str, object]]) -> tuple[str, int]:
        config = {
            "mediaType": MEDIA_CONFIG,
            "size": self.rng.randint(1500, 9000),
            "digest": self._digest(self.rng.randbytes(16)),
        }
        doc = {"schemaVersion": 2, "mediaType": MEDIA_MANIFEST, "config": config, "layers": layers}
        size = int(config["size"]) + sum(int(layer["size"]) for layer in layers)  # type: ignore[call-overload]
        return orjson.dumps(doc).decode(), size

    def _manifest_list(self) -> tuple[str, int, int, int]:
        entries, total = [], 0
        for arch in ("amd64", "arm64"):
            manifest, size = self._manifest([self._layer() for _ in range(2)])
            digest = self._digest(manifest.encode())
            self.registry.manifests[digest] = manifest
            total += size
            entries.append(
                {
                    "mediaType": MEDIA_MANIFEST,
                    "size": len(manifest),
                    "digest": digest,
                    "platform": {"architecture": arch, "os": "linux"},
                }
            )
        doc = {"schemaVersion": 2, "mediaType": MEDIA_LIST, "manifests": entries}
        return orjson.dumps(doc).decode(), total, 2, 1

    def tag_name(self, taken: set[str]) -> str:
        rng = self.rng

        def n(low: int, high: int) -> int:  # randint, without its cost in a hot loop
            return low + int(rng.random() * (high - low + 1))

        makers = [
            lambda: f"v{n(0, 5)}.{n(0, 30)}.{n(0, 40)}",
            lambda: f"{n(0, 3)}.{n(0, 20)}.0-rc.{n(1, 9)}",
            lambda: f"{rng.getrandbits(28):07x}",
            lambda: f"20{n(20, 26)}-{n(1, 12):02d}-{n(1, 28):02d}",
            lambda: f"build-{n(1000, 999999)}",
            lambda: f"main-{n(100, 9999)}-{rng.getrandbits(28):07x}",
            lambda: rng.choice(["latest", "stable", "release", "nightly", "edge"]),
        ]
        while True:
            name = rng.choice(makers)()
            if name not in taken:
                taken.add(name)
                return name

    def tag(
        self,
        repo: Repository,
        name: str,
        image: tuple[str, str, int, int, int],
        created: datetime,
        updated: datetime,
    ) -> Tag:
        digest, image_id, size, schema, tag_type = image
        self.registry.next_id += 1
        ref = f"{repo.namespace}/{repo.name}:{name}"
        digits = self.rng.choice((0, 3, 6, 9))
        return Tag(
            id=self.registry.next_id,
            repo_id=repo.repo_id,
            tag=name,
            image_id=image_id,
            digest=digest,
            schema=schema,
            path=f"{EXTERNAL_HOST}/{ref}",
            internal_path=f"{INTERNAL_HOST}/{ref}",
            size=size,
            is_trusted=self.rng.random() < 0.1,
            created=format_time(created, digits),
            updated=format_time(updated, digits),
            domain_id=DOMAIN_ID,
            tag_type=tag_type,
        )

    def moment_before(self, now: datetime, max_days: float) -> datetime:
        return now - timedelta(seconds=self.rng.uniform(0, max_days * 86400))


def generate_registry(
    repos: int = 200,
    tags: int | None = None,
    seed: int = 1,
    edge_sizes: bool = True,
    now: datetime = BASE_TIME,
    manifests: bool = True,
) -> Registry:
    """Return a registry of `repos` repositories holding `tags` tags (default ~40 per repo).

    Pushes spread over the four years before `now`. With `edge_sizes`, one image has size 0
    and one the int64 maximum (the API page's range). Without `manifests`, images get random
    digests and no manifest documents (for large benchmark registries).
    """
    # Millions of small objects: the cyclic GC would rescan them all, again and again.
    with gc_paused():
        return _generate(repos, tags, seed, edge_sizes, now, manifests)


@contextmanager
def gc_paused() -> Iterator[None]:
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _generate(
    repos: int, tags: int | None, seed: int, edge_sizes: bool, now: datetime, manifests: bool
) -> Registry:
    rng = random.Random(seed)
    registry = Registry(
        seed=seed,
        day=0,
        repositories={},
        manifests={},
        next_id=0,
        base_time=now,
        with_manifests=manifests,
    )
    builder = Builder(registry, rng, manifests)
    total = repos * 40 if tags is None else tags
    for repo_id, ((ns, name), count) in enumerate(
        zip(repository_names(repos), tag_counts(repos, total, rng), strict=True), start=1
    ):
        repo = describe(Repository(ns, name, repo_id), rng, registry.now)
        registry.repositories[(ns, name)] = repo
        fill_repository(builder, repo, count, registry.now)
    if edge_sizes:
        _add_edge_sizes(registry)
    return registry


def fill_repository(builder: Builder, repo: Repository, count: int, now: datetime) -> None:
    rng, taken = builder.rng, set[str]()
    while len(repo.tags) < count:
        image = builder.image()
        created = builder.moment_before(now, 4 * 365)
        # Retags: one image often carries several tags (v1.2.3 and latest, say).
        for _ in range(
            min(count - len(repo.tags), 1 + int(rng.random() < 0.3) * rng.randint(1, 2))
        ):
            updated = min(now, created + timedelta(days=rng.expovariate(1 / 30)))
            repo.tags.append(builder.tag(repo, builder.tag_name(taken), image, created, updated))


def _add_edge_sizes(registry: Registry) -> None:
    """Give the first image size 0 and the last the int64 maximum, as the API page allows."""
    all_tags = [t for r in registry.repositories.values() for t in r.tags]
    if len(all_tags) < 2 or all_tags[0].digest == all_tags[-1].digest:
        return
    for digest, size in ((all_tags[0].digest, 0), (all_tags[-1].digest, INT64_MAX)):
        for tag in all_tags:
            if tag.digest == digest:
                tag.size = size
