"""Honest endings: a signal or a full disk at any step ends in one line that says what was
committed where and what the next sync does, and leaves no staging or partial file behind."""

from __future__ import annotations

import errno
import os
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from etl.fakeswr import FakeSwr, Options, Registry, ServerThread, next_day
from etl.store import commits, lanes, parts
from etl.store.storage import local_store
from tests.commands import invoke, sync, sync_process
from tests.configs import WriteConfig, editing
from tests.registries import expected_rows
from tests.stored import stored_rows


def with_output(path: Path, **output: str) -> Path:
    with editing(path) as data:
        data["output"].update(output)
    return path


def last_line(text: bytes | str) -> str:
    return (text.decode() if isinstance(text, bytes) else text).strip().splitlines()[-1]


def test_sigterm_during_the_duckdb_load_says_the_run_is_in_the_lake(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    stopped = sync_process(path, "warehouse-loading:TERM")
    _, err = stopped.communicate(timeout=120)
    assert stopped.returncode == 143, err.decode()
    (_, run_id), *_ = commits.listed_runs(local_store(tmp_path / "lake"))
    assert last_line(err) == (
        f"error: interrupted by SIGTERM: run {run_id} is committed to the lake at "
        f"{tmp_path / 'lake'} but not loaded into {tmp_path / 'swr.duckdb'}; "
        "the next sync loads it"
    )
    assert "nothing of this run was committed" not in err.decode()
    served.serve(next_day(small_registry))
    after = sync(path)
    assert after.exit_code == 0 and "loaded 1 earlier run(s)" in after.output


def test_sigterm_while_replacing_the_readonly_copy_leaves_no_partial_file(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    with_output(path, readonly_copy="./dashboard/swr.duckdb")
    stopped = sync_process(path, "copy-written:TERM")
    _, err = stopped.communicate(timeout=120)
    assert stopped.returncode == 143, err.decode()
    message = last_line(err)
    assert "is committed to the lake and loaded into" in message
    assert "the read-only copy" in message and "was not refreshed" in message
    assert sorted(p.name for p in (tmp_path / "dashboard").iterdir()) == []
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)
    assert sync(path).exit_code == 0
    assert sorted(p.name for p in (tmp_path / "dashboard").iterdir()) == ["swr.duckdb"]


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[str, str], Path]]:
    """Mount a small tmpfs (a disk that fills up) at tmp_path/NAME; needs root."""
    mounted: list[Path] = []

    def mount(name: str, size: str) -> Path:
        if os.geteuid() != 0:
            pytest.skip("mounting a small disk needs root (CI runs as root)")
        place = tmp_path / name
        place.mkdir()
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(place)],
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
        mounted.append(place)
        return place

    yield mount
    for place in mounted:
        subprocess.run(["umount", "-l", str(place)], check=False)


def grow(place: Path, size: str) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(place)], check=True)


def test_a_full_lake_disk_is_one_line_and_leaves_no_staging(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    small_disk: Callable[[str, str], Path],
) -> None:
    disk = small_disk("disk", "64k")
    path = with_output(
        write_config(tmp_path, served, list(small_registry.repositories)), lake=str(disk / "lake")
    )
    result = sync(path)
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    message = last_line(result.output)
    assert message.startswith(f"error: cannot write the lake at {disk / 'lake'}: ")
    assert "No space left on device" in message
    assert "nothing of this run was committed and what it wrote was removed" in message
    assert list((disk / "lake" / "_staging").glob("*")) == []
    assert commits.listed_runs(local_store(disk / "lake")) == []
    grow(disk, "64m")
    assert sync(path).exit_code == 0
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)


