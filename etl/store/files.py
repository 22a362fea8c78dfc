"""Replacing a local file atomically: the one way the tool rewrites a file that others read
(the read-only copy, the dashboard page, a writer's identity, a thinned run's commit record);
and making a write or a rename durable."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def replacing(path: Path, clean_stale: bool = False) -> Iterator[Path]:
    """Yield a partial file beside `path` to write. When the block ends without an error, the
    partial replaces `path` in one rename, so a reader sees the old file or the new one; on
    every way out no partial is left. `clean_stale` first removes partials a killed writer
    left (only for callers holding the output lock: another writer's partial may be live)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if clean_stale:
        for stale in path.parent.glob(f".{path.name}.*.partial"):
            stale.unlink(missing_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        yield partial
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)


def fsync(path: str | Path) -> None:
    """Flush a file, or a folder's entries (a rename in it), to the disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
