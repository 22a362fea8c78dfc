"""Config texts shared by the config tests and the bad-input suite: one good config, and the
malformed variants of it that must each be a one-line error naming the key."""

from __future__ import annotations

import pytest

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
