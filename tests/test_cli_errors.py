"""Every command, against every bad input an operator makes, and against a bug: one `error:`
line on stderr, the exit code docs/production.md gives (never 1, which says "some targets
failed"), no traceback but under `-v`. The commands and their options are read from the click group,
so a command or an option added later is covered as it is added."""

from __future__ import annotations

import errno
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import duckdb
import pytest
from click.testing import Result

from etl.cli import cli
from etl.cli.thin import duration
from etl.errors import ConfigError, StorageError
from etl.fakeswr import FakeSwr, Registry
from etl.redact import remember_secrets
from etl.store import warehouse
from tests.commands import invoke, time_limit
from tests.configs import WriteConfig


def leaves(group: click.Group, prefix: str = "") -> dict[str, click.Command]:
    """Every command of `group` that runs, by its path (`sync`, `cleanup plan`)."""
    found: dict[str, click.Command] = {}
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found |= leaves(command, f"{prefix}{name} ")
        else:
            found[f"{prefix}{name}"] = command
    return found


COMMAND = leaves(cli)
COMMANDS = sorted(COMMAND)
WITH_CONFIG = [n for n in COMMANDS if any(p.name == "config_path" for p in COMMAND[n].params)]
# What a command needs besides its config to run at all.
NEEDS = {
    "query": ["SELECT 1"],
    "cleanup plan": ["--older-than", "30d"],
    "cleanup apply": ["no-such-plan.json"],
}
READERS = ("report", "diff", "query", "dashboard")  # read the database, never write it
CONFIG = "endpoints: []\noutput: {lake: ./lake, duckdb: ./swr.duckdb}\n"


@pytest.fixture(autouse=True)
def never_hangs() -> Iterator[None]:
    """A regression that makes a command wait (a server that serves, a FIFO) fails the test."""
    with time_limit(60):
        yield


def args_of(command: str, config: Path) -> list[str]:
    """The least `command` parses: its config and what it needs."""
    with_config = ["-c", str(config)] if command in WITH_CONFIG else []
    return [*command.split(), *with_config, *NEEDS.get(command, [])]


