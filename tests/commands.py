"""The ways the tests run `swr-etl`: a command through click's CliRunner (in this process,
as a user would type it), a whole `swr-etl sync` process (to kill, stop or race it), and a
bound on what runs inside a test, so that a regression fails instead of hanging the suite."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner, Result

from etl.cli import cli
from etl.failpoints import ENV


def invoke(*args: str | Path) -> Result:
    """Run `swr-etl ARGS...` in this process; return what it printed and its exit code."""
    return CliRunner().invoke(cli, [str(a) for a in args], prog_name="swr-etl")


def sync(config: Path, *args: str) -> Result:
    """Run `swr-etl sync -c CONFIG --no-progress ARGS...` in this process."""
    return invoke("sync", "-c", config, "--no-progress", *args)


def sync_process(config: Path, failpoint: str | None = None, *args: str) -> subprocess.Popen[bytes]:
    """Start `swr-etl sync` in its own process, stopped at `failpoint` if given (see
    etl.failpoints: `name`, `name:TERM`, `name:STOP`)."""
    env = {k: v for k, v in os.environ.items() if k != ENV}
    if failpoint:
        env[ENV] = failpoint
    return subprocess.Popen(
        [sys.executable, "-m", "etl", "sync", "-c", str(config), "--no-progress", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def paused_sync(config: Path, failpoint: str) -> subprocess.Popen[bytes]:
    """Start `swr-etl sync` stopped at `failpoint` (`name:STOP`), and return it once it has
    stopped there (SIGCONT lets it go on)."""
    paused = sync_process(config, failpoint)
    deadline = time.monotonic() + 60
    while not stopped(paused.pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    return paused


def stopped(pid: int) -> bool:
    """Return True if process `pid` is stopped (SIGSTOP)."""
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] == "T"


@contextmanager
def time_limit(seconds: float, memory: int | None = None) -> Iterator[None]:
    """Fail what runs inside with TimeoutError after `seconds`, and, given `memory`, with
    MemoryError beyond that many more bytes of address space: a regression that waits on a
    FIFO, serves forever or reads /dev/zero fails its test instead of hanging the suite or
    the machine. (Only around code that starts no threads: each reserves address space.)"""

    def expire(signum: int, frame: object) -> None:
        raise TimeoutError(f"still running after {seconds} s")

    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if memory is not None:
        with open("/proc/self/statm") as statm:
            used = int(statm.read().split()[0]) * resource.getpagesize()
        bound = used + memory if hard == resource.RLIM_INFINITY else min(hard, used + memory)
        resource.setrlimit(resource.RLIMIT_AS, (bound, hard))
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))
