"""The config file: a public contract; every mistake is one line naming the file and the key."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from etl.cli import cli
from etl.config import TokenAuthConfig, load_config
from etl.errors import ConfigError
from tests.configs import BAD, GOOD


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_the_example_config_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SWR_TOKEN", "t")
    monkeypatch.setenv("OTC_PASSWORD", "p")
    config = load_config(Path(__file__).parent.parent / "config.example.yaml")
    assert [str(t) for t in config.targets()] == [
        "cn-north-4:platform/api",
        "cn-north-4:platform/web",
        "cn-north-4:platform/base/nginx",
    ]  # the Open Telekom Cloud endpoint's targets are patterns: found by discovery
    otc = config.endpoint("otc-eu-de")
    assert (otc.api, otc.url, otc.auth.type) == (
        "auto",
        "https://swr-api.eu-de.otc.t-systems.com",
        "password",
    )


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
