"""The config file: a public contract; every mistake is one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from etl.cli import cli
from etl.config import TokenAuthConfig, load_config
from etl.errors import ConfigError

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


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_the_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWR_TOKEN", "t")
    config = load_config(Path(__file__).parent.parent / "config.example.yaml")
    assert [str(t) for t in config.targets()] == [
        "cn-north-4:platform/api",
        "cn-north-4:platform/web",
        "cn-north-4:platform/base/nginx",
    ]


def test_defaults_env_and_relative_paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWR_TOKEN", "secret-token-value")
    config = load_config(write(tmp_path, GOOD))
    assert config.output.lake == tmp_path / "data" / "lake"
    assert config.crawl.page_size == 1000 and config.crawl.concurrency == 4
    assert "secret-token-value" not in repr(config)
    assert config.targets()[0].tag == "release"


def test_env_default_is_used_when_unset(tmp_path: Path) -> None:
    text = GOOD.replace("${SWR_TOKEN}", "${SWR_TOKEN:-fallback}")
    auth = load_config(write(tmp_path, text)).endpoints[0].auth
    assert isinstance(auth, TokenAuthConfig) and auth.token is not None
    assert auth.token.get_secret_value() == "fallback"


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
        "pattern",
        id="url-without-scheme",
    ),
    pytest.param(
        replaced("output: {lake: ./data/lake, duckdb: ./data/swr.duckdb}", ""),
        "output",
        "required",
        id="no-output",
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


@pytest.mark.parametrize(("text", "key", "message"), BAD)
def test_bad_configs_are_one_line_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str | None, message: str
) -> None:
    monkeypatch.setenv("SWR_TOKEN", "t")
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    line = str(info.value)
    assert "\n" not in line
    assert line.startswith(f"{path}: ")
    if key:
        assert f": {key}: " in line
    assert message in line


def test_a_missing_config_file_is_one_line(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["sync", "-c", str(tmp_path / "nope.yaml")])
    assert result.exit_code == 2
    assert "cannot read config" in result.output and result.output.count("\n") == 1


def test_a_bad_config_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("${SWR_TOKEN}", "${NOT_SET_ANYWHERE}"))
    result = CliRunner().invoke(cli, ["sync", "-c", str(path)])
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and "NOT_SET_ANYWHERE" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize(
    ("problem", "key"),
    [
        pytest.param("token_file", "endpoints[0].auth.token_file", id="unreadable-token-file"),
        pytest.param("duckdb_is_dir", "output.duckdb", id="duckdb-path-is-a-directory"),
        pytest.param("lake_is_file", "output.lake", id="lake-path-is-a-file"),
    ],
)
def test_output_and_token_file_problems_exit_2_before_any_write(
    tmp_path: Path, problem: str, key: str
) -> None:
    data = yaml.safe_load(GOOD)
    data["endpoints"][0]["auth"] = {"type": "token", "token": "t"}
    if problem == "token_file":
        data["endpoints"][0]["auth"] = {"type": "token", "token_file": "missing-token"}
    elif problem == "duckdb_is_dir":
        (tmp_path / "data" / "swr.duckdb").mkdir(parents=True)
    else:
        (tmp_path / "data").mkdir()
        (tmp_path / "data" / "lake").write_text("")
    path = write(tmp_path, yaml.safe_dump(data))
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(cli, ["sync", "-c", str(path)])
    assert result.exit_code == 2, result.output
    assert f": {key}: " in result.output
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