def test_a_full_duckdb_disk_is_one_line_and_the_next_sync_loads_the_run(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    small_disk: Callable[[str, str], Path],
) -> None:
    disk = small_disk("disk", "600k")
    path = with_output(
        write_config(tmp_path, served, list(small_registry.repositories)),
        duckdb=str(disk / "swr.duckdb"),
    )
    result = sync(path)
    assert result.exit_code == 4, result.output
    assert "Traceback" not in result.output
    message = last_line(result.output)
    (_, run_id), *_ = commits.listed_runs(local_store(tmp_path / "lake"))
    assert f"run {run_id} is committed to the lake at {tmp_path / 'lake'}" in message
    assert "No space left on device" in message and "the next sync loads it" in message
    grow(disk, "64m")
    after = sync(path)
    assert after.exit_code == 0, after.output
    assert stored_rows(disk / "swr.duckdb") == expected_rows(small_registry)


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(errno.ENOSPC, id="disk-full"),
        pytest.param(errno.EDQUOT, id="over-quota"),
        pytest.param(errno.EROFS, id="read-only-disk"),
        pytest.param(errno.EIO, id="io-error"),
    ],
)
def test_a_staging_write_that_fails_while_crawling_stops_the_run_once_naming_the_disk(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
) -> None:
    repositories = list(small_registry.repositories)
    path = write_config(tmp_path, served, repositories)
    monkeypatch.setattr(lanes, "SEGMENT_S", 0.0)  # every completed target is written at once

    def failing(*args: object) -> None:
        raise OSError(code, os.strerror(code))

    written = lanes.Lane._write
    monkeypatch.setattr(lanes.Lane, "_write", failing)
    result = sync(path)
    assert result.exit_code == 4, result.output
    assert "while reading its pages" not in result.output and "Traceback" not in result.output
    assert result.output.count("\n") == 1  # no repository is blamed, the run fails once
    staging = tmp_path / "lake" / "_staging"
    assert re.fullmatch(
        f"error: cannot write the run's staging {re.escape(str(staging))}/[^/ ]+: "
        f"{re.escape(os.strerror(code))} \\({errno.errorcode[code]}\\); nothing of this run was "
        "committed and what it wrote was removed\n",
        result.output,
    ), result.output
    assert served.state.stats.requests < len(repositories)  # the crawl stopped there
    assert commits.listed_runs(local_store(tmp_path / "lake")) == []
    assert list(staging.glob("*")) == []
    monkeypatch.setattr(lanes.Lane, "_write", written)  # the disk is mended
    assert sync(path).exit_code == 0
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(small_registry)


def test_a_lake_disk_that_fills_while_crawling_is_one_line_naming_it(
    write_config: WriteConfig,
    tmp_path: Path,
    small_registry: Registry,
    small_disk: Callable[[str, str], Path],
) -> None:
    disk = small_disk("disk", "64k")
    # Slow answers: the crawl writes its staging while it goes, and the disk fills then.
    with ServerThread(small_registry, options=Options(latency_ms=100)) as slow:
        path = with_output(
            write_config(tmp_path, slow, list(small_registry.repositories)),
            lake=str(disk / "lake"),
        )
        result = sync(path)
    assert result.exit_code == 4, result.output
    assert "while reading its pages" not in result.output and "Traceback" not in result.output
    assert result.output.count("\n") == 1
    assert result.output.startswith(f"error: cannot write the run's staging {disk / 'lake'}")
    assert "No space left on device (ENOSPC)" in result.output
    assert list((disk / "lake" / "_staging").glob("*")) == []


def fill(disk: Path, spare_pages: int = 0) -> None:
    """Fill `disk` until the OS refuses another byte, then free `spare_pages` pages of it."""
    filler = disk / "filler"
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(b"\0" * 4096)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC
    if spare_pages:
        os.truncate(filler, filler.stat().st_size - spare_pages * os.sysconf("SC_PAGE_SIZE"))


@pytest.mark.parametrize(
    "where, lock",
    [
        pytest.param("duckdb", "swr.duckdb.lock", id="duckdb-folder-full"),
        pytest.param("lake", "_lock", id="lake-folder-full"),
    ],
)
@pytest.mark.parametrize("command", ["sync", "rebuild", "load", "thin"])
def test_a_full_disk_before_a_run_is_exit_4_naming_the_lock_file(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    small_disk: Callable[[str, str], Path],
    where: str,
    lock: str,
    command: str,
) -> None:
    disk = small_disk("disk", "64k")
    folder = disk / "place"
    folder.mkdir()
    path = write_config(tmp_path, served, list(small_registry.repositories))
    place = {"duckdb": str(folder / "swr.duckdb")} if where == "duckdb" else {"lake": str(folder)}
    with_output(path, **place)
    fill(disk)
    result = invoke(command, "-c", str(path))
    assert result.exit_code == 4, result.output
    assert result.output == (
        f"error: cannot write the lock file {folder / lock}: No space left on device (ENOSPC)\n"
    )