def the_line(result: Result, code: int) -> str:
    """Return the one line `result` printed on stderr, having checked that it is one
    `error:` line, that no traceback was printed and that the exit code is `code`."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    return lines[0]


def files_in(folder: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def latin_1() -> bytes:
    return CONFIG.replace("./lake", "./lac-été").encode("latin-1")


BAD_CONFIGS = [
    pytest.param(None, "cannot read config: No such file or directory", id="missing-file"),
    pytest.param("folder", "is a directory", id="a-folder-where-the-file-goes"),
    pytest.param(b"", "must be a mapping", id="empty-file"),
    pytest.param(bytes(range(256)) * 8, "is not text: it holds NUL bytes", id="binary-garbage"),
    pytest.param(latin_1(), "is not UTF-8 text: the byte at line 2, column 22", id="latin-1"),
    pytest.param(CONFIG.encode("utf-16"), "is UTF-16 text", id="utf-16-with-bom-powershell"),
    *(
        pytest.param(
            f"{CONFIG}crawl: {{{key}: {value}}}\n".encode(), f"crawl.{key}: {says}", id=case
        )
        for key, value, says, case in [
            ("timeout_s", ".inf", "Input should be a finite number", "an-infinite-float"),
            ("max_removed_share", ".nan", "Input should be a finite number", "a-nan-float"),
            (
                "deadline_s",
                "1.0e+300",
                "Input should be less than or equal to 604800",
                "an-absurd-float",
            ),
        ]
    ),
    pytest.param(
        CONFIG.replace("./lake", '"./l\\0ke"').encode(),
        "output.lake: holds a NUL character",
        id="a-nul-in-a-path",
    ),
    pytest.param(
        b"endpoints: " + b"[" * 200_000 + b"]" * 200_000,
        "line 1, column 43: nested more than 32 levels deep",
        id="nested-200000-levels",
    ),
    pytest.param(
        "".join(
            f"a{n}: &a{n} [{', '.join([f'*a{n - 1}' if n else 'x'] * 10)}]\n" for n in range(9)
        ).encode()
        + b"endpoints: *a8\noutput: {lake: ./lake, duckdb: ./swr.duckdb}\n",
        "expands to more than 250,000 values",
        id="an-alias-bomb",
    ),
    pytest.param(
        b"a: &a [1, *a]\n" + CONFIG.encode(),
        "line 1, column 4: an alias refers to a list or mapping that holds it",
        id="an-alias-cycle",
    ),
]


@pytest.mark.parametrize("command", WITH_CONFIG)
@pytest.mark.parametrize(("content", "says"), BAD_CONFIGS)
def test_a_config_file_an_operator_got_wrong_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, command: str, content: bytes | str | None, says: str
) -> None:
    path = tmp_path / "config.yaml"
    if content == "folder":
        path.mkdir()
    elif isinstance(content, bytes):
        path.write_bytes(content)
    before = files_in(tmp_path)
    line = the_line(invoke(*args_of(command, path)), 2)
    assert str(path) in line and says in line
    assert files_in(tmp_path) == before


@pytest.mark.parametrize("command", WITH_CONFIG)
def test_garbage_in_the_duckdb_file_is_one_line_exit_4_and_the_file_is_kept(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    command: str,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:2])
    garbage = bytes(range(256)) * 64
    (tmp_path / "swr.duckdb").write_bytes(garbage)
    result = invoke(*args_of(command, path))
    # `plan` and `thin` do not open it, nor `cleanup apply` before its plan (missing here).
    if command in (*READERS, "sync", "load", "rebuild", "cleanup plan"):
        line = the_line(result, 4)
        assert f"cannot open DuckDB file {tmp_path / 'swr.duckdb'}: " in line
        assert "not a valid DuckDB database file" in line
    elif result.exit_code != 0:
        the_line(result, 2)
    assert (tmp_path / "swr.duckdb").read_bytes() == garbage


@pytest.mark.parametrize("command", READERS)
def test_a_duckdb_file_of_another_tool_is_one_line_exit_4_for_readers(
    tmp_path: Path, command: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    with duckdb.connect(str(tmp_path / "swr.duckdb")) as con:
        con.execute("CREATE TABLE notes AS SELECT 'mine' AS note")
    before = files_in(tmp_path)
    line = the_line(invoke(*args_of(command, path)), 4)
    assert f"{tmp_path / 'swr.duckdb'}: it is not swr-etl's database" in line
    assert files_in(tmp_path) == before


def another_tools_duckdb(path: Path) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE notes AS SELECT 'mine' AS note")


def a_sqlite_database(path: Path) -> None:
    with sqlite3.connect(path) as con:
        con.execute("CREATE TABLE notes (note TEXT)")


@pytest.mark.parametrize(
    "make, says",
    [
        pytest.param(another_tools_duckdb, "{db}: it is not swr-etl's database", id="duckdb"),
        pytest.param(
            a_sqlite_database,
            "cannot open DuckDB file {db}: it is not a valid DuckDB database file (a SQLite "
            "database)",
            id="sqlite",
        ),
    ],
)
@pytest.mark.parametrize("command", ["sync", "load", "rebuild"])
def test_a_database_file_of_another_tool_is_one_line_exit_4_for_writers_and_kept_byte_for_byte(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    command: str,
    make: Callable[[Path], None],
    says: str,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:2])
    db = tmp_path / "swr.duckdb"
    make(db)
    before = db.read_bytes()
    line = the_line(invoke(*args_of(command, path)), 4)
    assert says.format(db=db) in line
    assert "extension" not in line  # nothing was fetched, nor asked for: DuckDB was told not to
    assert db.read_bytes() == before
    assert served.state.stats.requests == 0


def range_options() -> Iterator[tuple[str, click.Option]]:
    for name in COMMANDS:
        for param in COMMAND[name].params:
            if isinstance(param, click.Option) and isinstance(
                param.type, (click.types.IntParamType, click.types.FloatParamType)
            ):
                yield name, param


def test_every_numeric_option_states_its_range() -> None:
    unbounded = [
        f"{name} {param.opts[-1]}"
        for name, param in range_options()
        if not isinstance(param.type, (click.IntRange, click.FloatRange))
    ]
    assert unbounded == []


def out_of_range(param: click.Option) -> Iterator[str]:
    """Yield the values just outside the range `param` accepts (a negative number, if none)."""
    kind: Any = param.type
    if not isinstance(kind, (click.IntRange, click.FloatRange)):
        yield "-1"
        return
    if kind.min is not None:
        yield str(kind.min if kind.min_open else kind.min - 1)
    if kind.max is not None:
        yield str(kind.max if kind.max_open else kind.max + 1)


def durations() -> Iterator[tuple[str, click.Option]]:
    for name in COMMANDS:
        for param in COMMAND[name].params:
            if isinstance(param, click.Option) and param.callback is duration:
                yield name, param


BAD_VALUES = [
    *(
        pytest.param(name, param.opts[-1], value, id=f"{name}-{param.opts[-1]}={value}")
        for name, param in range_options()
        for value in out_of_range(param)
    ),
    *(
        pytest.param(name, param.opts[-1], value, id=f"{name}-{param.opts[-1]}={value}")
        for name, param in durations()
        for value in ("5x", "-1d", "1000000d")
    ),
]


@pytest.mark.parametrize(("command", "option", "value"), BAD_VALUES)
def test_an_option_value_out_of_range_is_one_line_exit_2_naming_it(
    tmp_path: Path, command: str, option: str, value: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    line = the_line(invoke(*args_of(command, path), option, value), 2)
    assert line.startswith(f"error: swr-etl {command}: Invalid value for '{option}'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.yaml"]


def raising(exc: BaseException) -> Callable[..., None]:
    def command(*args: Any, **kwargs: Any) -> None:
        raise exc

    return command


@pytest.mark.parametrize("command", COMMANDS)
def test_a_bug_in_any_command_is_one_line_exit_70_without_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setattr(COMMAND[command], "callback", raising(RuntimeError("boom")))
    line = the_line(invoke(*args_of(command, tmp_path / "config.yaml")), 70)
    assert line == (
        f"error: unexpected RuntimeError in swr-etl {command}: boom (a bug in swr-etl; "
        f"`swr-etl -v {command} …` prints where)"
    )


@pytest.mark.parametrize("command", COMMANDS)
def test_with_v_a_bug_shows_its_traceback_then_its_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    monkeypatch.setattr(COMMAND[command], "callback", raising(RuntimeError("boom")))
    result = invoke("-v", *args_of(command, tmp_path / "config.yaml"))
    assert result.exit_code == 70, result.output
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):" and "RuntimeError: boom" in lines
    assert [line for line in lines if line.startswith("error:")] == [lines[-1]]
    assert (
        lines[-1] == f"error: unexpected RuntimeError in swr-etl {command}: boom (a bug in swr-etl)"
    )


def test_sync_v_shows_a_bugs_traceback_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("etl.config_file.read_yaml", raising(KeyError("endpoints")))
    result = invoke("sync", "-c", str(tmp_path / "config.yaml"), "-v")
    assert result.exit_code == 70, result.output
    assert "Traceback (most recent call last):" in result.stderr
    assert result.stderr.splitlines()[-1].startswith("error: unexpected KeyError in swr-etl sync")


def test_a_bug_during_a_run_is_exit_70_and_commits_nothing(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories)[:4])
    monkeypatch.setattr("etl.run.sync.settle", raising(ZeroDivisionError("division by zero")))
    line = the_line(invoke("sync", "-c", str(path), "--no-progress"), 70)
    assert line.startswith("error: unexpected ZeroDivisionError in swr-etl sync: division by zero")
    assert not list((tmp_path / "lake").glob("runs/*/*"))
    assert list((tmp_path / "lake" / "_staging").glob("*")) == []


@pytest.mark.parametrize(
    ("exc", "code", "says"),
    [
        pytest.param(KeyboardInterrupt(), 130, "interrupted by SIGINT", id="ctrl-c-exit-130"),
        pytest.param(StorageError("disk gone"), 4, "disk gone", id="storage-error-exit-4"),
        pytest.param(ConfigError("bad", file="c.yaml", key="k"), 2, "c.yaml: k: bad", id="exit-2"),
        pytest.param(
            OSError(errno.ENOSPC, os.strerror(errno.ENOSPC)),
            4,
            "a disk refused a write: No space left on device (ENOSPC)",
            id="a-full-disk-no-code-names-exit-4",
        ),
    ],
)
@pytest.mark.parametrize("command", COMMANDS)
def test_the_tools_own_errors_keep_their_exit_codes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: str,
    exc: BaseException,
    code: int,
    says: str,
) -> None:
    monkeypatch.setattr(COMMAND[command], "callback", raising(exc))
    line = the_line(invoke(*args_of(command, tmp_path / "config.yaml")), code)
    assert says in line


def test_the_line_of_a_bug_escapes_registry_text_and_removes_held_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = "tok-HELD-IN-THIS-PROCESS-42"
    remember_secrets(secret)
    bug = ValueError(f"tag '\x1b[2Jx\u202e' sent with {secret}\nerror: forged")
    monkeypatch.setattr(COMMAND["report"], "callback", raising(bug))
    for verbose in ([], ["-v"]):
        result = invoke(*verbose, *args_of("report", tmp_path / "config.yaml"))
        assert result.exit_code == 70
        assert "\x1b" not in result.output and "\u202e" not in result.output
        assert secret not in result.output
        assert "\\x1b[2Jx\\u202e" in result.output and "[REDACTED]" in result.output
        assert [x for x in result.stderr.splitlines() if x.startswith("error:")] == [
            result.stderr.splitlines()[-1]
        ]


def test_a_closed_stdout_is_quiet_and_exits_141(tmp_path: Path) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    with warehouse.connect(tmp_path / "swr.duckdb"):
        pass
    sql = "SELECT range AS n FROM range(10000)"  # more than a pipe holds
    command = [sys.executable, "-m", "etl", "query", "-c", str(path), sql]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as reader:
        assert reader.stdout is not None and reader.stderr is not None
        reader.stdout.read(10)  # `| head -c 10`
        reader.stdout.close()
        said = reader.stderr.read()
    assert reader.returncode == 141
    assert said == b""


@pytest.mark.parametrize(
    ("command", "says"),
    [
        pytest.param(
            ["dashboard", "--out", "{tmp}/file/page.html"],
            "cannot write the dashboard {tmp}/file/page.html: ",
            id="dashboard-out-under-a-file",
        ),
        pytest.param(
            ["demo", "--dir", "{tmp}/file/demo"],
            "cannot write the demo's folder {tmp}/file/demo: ",
            id="demo-dir-under-a-file",
        ),
    ],
)
def test_a_path_the_os_refuses_is_one_line_exit_4_not_a_bug(
    tmp_path: Path, command: list[str], says: str
) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(CONFIG)
    (tmp_path / "file").write_text("")
    with warehouse.connect(tmp_path / "swr.duckdb"):
        pass
    args = [a.format(tmp=tmp_path) for a in command]
    line = the_line(invoke(*args_of(args[0], path), *args[1:]), 4)
    assert line.startswith(f"error: {says.format(tmp=tmp_path)}") and line.endswith(")")


def test_a_readonly_copy_that_cannot_be_written_after_a_rebuild_is_a_warning(
    tmp_path: Path,
) -> None:
    path = tmp_path / "config.yaml"
    (tmp_path / "file").write_text("")
    path.write_text(
        CONFIG.replace(
            "duckdb: ./swr.duckdb", "duckdb: ./swr.duckdb, readonly_copy: ./file/copy.duckdb"
        )
    )
    result = invoke("rebuild", "-c", str(path))
    assert result.exit_code == 0, result.output
    assert "the read-only copy" in result.stderr and "was not refreshed" in result.stderr
    assert result.stdout.startswith(f"rebuilt {tmp_path / 'swr.duckdb'} from 0 committed run(s)")
