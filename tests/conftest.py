"""Shared fixtures: a clean environment, seeded registries, the local SWR API on 127.0.0.1,
config writers bound to the running test, and retries that do not wait.

Helpers that are not fixtures live in small modules beside this one, and tests import them
from there (never from a conftest): `configs` (the configs tests write), `stored` (what a sync
stored, read back), `registries` (what the local API serves, as the tests expect it back),
`commands` (swr-etl through CliRunner or as a whole process), `api` (clients of the local API),
`s3` (the S3 stand-in).
"""

from __future__ import annotations

import gc
import os
import secrets
import socket
from collections.abc import AsyncIterator, Iterator
from functools import partial

import pytest

from etl.fakeswr import FakeSwr, Options, Registry, ServerThread, generate_registry, start, stop
from tests import configs
from tests import s3 as stand_in
from tests.api import quicken_retries

ENV_PREFIXES = ("SWR_", "HW_", "IAM_", "HUAWEICLOUD_")


# What `make test-fast` leaves out (`-m "not slow"`): modules that start a browser, Spark, the
# S3 stand-in, whole `swr-etl` processes or a container's steps, or wait out real backoff. A
# single slow test elsewhere carries `@pytest.mark.slow` itself. `make test` runs everything.
SLOW_MODULES = frozenset(
    {
        # a browser, Spark, the S3 stand-in, a container's steps, a terminal
        "tests.test_bi",
        "tests.test_dashboard",
        "tests.test_deploy",
        "tests.test_object_storage",
        "tests.test_operate",
        "tests.test_spark",
        # whole processes killed and restarted, real backoff, hostile servers
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


def pytest_collection_finish(session: pytest.Session) -> None:
    """Leave what collection built (every module, registry and parametrised case) out of
    garbage collection: a sync collects its garbage twice (etl.run.runtime.release_memory),
    and in a process that holds the whole suite each full collection walked it all (~0.1 s)."""
    gc.collect()
    gc.freeze()


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see credentials from the machine they run on, nor another test's."""
    for name in list(os.environ):
        if name.startswith(ENV_PREFIXES):
            monkeypatch.delenv(name)


@pytest.fixture
def write_config(monkeypatch: pytest.MonkeyPatch) -> configs.WriteConfig:
    """Write a config of the local API (tests/configs.py); its secrets are set in this test's
    environment and undone when it ends."""
    return partial(configs.write_config, env=monkeypatch)


@pytest.fixture
def discovering(monkeypatch: pytest.MonkeyPatch) -> configs.Discovering:
    """Write a config of the local API whose targets are given (patterns allowed); its
    secrets are set in this test's environment."""
    return partial(configs.discovering, env=monkeypatch)


@pytest.fixture
def quick_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries in this test wait a thousandth of their backoff: a test of what a failing
    repository leaves need not sit out the ~8 s a sync's six attempts wait (the throttling
    and fault tests, which are about the waiting, do not use this)."""
    quicken_retries(monkeypatch)


@pytest.fixture
def refused_port() -> Iterator[int]:
    """A port on 127.0.0.1 that refuses connections while the test runs: bound, so that no
    other test process can take it, and never listening (a port merely found free could be
    taken by another worker's server before the test connects)."""
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        yield int(held.getsockname()[1])


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


@pytest.fixture
def served(small_registry: Registry, fake_options: Options) -> Iterator[FakeSwr]:
    """The local API in a background thread, for code that runs its own event loop (sync)."""
    with ServerThread(small_registry, options=fake_options) as server:
        yield server


@pytest.fixture(scope="session")
def s3() -> Iterator[stand_in.S3Server]:
    """moto's S3 server on 127.0.0.1 (tests/s3.py), one for every test of a process."""
    with stand_in.moto_server() as server:
        yield server


@pytest.fixture
def bucket(s3: stand_in.S3Server) -> str:
    """A new, empty bucket of the S3 stand-in, for one test."""
    name = f"lake-{secrets.token_hex(4)}"
    s3.client().create_bucket(Bucket=name)  # type: ignore[attr-defined]
    return name


@pytest.fixture
def s3_config(monkeypatch: pytest.MonkeyPatch) -> stand_in.S3Config:
    """Write a config whose lake is in a bucket of the S3 stand-in (tests/s3.py); its keys
    are set in this test's environment."""
    return partial(stand_in.s3_config, env=monkeypatch)
