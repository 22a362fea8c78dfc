"""The configs the tests write: a config of the local API (its secrets set in the test's
environment, undone when the test ends), a config edited in place, and the config texts of the
config tests and the bad-input suite (one good config, and malformed variants of it that must
each be a one-line error naming the key).

Tests take `write_config` and `discovering` as fixtures (tests/conftest.py binds them to the
test's MonkeyPatch); a fixture of a wider scope calls these functions with its own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

import pytest
import yaml

from etl.fakeswr import FakeSwr


class WriteConfig(Protocol):
    """The `write_config` fixture: `write_config` bound to the running test's environment."""

    def __call__(
        self,
        directory: Path,
        fake: FakeSwr,
        repositories: list[tuple[str, str]],
        auth: str = "token",
        **crawl: Any,
    ) -> Path: ...


class Discovering(Protocol):
    """The `discovering` fixture: `discovering` bound to the running test's environment."""

    def __call__(
        self, directory: Path, fake: FakeSwr, targets: list[dict[str, Any]], **crawl: Any
    ) -> Path: ...


def write_config(
    directory: Path,
    fake: FakeSwr,
    repositories: list[tuple[str, str]],
    auth: str = "token",
    *,
    env: pytest.MonkeyPatch,
    **crawl: Any,
) -> Path:
    """Write `directory/config.yaml`, syncing `repositories` from `fake` into `./lake` and
    `./swr.duckdb`; its secrets are `${...}` references, set through `env`."""
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
    secrets = dict(
        SWR_TOKEN=creds.token, IAM_PASSWORD=creds.password, HW_AK=creds.ak, HW_SK=creds.sk
    )
    for name, value in secrets.items():
        env.setenv(name, value)
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


def discovering(
    directory: Path,
    fake: FakeSwr,
    targets: list[dict[str, Any]],
    *,
    env: pytest.MonkeyPatch,
    **crawl: Any,
) -> Path:
    """Write a config whose targets are `targets` (patterns allowed)."""
    path = write_config(directory, fake, [("platform", "api")], env=env, **crawl)
    with editing(path) as data:
        data["endpoints"][0]["targets"] = targets
    return path


@contextmanager
def editing(path: Path) -> Iterator[dict[str, Any]]:
    """Yield the config at `path` as data; what the block changes is written back."""
    data = yaml.safe_load(path.read_text())
    yield data
    path.write_text(yaml.safe_dump(data))


# --- config texts: one good config and its malformed variants ---------------------------------

GOOD = """\
endpoints:
  - name: cn-north-4
    url: https://swr-api.cn-north-4.myhuaweicloud.com
    auth: {type: token, token: "${SWR_TOKEN}"}
    targets:
      - namespace: platform
        repositories: [api, web, base/nginx]
        tag: release
crawl: {concurrency: 4}
output: {lake: ./data/lake, duckdb: ./data/swr.duckdb}
"""
ENDPOINT_BLOCK = GOOD[GOOD.index("  - name") : GOOD.index("crawl")]
TOKEN_AUTH = 'type: token, token: "${SWR_TOKEN}"'


def replaced(old: str, new: str) -> str:
    assert old in GOOD or old in ENDPOINT_BLOCK
    return GOOD.replace(old, new)


