"""The config file: a public contract; every mistake is one line naming the file and the key."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from etl.config import AkSkAuthConfig, Config, TokenAuthConfig
from etl.config_file import load_config
from etl.errors import ConfigError
from etl.fakeswr import FakeSwr, Registry
from etl.job import run_sync
from tests.commands import invoke
from tests.configs import BAD, GOOD, TOKEN_AUTH, WriteConfig, editing


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
    otc = next(e for e in config.endpoints if e.name == "otc-eu-de")
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


# The systemd unit's credentials: set for the service alone, absent in an operator's shell.
FROM_CREDENTIALS = GOOD.replace(
    "output: {lake: ./data/lake, duckdb: ./data/swr.duckdb}",
    """output:
  lake: s3://swr-analytics/lake
  s3:
    access_key_file: "${CREDENTIALS_DIRECTORY}/obs-access-key"
    secret_key_file: "${CREDENTIALS_DIRECTORY}/obs-secret-key"
  duckdb: ./swr.duckdb
""",
)


@pytest.mark.parametrize(
    ("needs", "loads"),
    [
        pytest.param({"lake_secrets_needed": False}, True, id="report-diff-query-dashboard-load"),
        pytest.param({}, False, id="rebuild-load-thin-name-the-missing-variable"),
        pytest.param({"secrets_needed": True}, False, id="sync-names-the-missing-variable"),
    ],
)
def test_a_readers_config_needs_no_variable_of_the_credentials_it_never_uses(
    tmp_path: Path, needs: dict[str, bool], loads: bool
) -> None:
    path = write(tmp_path, FROM_CREDENTIALS)
    needs = {"secrets_needed": False, **needs}
    if loads:  # the shipped systemd config, from an operator's shell
        config = load_config(path, environ={}, **needs)
        assert config.output.duckdb == tmp_path / "swr.duckdb"
        return
    with pytest.raises(ConfigError) as raised:
        load_config(path, environ={"SWR_TOKEN": "t0ken"}, **needs)
    assert str(raised.value) == (
        f"{path}: output.s3.access_key_file: environment variable CREDENTIALS_DIRECTORY is not set"
    )


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
    result = invoke("sync", "-c", str(tmp_path / "nope.yaml"))
    assert result.exit_code == 2
    assert "cannot read config" in result.output and result.output.count("\n") == 1


def test_a_bad_config_exits_2_and_writes_nothing(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("${SWR_TOKEN}", "${NOT_SET_ANYWHERE}"))
    result = invoke("sync", "-c", str(path))
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
    result = invoke("sync", "-c", str(path))
    assert result.exit_code == 2, result.output
    assert f": {key}: " in result.output
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("auth", ["password", "aksk"])
def test_every_secret_can_come_from_a_file_as_a_secret_mount_gives_it(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry, auth: str
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:2], auth)
    with editing(path) as data:
        creds, given = served.credentials, data["endpoints"][0]["auth"]
        files = (
            {"password": creds.password} if auth == "password" else {"ak": creds.ak, "sk": creds.sk}
        )
        for key, value in files.items():
            (tmp_path / "secrets").mkdir(exist_ok=True)
            (tmp_path / "secrets" / key).write_text(value + "\n")
            del given[key]
            given[f"{key}_file"] = f"secrets/{key}"
        assert run_sync(load_config(path)).exit_code == 0
        # The object store's keys too (checked by loading: moto's tests use the environment).
        local = dict(data["output"])
        data["output"] = {
            **local,
            "lake": "s3://bucket/lake",
            "s3": {"access_key_file": "secrets/s3-ak", "secret_key_file": "secrets/s3-sk"},
        }
        (tmp_path / "secrets" / "s3-ak").write_text("AKIAEXAMPLE0001")
        (tmp_path / "secrets" / "s3-sk").write_text("s3-secret-from-a-file")
    config = load_config(path)
    assert config.output.s3 is not None and config.output.s3.secret_key is not None
    assert config.output.s3.secret_key.get_secret_value() == "s3-secret-from-a-file"


@pytest.mark.parametrize(
    ("auth", "why"),
    [
        pytest.param({"password_file": "missing"}, "cannot read", id="a-missing-file"),
        pytest.param({"password_file": "empty"}, "is empty", id="an-empty-file"),
        pytest.param({"password_file": "empty", "password": "x"}, "not both", id="both-given"),
    ],
)
def test_a_secret_file_that_cannot_serve_is_one_line_naming_its_key(
    tmp_path: Path, auth: dict[str, str], why: str
) -> None:
    (tmp_path / "empty").write_text("\n")
    config = {
        "endpoints": [
            {
                "name": "e",
                "url": "https://swr.example.invalid",
                "auth": {
                    "type": "password",
                    "iam_url": "https://iam.example.invalid",
                    "domain": "d",
                    "user": "u",
                    "project": "p",
                    **auth,
                },
                "targets": [{"namespace": "platform", "repositories": ["api"]}],
            }
        ],
        "output": {"lake": "./lake", "duckdb": "./swr.duckdb"},
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: endpoints[0].auth.password_file: ")
    assert why in str(raised.value)


def from_a_pipe(text: str) -> Config:
    """Load the config `text` as `-c <(envsubst < config.tmpl)` gives it: a pipe, /dev/fd/N,
    whose folder is no place of the operator's."""
    read, write_end = os.pipe()
    os.write(write_end, text.encode())
    os.close(write_end)
    try:
        return load_config(f"/dev/fd/{read}")
    finally:
        os.close(read)


def test_a_config_read_from_a_pipe_resolves_relative_paths_against_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in ("token", "ak", "sk"):
        (tmp_path / f"{name}.txt").write_text(f"{name}-from-a-file\n")
    config = from_a_pipe(GOOD.replace(TOKEN_AUTH, "type: token, token_file: token.txt"))
    assert config.output.lake == tmp_path / "data" / "lake"
    auth = config.endpoints[0].auth
    assert isinstance(auth, TokenAuthConfig) and auth.token_file == tmp_path / "token.txt"
    files = GOOD.replace(TOKEN_AUTH, "type: aksk, ak_file: ak.txt, sk_file: sk.txt")
    aksk = from_a_pipe(files).endpoints[0].auth
    assert isinstance(aksk, AkSkAuthConfig) and aksk.sk.get_secret_value() == "sk-from-a-file"
