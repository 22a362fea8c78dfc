"""Shared fixtures: a clean environment, seeded registries and the local SWR API on 127.0.0.1."""

from __future__ import annotations

import os
import resource
import signal
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml
from aiohttp import web

from etl import schemas
from etl.fakeswr import (
    FakeSwr,
    Options,
    Registry,
    ServerThread,
    generate_registry,
    start,
    start_app,
    stop,
    stop_app,
)
from etl.fakeswr.registry import Tag
from etl.swr.auth import AkSkAuth, Auth, IamCredentials, IamPasswordAuth, TokenAuth
from etl.swr.client import RetryPolicy, SwrClient
from etl.swr.lists import tag_list

ENV_PREFIXES = ("SWR_", "HW_", "IAM_", "HUAWEICLOUD_")


# What `make test-fast` leaves out (`-m "not slow"`): modules that start a browser, Spark, the
# S3 stand-in or whole `swr-etl` processes, or wait out real backoff in whole syncs. A single
# slow test elsewhere carries `@pytest.mark.slow` itself. `make test` runs everything.
SLOW_MODULES = frozenset(
    {
        # a browser, Spark, the S3 stand-in, a container's steps, a terminal
        "tests.test_bi",
        "tests.test_dashboard",
        "tests.test_deploy",
        "tests.test_object_storage",
        "tests.test_operate",
        "tests.test_spark",
        # whole syncs, several per test, or whole processes killed and restarted
        "tests.test_discovery",
        "tests.test_figures",
        "tests.test_scope",
        "tests.test_sync",
        "tests.test_v2",
        "tests.reliability.test_crash",
        "tests.reliability.test_faults",
        "tests.reliability.test_hostile",
        "tests.reliability.test_hostile_network",
        "tests.reliability.test_lake_integrity",
        "tests.reliability.test_messages",
        "tests.reliability.test_overlap",
        "tests.reliability.test_readers",
        "tests.reliability.test_removal_guard",
        "tests.reliability.test_resources",
        "tests.reliability.test_secrets",
        "tests.reliability.test_shared_lake",
        "tests.reliability.test_throttling",
    }
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.module is not None and item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)


# The running test's MonkeyPatch: `write_config` sets environment variables through it, so
# they are undone when the test ends.
RUNNING: list[pytest.MonkeyPatch] = []


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never see credentials from the machine they run on, nor another test's."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)
    RUNNING.append(monkeypatch)
    yield
    RUNNING.remove(monkeypatch)


@pytest.fixture(scope="session")
def small_registry() -> Registry:
    """30 repositories, ~1,200 tags: big enough for several pages per repository."""
    return generate_registry(repos=30, seed=7)


@pytest.fixture
def fake_options() -> Options:
    """Options of the local API; a test changes them before the `fake` fixture starts it."""
    return Options()


@pytest.fixture
async def fake(small_registry: Registry, fake_options: Options) -> AsyncIterator[FakeSwr]:
    """The local SWR API serving `small_registry` on 127.0.0.1."""
    server = await start(small_registry, options=fake_options)
    yield server
    await stop(server)


def auth_for(fake: FakeSwr, kind: str) -> Auth:
    """Return an auth scheme of `kind` holding the local API's credentials."""
    creds = fake.credentials
    if kind == "token":
        return TokenAuth(creds.token)
    if kind == "aksk":
        return AkSkAuth(creds.ak, creds.sk, creds.project_id)
    iam = IamCredentials(fake.url, creds.domain, creds.user, creds.password, creds.project_name)
    return IamPasswordAuth(iam)


def client_for(fake: FakeSwr, auth: str = "token", **kwargs: Any) -> SwrClient:
    """Return a client of the local API with fast retries (tests never wait for seconds)."""
    kwargs.setdefault("retry", RetryPolicy(max_attempts=8, base_delay_s=0.01, max_delay_s=0.05))
    kwargs.setdefault("requests_per_second", 10_000)
    return SwrClient(fake.url, auth_for(fake, auth), name="local", **kwargs)


