"""One writer at a time per output: flocks that die with their process (no stale locks).

A sync (or `rebuild`) locks both the DuckDB file (`<duckdb>.lock`) and the lake (`<lake>/_lock`),
so two configs that share a lake cannot write it at once either.
"""

from __future__ import annotations

import fcntl
import os
import socket
import time
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

from etl.errors import LockHeldError, StorageError, os_reason

# The holder writes its line right after taking the lock; a contender that finds the lock
# taken but the line not yet written (or already cleared) looks again for this long.
HOLDER_WAIT_S = 2.0


class OutputLock:
    """Exclusive, non-blocking locks on some files; says who holds one when it is taken."""

    def __init__(self, *paths: Path):
        self.paths = paths
        self._fds: list[int] = []

    def __enter__(self) -> OutputLock:
        try:
            for path in self.paths:
                self._fds.append(take(path))
        except BaseException:
            self._release()
            raise
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._release()

    def _release(self) -> None:
        while self._fds:
            fd = self._fds.pop()
            os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)


def take(path: Path) -> int:
    """Return an open descriptor of `path` holding its lock, with our line written in it.

    Raises LockHeldError naming the holder's process when another one holds it, and
    StorageError naming the file when the disk refuses it (full, read-only, a folder there).
    """
    try:
        return locked(path)
    except OSError as exc:
        raise StorageError(f"cannot write the lock file {path}: {os_reason(exc)}") from None


def locked(path: Path) -> int:
    """`take` of a file the OS lets us write: the lock taken, our line written in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    give_up = time.monotonic() + HOLDER_WAIT_S
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
            if holder or time.monotonic() >= give_up:
                os.close(fd)
                raise LockHeldError(
                    f"another sync holds {path} ({holder or 'unknown process'})"
                ) from None
            time.sleep(0.005)
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, holder_line().encode(), 0)
    except OSError:
        os.close(fd)  # and with it the lock
        raise
    return fd


def holder_line() -> str:
    """Return what a lock file says about its holder: pid, host and since when."""
    started = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return f"pid {os.getpid()} on {socket.gethostname()} since {started}"
