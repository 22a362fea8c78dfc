"""What a running sync asks of its process: signals held, or turned into a cancellation of
the crawl, and memory handed back to the OS between phases."""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import gc
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa


@contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold SIGINT/SIGTERM until the block ends (they are delivered right after)."""
    blocked = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, blocked)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, blocked)


def release_memory() -> None:
    """Hand memory freed by the last phase back to the OS, so phases' peaks do not stack."""
    gc.collect()
    return_freed()


def return_freed() -> None:
    """Hand memory already freed back to the OS (no garbage collection: it holds the GIL)."""
    pa.default_memory_pool().release_unused()
    if LIBC is not None:
        LIBC.malloc_trim(0)


def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim  # noqa: B018 - glibc only: probe that it is there
        return libc
    except (OSError, AttributeError):
        return None


LIBC = _libc()


@contextmanager
def signals_cancel(task: asyncio.Task[Any] | None) -> Iterator[list[int]]:
    """While in the block, SIGINT/SIGTERM cancel `task` (raised inside a loop callback, the
    usual exception would be lost); yields the signals received. Handlers are restored after."""
    loop = asyncio.get_running_loop()
    received: list[int] = []
    previous = {signum: signal.getsignal(signum) for signum in (signal.SIGINT, signal.SIGTERM)}

    def on_signal(signum: int) -> None:
        received.append(signum)
        if task is not None:
            task.cancel()

    for signum in previous:
        loop.add_signal_handler(signum, on_signal, signum)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            loop.remove_signal_handler(signum)  # this resets it to the default: put ours back
            signal.signal(signum, handler)