async def all_tags(
    client: SwrClient, namespace: str, repository: str, **kwargs: Any
) -> list[dict[str, Any]]:
    """Return every tag of one repository, page after page, as typed dicts."""
    tags: list[dict[str, Any]] = []
    async for answer in client.iter_pages(tag_list(namespace, repository, **kwargs)):
        tags.extend(answer.body.columns.to_pylist())
    return tags


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


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve a hand-made aiohttp app (a hostile server, say) on 127.0.0.1; yield its URL."""
    running = await start_app(app)
    try:
        yield running.url
    finally:
        await stop_app(running)


def write_config(
    directory: Path,
    fake: FakeSwr,
    repositories: list[tuple[str, str]],
    auth: str = "token",
    env: pytest.MonkeyPatch | None = None,
    **crawl: Any,
) -> Path:
    """Write a config that syncs `repositories` from `fake`; secrets come from the environment,
    set through `env` (by default the running test's MonkeyPatch; a fixture of a wider scope
    passes its own)."""
    creds = fake.credentials
    auths = {
        "token": {"type": "token", "token": "${SWR_TOKEN}"},
        "password": {
            "type": "password",
            "iam_url": fake.url,
            "domain": creds.domain,
            "user": creds.user,
            "password": "${IAM_PASSWORD}",
            "project": creds.project_name,
        },
        "aksk": {
            "type": "aksk",
            "ak": "${HW_AK}",
            "sk": "${HW_SK}",
            "project_id": creds.project_id,
        },
    }
    patch = env if env is not None else RUNNING[-1]
    secrets = dict(
        SWR_TOKEN=creds.token, IAM_PASSWORD=creds.password, HW_AK=creds.ak, HW_SK=creds.sk
    )
    for name, value in secrets.items():
        patch.setenv(name, value)
    by_namespace: dict[str, list[str]] = {}
    for namespace, repository in repositories:
        by_namespace.setdefault(namespace, []).append(repository)
    config = {
        "endpoints": [
            {
                "name": "local",
                "url": fake.url,
                "auth": auths[auth],
                "targets": [
                    {"namespace": ns, "repositories": rs} for ns, rs in by_namespace.items()
                ],
            }
        ],
        "crawl": {
            "concurrency": 8,
            "requests_per_second": 5000,
            "page_size": 50,
            "timeout_s": 5,
            **crawl,
        },
        "output": {"lake": "./lake", "duckdb": "./swr.duckdb"},
    }
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


@pytest.fixture
def served(small_registry: Registry, fake_options: Options) -> Iterator[FakeSwr]:
    """The local API in a background thread, for code that runs its own event loop (sync)."""
    with ServerThread(small_registry, options=fake_options) as server:
        yield server


def parse_time(value: str) -> datetime:
    """The test's own reading of the API's timestamps: truncated to microseconds, UTC."""
    head, _, rest = value.rstrip("Z").partition(".")
    micros = int((rest + "000000")[:6]) if rest else 0
    moment = datetime.strptime(head, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    return moment.replace(microsecond=micros)


TABLES = ("runs", "target_runs", "tag_history", "manifests")


def expected_row(namespace: str, repository: str, t: Tag) -> tuple[Any, ...]:
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
    keys = repositories if repositories is not None else list(registry.repositories)
    return sorted(expected_row(ns, repo, t) for ns, repo in keys for t in registry.tags(ns, repo))


COLUMNS = ", ".join(["namespace", "repository", *schemas.TAG_FIELDS])  # as expected_row


def stored_rows(db: Path, where: str = "") -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return sorted(con.execute(f"SELECT {COLUMNS} FROM tags_current {where}").fetchall())


def table_rows(db: Path) -> dict[str, list[tuple[Any, ...]]]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in TABLES}


def discovering(
    tmp_path: Path, server: FakeSwr, targets: list[dict[str, Any]], **crawl: Any
) -> Path:
    """Write a config whose targets are `targets` (patterns allowed)."""
    path = write_config(tmp_path, server, [("platform", "api")], **crawl)
    data = yaml.safe_load(path.read_text())
    data["endpoints"][0]["targets"] = targets
    path.write_text(yaml.safe_dump(data))
    return path


def query(db: Path, sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("SET TimeZone = 'UTC'")
        return con.execute(sql, params).fetchall()


def docs_sql(page: str, after: str) -> str:
    """Return the first fenced SQL block of `docs/<page>` after the line that starts with
    `after`: the tests run the documentation's own examples, word for word."""
    text = (Path(__file__).resolve().parents[1] / "docs" / page).read_text(encoding="utf-8")
    start = text.index("\n" + after)
    block = text.index("```sql\n", start) + len("```sql\n")
    return text[block : text.index("```", block)].rstrip().rstrip(";")


@contextmanager
def time_limit(seconds: float, memory: int | None = None) -> Iterator[None]:
    """Fail what runs inside with TimeoutError after `seconds`, and, given `memory`, with
    MemoryError beyond that many more bytes of address space: a regression that waits on a
    FIFO, serves forever or reads /dev/zero fails its test instead of hanging the suite or
    the machine. (Only around code that starts no threads: each reserves address space.)"""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if memory is not None:
        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * resource.getpagesize()
        bound = used + memory if hard == resource.RLIM_INFINITY else min(hard, used + memory)
        resource.setrlimit(resource.RLIMIT_AS, (bound, hard))
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