def test_a_writer_id_the_disk_refuses_is_exit_4_naming_it_and_the_next_sync_keeps_one(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    small_disk: Callable[[str, str], Path],
) -> None:
    disk = small_disk("disk", "4m")
    db = disk / "swr.duckdb"
    path = with_output(
        write_config(tmp_path, served, list(small_registry.repositories)), duckdb=str(db)
    )
    assert sync(path).exit_code == 0
    kept = disk / "swr.duckdb.writer-id"
    kept.unlink()
    fill(disk, spare_pages=1)  # the lock's line, and not one page more
    result = sync(path)
    assert result.exit_code == 4, result.output
    assert last_line(result.output) == (
        f"error: cannot write the writer's identity {kept}: No space left on device (ENOSPC)"
    )
    assert "Traceback" not in result.output
    assert not kept.exists() and not list(disk.glob(".swr.duckdb.writer-id.*"))
    (disk / "filler").unlink()
    assert sync(path).exit_code == 0
    assert len(kept.read_text().strip()) == 16


def test_a_database_a_full_disk_did_not_let_a_sync_create_is_not_left_behind(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    small_disk: Callable[[str, str], Path],
) -> None:
    disk = small_disk("disk", "64k")
    path = with_output(
        write_config(tmp_path, served, list(small_registry.repositories)),
        duckdb=str(disk / "swr.duckdb"),
    )
    (disk / "swr.duckdb.lock").write_text("a line from an earlier run\n")  # a page of its own
    fill(disk)
    result = sync(path)
    assert result.exit_code == 4, result.output
    assert result.output.startswith(f"error: cannot open DuckDB file {disk / 'swr.duckdb'}: ")
    assert "No space left on device" in result.output and result.output.count("\n") == 1
    assert sorted(p.name for p in disk.iterdir()) == ["filler", "swr.duckdb.lock"]
    (disk / "filler").unlink()
    grow(disk, "64m")
    after = sync(path)  # an empty file left there would be "not a valid DuckDB database file"
    assert after.exit_code == 0, after.output


def test_demo_on_a_full_disk_is_exit_4_naming_its_folder(
    small_disk: Callable[[str, str], Path],
) -> None:
    disk = small_disk("disk", "64k")
    fill(disk)
    result = invoke("demo", "--dir", str(disk / "demo"), "--repos", "3")
    assert result.exit_code == 4, result.output
    assert result.output == (
        f"error: cannot write the demo's folder {disk / 'demo'}: No space left on device (ENOSPC)\n"
    )


def test_a_changes_spool_the_disk_refuses_is_one_line_naming_the_spool(
    write_config: WriteConfig,
    tmp_path: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The second run of the day stores what changed: it gathers the listings of those
    # repositories in the run's spool (beside the DuckDB file for an object-storage lake).
    path = write_config(tmp_path, served, list(small_registry.repositories))
    assert sync(path).exit_code == 0
    flush = parts.PartWriter._flush

    def failing(self: parts.PartWriter) -> None:
        if "delta_listed" in self.folder:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        flush(self)

    monkeypatch.setattr(parts.PartWriter, "_flush", failing)
    result = sync(path)
    assert result.exit_code == 4, result.output
    staging = tmp_path / "lake" / "_staging"
    assert re.fullmatch(
        f"error: cannot write the run's staging {re.escape(str(staging))}/[^/ ]+: No space left "
        "on device \\(ENOSPC\\); nothing of this run was committed and what it wrote was "
        "removed\n",
        result.output,
    ), result.output
    assert len(commits.listed_runs(local_store(tmp_path / "lake"))) == 1
