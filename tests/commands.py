"""The ways the tests run `swr-etl`: a command through click's CliRunner (in this process,
as a user would type it), a whole `swr-etl sync` process (to kill, stop or race it), a process
whose own peak memory is measured, and a bound on what runs inside a test, so that a regression
fails instead of hanging the suite."""

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


# A process's peak memory (ru_maxrss) counts the process that started it: Linux keeps, across
# exec, the larger of the old and the new image's high-water mark, and subprocess starts a child
# with vfork, in its parent's memory. A sync started from a test process holding 400 MB would
# read as 400 MB. This launcher, a fresh and small interpreter, forks the command and writes
# the command's own peak (KiB) to the file it is given.
PEAK_LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    os.execv(sys.executable, [sys.executable, *sys.argv[2:]])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as figure:
    figure.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measured_process(figure: Path, *args: str) -> tuple[int, str, float]:
    """Run `python ARGS...` in its own process; return its exit code, its output (stdout and
    stderr together) and its own peak resident memory in MB (not its starter's), passed
    through the file `figure`."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_LAUNCHER, str(figure), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        check=False,
    )
    return done.returncode, done.stdout.decode(), int(figure.read_text()) / 1024


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
