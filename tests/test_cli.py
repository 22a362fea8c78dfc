"""The command line as a user meets it: help everywhere, plan, demo."""

from __future__ import annotations

import socket
from pathlib import Path

import click
import pytest

from etl.cli import cli
from etl.fakeswr import FakeSwr, Registry
from tests.commands import invoke, time_limit
from tests.configs import WriteConfig

COMMANDS = sorted(cli.commands)


@pytest.mark.parametrize("name", COMMANDS)
def test_every_command_has_help(name: str) -> None:
    command = cli.commands[name]
    assert command.help and len(command.help) > 20
    result = invoke(name, "--help")
    assert result.exit_code == 0
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"{name} {param.opts} has no help text"


def test_version() -> None:
    result = invoke("--version")
    assert result.exit_code == 0 and "swr-etl" in result.output


def test_plan_checks_credentials_and_writes_nothing(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    keys = list(small_registry.repositories)[:2]
    path = write_config(tmp_path, served, keys)
    result = invoke("plan", "-c", str(path))
    assert result.exit_code == 0, result.output
    assert "credentials accepted" in result.output
    assert f"{keys[1][0]}/{keys[1][1]}" in result.output
    assert str(tmp_path / "swr.duckdb") in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]
    assert served.state.stats.requests == 1 + len(keys)  # credentials, then each name


def test_plan_reports_refused_credentials(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:1])
    served.credentials.token = "rotated"
    result = invoke("plan", "-c", str(path))
    assert result.exit_code == 1
    assert "FAILED" in result.output and "APIGW.0301" in result.output


def test_demo_leaves_a_config_lake_and_database(tmp_path: Path) -> None:
    result = invoke("demo", "--dir", str(tmp_path), "--repos", "20")
    assert result.exit_code == 0, result.output
    assert result.output.count("\nrun ") == 2
    for heading in (
        "Totals",
        "Top 5 repositories",
        "Not pushed for 365 days",
        "Changes between the two syncs",
    ):
        assert heading in result.output
    assert "added" in result.output and "retagged" in result.output
    assert (tmp_path / "swr.duckdb").is_file() and (tmp_path / "config.yaml").is_file()
    assert list((tmp_path / "lake" / "runs").glob("*/run_id=*/runs.parquet"))


def test_demo_refuses_a_folder_holding_files_it_did_not_create(tmp_path: Path) -> None:
    (tmp_path / "swr.duckdb").write_text("someone's real database")
    (tmp_path / "config.yaml").write_text("endpoints: []\n")
    result = invoke("demo", "--dir", str(tmp_path), "--repos", "20")
    assert result.exit_code == 2, result.output
    assert "holds files the demo did not create" in result.output
    assert result.output.count("\n") == 1
    assert (tmp_path / "swr.duckdb").read_text() == "someone's real database"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml", "swr.duckdb"]


@pytest.mark.parametrize("command", ["report", "diff", "query", "dashboard"])
def test_a_reader_before_the_first_sync_is_a_usage_error(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    command: str,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:1])
    args = [command, "-c", str(path), *(["SELECT 1"] if command == "query" else [])]
    result = invoke(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: no database at ") and result.output.count("\n") == 1


@pytest.mark.parametrize(
    "host, says",
    [
        pytest.param("127.0.0.1", "Address already in use (EADDRINUSE)", id="a-port-in-use"),
        pytest.param("256.1.1.1", "", id="a-host-that-is-no-address"),
    ],
)
def test_fake_server_that_cannot_listen_is_one_line_exit_2(host: str, says: str) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with time_limit(30):  # one that listened would serve until interrupted
            result = invoke("fake-server", "--host", host, "--port", str(port))
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"error: fake-server cannot listen on {host}:{port}: ")
    assert says in result.output and result.output.count("\n") == 1
