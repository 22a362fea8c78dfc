"""Bad input: every malformed config is one line naming file and key, exit 2, nothing written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import yaml

from tests.commands import invoke, sync, time_limit
from tests.configs import BAD, GOOD, TOKEN_AUTH

MORE = [
    pytest.param("", None, "mapping", id="empty-file"),
    pytest.param("endpoints:\n\t- name: x\n", None, "line 2", id="tab-indentation"),
    pytest.param(
        "endpoints: []\noutput: {lake: a, duckdb: b}\n",
        "endpoints",
        "none given: a config without endpoints can only `swr-etl load`",
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
        "with no path, query or user",
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
    *(
        pytest.param(
            GOOD.replace("lake: ./data/lake", f"lake: {url}"),
            "output.lake",
            "the S3 layer would write elsewhere than it lists",
            id=f"s3-prefix-{name}",
        )
        for name, url in (
            ("dot-dot", "s3://bkt/lake/../other"),
            ("dot", "s3://bkt/./lake"),
            ("empty-segment", "s3://bkt/lake//runs"),
            ("leading-slash", "s3://bkt//lake"),
        )
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
    result = sync(path)
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
        pytest.param("metrics-is-a-directory", "output.metrics", id="metrics-path-is-a-directory"),
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
    elif setup == "metrics-is-a-directory":
        (tmp_path / "swr.prom").mkdir()
        output = "output: {lake: ./lake, duckdb: ./swr.duckdb, metrics: ./swr.prom}"
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
    result = sync(path)
    assert result.exit_code == 2, result.output
    assert f": {key}: " in result.output and result.output.count("\n") == 1
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


SECRET = "s3cr3t-DISTINCT-77"


@pytest.mark.parametrize("command", ["sync", "plan"])
@pytest.mark.parametrize(
    ("auth", "url", "env", "token_file", "key"),
    [
        pytest.param(
            'type: token, token: "${SWR_TOKEN}"',
            "http://127.0.0.1:9",
            {"SWR_TOKEN": f"abc\n{SECRET}"},
            None,
            "endpoints[0].auth.token",
            id="token-with-a-newline",
        ),
        pytest.param(
            "type: token, token_file: ./token",
            "http://127.0.0.1:9",
            {},
            f"abc\n{SECRET}\n",
            "endpoints[0].auth.token_file",
            id="token-file-with-two-lines",
        ),
        pytest.param(
            'type: aksk, ak: "AK\r", sk: "${HW_SK}"',
            "http://127.0.0.1:9",
            {"HW_SK": SECRET},
            None,
            "endpoints[0].auth.ak",
            id="ak-with-a-carriage-return",
        ),
        pytest.param(
            'type: token, token: "t"',
            "http://127.0.0.1:${SWR_PORT}",
            {"SWR_PORT": SECRET},
            None,
            "endpoints[0].url",
            id="url-built-from-a-secret",
        ),
        pytest.param(
            "type: password, iam_url: 'https://iam:${IAM_PASSWORD}', domain: d, user: u, "
            'password: "${IAM_PASSWORD}", project: p',
            "http://127.0.0.1:9",
            {"IAM_PASSWORD": SECRET},
            None,
            "endpoints[0].auth.iam_url",
            id="iam-url-built-from-a-secret",
        ),
    ],
)
def test_an_unusable_secret_is_one_line_exit_2_and_never_echoed(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    auth: str,
    url: str,
    env: dict[str, str],
    token_file: str | None,
    key: str,
) -> None:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    if token_file is not None:
        (tmp_path / "token").write_text(token_file)
    path = tmp_path / "config.yaml"
    text = GOOD.replace(TOKEN_AUTH, auth).replace(
        "https://swr-api.cn-north-4.myhuaweicloud.com", url
    )
    path.write_text(text)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    args = [command, "-c", str(path)] + (["--no-progress"] if command == "sync" else [])
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}: {key}: ") and result.output.count("\n") == 1
    assert "value not shown" in result.output
    assert SECRET not in result.output
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


# Where each `*_file` key goes, with the rest of what its section needs.
SECRET_FILE_CONFIGS = {
    "endpoints[0].auth.token_file": ("auth", {"type": "token", "token_file": "{file}"}),
    "endpoints[0].auth.password_file": (
        "auth",
        {
            "type": "password",
            "iam_url": "http://127.0.0.1:9",
            "domain": "d",
            "user": "u",
            "project": "p",
            "password_file": "{file}",
        },
    ),
    "endpoints[0].auth.ak_file": (
        "auth",
        {"type": "aksk", "ak_file": "{file}", "sk": "sk-given", "project_id": "p"},
    ),
    "endpoints[0].auth.sk_file": (
        "auth",
        {"type": "aksk", "ak": "ak-given", "sk_file": "{file}", "project_id": "p"},
    ),
    "output.s3.access_key_file": ("s3", {"access_key_file": "{file}", "secret_key": "k"}),
    "output.s3.secret_key_file": ("s3", {"access_key": "k", "secret_key_file": "{file}"}),
}


def make_secret_file(folder: Path, kind: str) -> Path:
    """Return a file an operator might name as a secret by mistake, of `kind`."""
    path = folder / "secret"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        return Path("/dev/zero")
    elif kind == "directory":
        path.mkdir()
    elif kind == "over-64-kib":
        path.write_bytes(b"a" * (64 * 1024 + 1))
    elif kind == "utf-16-powershell":
        path.write_bytes("s3cr3t-in-utf16\r\n".encode("utf-16"))
    elif kind == "latin-1":
        path.write_bytes("s3cr3t-\xe9t\xe9".encode("latin-1"))
    elif kind == "binary":
        path.write_bytes(bytes(range(256)))
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        pytest.param("fifo", "is a FIFO (named pipe), not a regular file", id="fifo-never-blocks"),
        pytest.param("device", "is a character device, not a regular file", id="dev-zero"),
        pytest.param("directory", "is a directory, not a regular file", id="directory"),
        pytest.param("over-64-kib", "is larger than 64 KiB", id="over-64-kib"),
        pytest.param("utf-16-powershell", "is UTF-16 text", id="utf-16-with-bom"),
        pytest.param("latin-1", "is not UTF-8 text: the byte at line 1, column 8", id="latin-1"),
        pytest.param("binary", "is not text: it holds NUL bytes", id="binary"),
    ],
)
@pytest.mark.parametrize("key", list(SECRET_FILE_CONFIGS))
def test_a_secret_file_that_is_not_a_small_text_file_is_one_line_naming_its_key(
    tmp_path: Path, key: str, kind: str, says: str
) -> None:
    file = make_secret_file(tmp_path, kind)
    section, given = SECRET_FILE_CONFIGS[key]
    given = {k: str(file) if v == "{file}" else v for k, v in given.items()}
    data = yaml.safe_load(
        GOOD.replace("https://swr-api.cn-north-4.myhuaweicloud.com", "http://127.0.0.1:9")
    )
    if section == "auth":
        data["endpoints"][0]["auth"] = given
    else:
        data["endpoints"][0]["auth"] = {"type": "token", "token": "t"}
        data["output"] = {"lake": "s3://bucket/lake", "duckdb": "./swr.duckdb", "s3": given}
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    # A FIFO opened to be read waits for a writer, /dev/zero never ends: not here.
    with time_limit(30, memory=1 << 30):
        result = invoke("plan", "-c", str(path))
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: {path}: {key}: {file} {says}"), result.output
    assert result.output.count("\n") == 1 and "s3cr3t" not in result.output
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize("command", ["sync", "plan"])
@pytest.mark.parametrize(
    ("kind", "says"),
    [
        pytest.param("not-a-certificate", "holds no certificate Python can load", id="text"),
        pytest.param("fifo", "is a FIFO (named pipe), not a regular file", id="fifo"),
        pytest.param("device", "is a character device, not a regular file", id="dev-zero"),
        pytest.param("directory", "is a directory, not a regular file", id="directory"),
        pytest.param("latin-1", "is not UTF-8 text", id="latin-1"),
    ],
)
def test_a_ca_bundle_that_is_not_one_is_one_line_exit_2_before_any_request(
    tmp_path: Path, command: str, kind: str, says: str
) -> None:
    if kind == "not-a-certificate":
        (tmp_path / "secret").write_text("-----BEGIN NOTHING-----\n")
        bundle = tmp_path / "secret"
    else:
        bundle = make_secret_file(tmp_path, kind)
    data = yaml.safe_load(GOOD.replace("${SWR_TOKEN}", "t"))
    data["endpoints"][0]["ca_bundle"] = str(bundle)
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(data))
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    with time_limit(30, memory=1 << 30):
        result = invoke(command, "-c", str(path))
    assert result.exit_code == 2, result.output
    key = "endpoints[0].ca_bundle"
    assert result.output.startswith(f"error: {path}: {key}: {bundle} {says}"), result.output
    assert result.output.count("\n") == 1
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before