BAD = [
    pytest.param("endpoints: [\n", None, "line", id="yaml-syntax"),
    pytest.param("- just\n- a list\n", None, "mapping", id="not-a-mapping"),
    pytest.param(
        replaced("{concurrency: 4}", "{concurency: 4}"),
        "crawl.concurency",
        "unknown key",
        id="unknown-key-typo",
    ),
    pytest.param(GOOD + "extra: 1\n", "extra", "unknown key", id="unknown-top-level-key"),
    pytest.param(GOOD + "source: x\n", "source", "unknown key", id="internal-key-source"),
    pytest.param(
        replaced("${SWR_TOKEN}", "${NOT_SET_ANYWHERE}"),
        "endpoints[0].auth.token",
        "NOT_SET_ANYWHERE",
        id="missing-env-var",
    ),
    pytest.param(
        replaced("type: token", "type: magic"),
        "endpoints[0].auth",
        "auth type",
        id="unknown-auth-type",
    ),
    pytest.param(
        replaced(TOKEN_AUTH, "type: token, token_file: x, token: y"),
        "endpoints[0].auth",
        "exactly one",
        id="token-and-token-file",
    ),
    pytest.param(
        replaced("{concurrency: 4}", "{concurrency: many}"),
        "crawl.concurrency",
        "integer",
        id="concurrency-not-a-number",
    ),
    pytest.param(
        replaced("{concurrency: 4}", "{page_size: 1001}"),
        "crawl.page_size",
        "1000",
        id="page-size-over-1000",
    ),
    pytest.param(
        replaced("{concurrency: 4}", "{page_size: 0}"), "crawl.page_size", "1", id="page-size-zero"
    ),
    pytest.param(
        replaced("{concurrency: 4}", "{requests_per_second: -1}"),
        "crawl.requests_per_second",
        "greater than 0",
        id="negative-rate",
    ),
    pytest.param(
        replaced("{concurrency: 4}", "{full_crawl_every: 800000d}"),
        "crawl.full_crawl_every",
        "less than or equal",
        id="full-crawl-every-beyond-a-century",
    ),
    pytest.param(
        replaced("{concurrency: 4}", "{full_crawl_every: true}"),
        "crawl.full_crawl_every",
        "not true/false",
        id="full-crawl-every-a-boolean",
    ),
    pytest.param(
        replaced("{concurrency: 4}", "{with_manifest: perhaps}"),
        "crawl.with_manifest",
        "boolean",
        id="with-manifest-not-boolean",
    ),
    pytest.param(
        replaced("namespace: platform", "namespace: Platform"),
        "endpoints[0].targets[0].namespace",
        "only lowercase",
        id="namespace-uppercase",
    ),
    pytest.param(
        replaced("base/nginx", "base//nginx"),
        "endpoints[0].targets[0].repositories",
        "next to each other",
        id="repository-double-slash",
    ),
    pytest.param(
        replaced("[api, web, base/nginx]", "[api, api]"),
        "endpoints[0].targets[0].repositories",
        "twice",
        id="repository-listed-twice",
    ),
    pytest.param(
        replaced("[api, web, base/nginx]", "[]"),
        "endpoints[0].targets[0].repositories",
        "at least 1",
        id="no-repositories",
    ),
    pytest.param(
        replaced("https://swr-api.cn-north-4.myhuaweicloud.com", "swr-api.example"),
        "endpoints[0].url",
        "must be http(s)://HOST[:PORT]",
        id="url-without-scheme",
    ),
    pytest.param(
        replaced("output: {lake: ./data/lake, duckdb: ./data/swr.duckdb}", ""),
        "output",
        "required",
        id="no-output",
    ),
    pytest.param(
        replaced("duckdb: ./data/swr.duckdb}", "duckdb: x.duckdb, pushgateway: http://pg:9091}"),
        "output",
        "pushgateway needs metrics",
        id="pushgateway-without-metrics-file",
    ),
    pytest.param(
        replaced(
            "duckdb: ./data/swr.duckdb}",
            "duckdb: x.duckdb, metrics: m.prom, pushgateway: 'http://u:pw@pg:9091/metrics'}",
        ),
        "output.pushgateway",
        "no path, query or user",
        id="pushgateway-with-path-or-user",
    ),
    pytest.param(
        replaced(
            "duckdb: ./data/swr.duckdb}",
            "duckdb: x.duckdb, metrics: m.prom, pushgateway: 'http://pg:9091', "
            "pushgateway_timeout_s: 3600}",
        ),
        "output.pushgateway_timeout_s",
        "less than or equal to 300",
        id="pushgateway-deadline-as-long-as-the-schedule",
    ),
    pytest.param(
        replaced(
            TOKEN_AUTH, "type: password, iam_url: https://iam, domain: d, user: u, password: p"
        ),
        "endpoints[0].auth",
        "project",
        id="password-without-project",
    ),
    pytest.param(
        replaced(TOKEN_AUTH, "type: aksk, ak: a"),
        "endpoints[0].auth.sk",
        "required",
        id="aksk-without-sk",
    ),
    pytest.param(
        GOOD.replace(ENDPOINT_BLOCK, ENDPOINT_BLOCK * 2), None, "unique", id="duplicate-endpoint"
    ),
    pytest.param(
        replaced(
            "[api, web, base/nginx]\n        tag: release",
            "[api]\n      - namespace: platform\n        repositories: [api]",
        ),
        None,
        "configured twice",
        id="duplicate-target",
    ),
    pytest.param(
        replaced("name: cn-north-4", "name: 'has space'"),
        "endpoints[0].name",
        "pattern",
        id="bad-endpoint-name",
    ),
]
