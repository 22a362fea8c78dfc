"""Bad input: every malformed config is one line naming file and key, exit 2, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from etl.cli import cli
from tests.test_config import BAD, GOOD, TOKEN_AUTH

MORE = [
    pytest.param("", None, "mapping", id="empty-file"),
    pytest.param("endpoints:\n\t- name: x\n", None, "line 2", id="tab-indentation"),
    pytest.param(
        "endpoints: []\noutput: {lake: a, duckdb: b}\n",
        "endpoints",
        "at least 1",
        id="endpoints-empty-list",
    ),
    pytest.param(
        GOOD.replace("{concurrency: 4}", "{timeout_s: -5}"),
        "crawl.timeout_s",
        "greater than 0",
        id="negative-timeout",
    ),
    pytest.param(
        GOOD.replace("{concurrency: 4}", "{max_attempts: 0}"),
        "crawl.max_attempts",
        "greater than or equal to 1",
        id="zero-attempts",
    ),
    pytest.param(
        GOOD.replace("    auth: {" + TOKEN_AUTH + "}\n", ""),
        "endpoints[0].auth",
        "required",
        id="auth-missing",
    ),
    pytest.param(
        GOOD.replace("      - namespace: platform\n        repositories", "      - repositories"),
        "endpoints[0].targets[0].namespace",
        "required",
        id="target-without-namespace",
    ),
    pytest.param(
        GOOD.replace("myhuaweicloud.com", "myhuaweicloud.com/v3/path"),
        "endpoints[0].url",
        "pattern",
        id="url-with-a-path",
    ),
    pytest.param(
        GOOD.replace("    targets:", "    verify_tls: sometimes\n    targets:"),
        "endpoints[0].verify_tls",
        "boolean",
        id="verify-tls-not-boolean",
    ),
    pytest.param(
        GOOD.replace("namespace: platform", "namespace: a___b"),
        "endpoints[0].targets[0].namespace",
        "underscores",
        id="namespace-three-underscores",
    ),
    pytest.param(
        GOOD.replace("base/nginx", "base/nginx-"),
        "endpoints[0].targets[0].repositories",
        "end with",
        id="repository-ends-with-hyphen",
    ),
]


@pytest.mark.parametrize(("text", "key", "message"), [*BAD, *MORE])
def test_a_malformed_config_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str, key: str | None, message: str | None
) -> None:
    monkeypatch.setenv("SWR_TOKEN", "t")
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "config.yaml"
    path.write_text(text)
    result = CliRunner().invoke(cli, ["sync", "-c", str(path), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}: ") and result.output.count("\n") == 1
    if key:
        assert f": {key}: " in result.output
    assert message in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize(
    ("setup", "key"),
    [
        pytest.param("lake-under-a-file", "output.lake", id="unwritable-lake-path"),
        pytest.param("duckdb-is-a-directory", "output.duckdb", id="duckdb-path-is-a-directory"),
        pytest.param(
            "copy-is-a-directory", "output.readonly_copy", id="readonly-copy-is-a-directory"
        ),
        pytest.param(
            "token-file-missing", "endpoints[0].auth.token_file", id="unreadable-token-file"
        ),
        pytest.param(
            "token-file-is-a-directory",
            "endpoints[0].auth.token_file",
            id="token-file-is-a-directory",
        ),
        pytest.param("token-file-empty", "endpoints[0].auth.token_file", id="empty-token-file"),
    ],
)
def test_unusable_paths_are_one_line_exit_2_and_write_nothing(
    tmp_path: Path, setup: str, key: str
) -> None:
    output = "output: {lake: ./data/lake, duckdb: ./data/swr.duckdb}"
    auth = 'type: token, token: "t"'
    if setup == "lake-under-a-file":
        (tmp_path / "file").write_text("")
        output = "output: {lake: ./file/lake, duckdb: ./swr.duckdb}"
    elif setup == "duckdb-is-a-directory":
        (tmp_path / "data" / "swr.duckdb").mkdir(parents=True)
    elif setup == "copy-is-a-directory":
        (tmp_path / "dash").mkdir()
        output = "output: {lake: ./lake, duckdb: ./swr.duckdb, readonly_copy: ./dash}"
    elif setup.startswith("token-file"):
        auth = "type: token, token_file: ./token"
        if setup == "token-file-is-a-directory":
            (tmp_path / "token").mkdir()
        elif setup == "token-file-empty":
            (tmp_path / "token").write_text("\n")
    path = tmp_path / "config.yaml"
    path.write_text(
        GOOD.replace(TOKEN_AUTH, auth).replace(
            "output: {lake: ./data/lake, duckdb: ./data/swr.duckdb}", output
        )
    )
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    result = CliRunner().invoke(cli, ["sync", "-c", str(path), "--no-progress"])
    assert result.exit_code == 2, result.output
    assert f": {key}: " in result.output and result.output.count("\n") == 1
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
