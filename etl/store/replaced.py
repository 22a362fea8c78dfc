"""The files `swr-etl thin` replaced (etl.store.thinning): named by a marker per attempt,
`_thinned/R.T.txt` (run R, the attempt's token T), until they are deleted once the grace has
passed — readers that listed them before the run's record was replaced may still read them.

The marker is written before the attempt writes anything, and again once the record is
replaced (its time then counts the grace). `clear_replaced` (run by `thin` and at the start of
every sync) deletes what the run's record no longer lists: the old files after a replacement,
or the new ones of an attempt that died before it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from etl.errors import StorageError
from etl.store.commits import Commit, read_commit
from etl.store.lake import partition
from etl.store.storage import LakeStore

THINNED = "_thinned"


def marker_path(store: LakeStore, commit: Commit, token: str) -> str:
    """Return where the marker of an attempt with `token` on `commit`'s run is written."""
    return store.path(THINNED, f"{commit.run_id}.{token}.txt")


def marker_text(commit: Commit, token: str, replaced: list[str]) -> str:
    """Return the marker's text: the run, the attempt's token and the files it replaces."""
    return "\n".join([commit.snapshot_date, commit.run_id, token, *replaced]) + "\n"


def clear_replaced(store: LakeStore, grace_s: float, now: datetime | None = None) -> int:
    """Delete the files thinned runs' records no longer list, once the marker that names them
    is older than `grace_s`, `target_runs` first; return how many were deleted. What an
    attempt wrote before it died, unlisted, goes the same way."""
    now = now or datetime.now(UTC)
    deleted = 0
    for info in store.files(store.path(THINNED)):
        mtime = info.mtime.astimezone(UTC) if isinstance(info.mtime, datetime) else now
        if now - mtime < timedelta(seconds=grace_s):
            continue
        date, run_id, token, *replaced = store.read_text(info.path).split("\n")
        try:
            commit = read_commit(store, date, run_id)
        except StorageError:
            continue  # an unreadable record: delete nothing it may still need
        deleted += _delete_unlisted(commit, token, [p for p in replaced if p])
        store.fs.delete_file(info.path)
    return deleted


def _delete_unlisted(commit: Commit, token: str, replaced: list[str]) -> int:
    store = commit.store
    assert commit.files is not None
    listed = {
        store.path(partition(table, commit.snapshot_date, commit.run_id), name)
        for table, files in commit.files.items()
        for name, _ in files
    }
    candidates = [*replaced, *_written_by(commit, token)]
    # `target_runs` first: a folder reader must never find a whole listing's row without it.
    candidates.sort(key=lambda path: "/target_runs/" not in path)
    deleted = 0
    for path in candidates:
        if path not in listed and store.exists(path):
            store.fs.delete_file(path)
            deleted += 1
            if store.local:  # a partition (and its date) left empty: no folder for readers
                for folder in (posixpath.dirname(path), posixpath.dirname(posixpath.dirname(path))):
                    if not store.children(folder):
                        store.fs.delete_dir(folder)
    return deleted


def _written_by(commit: Commit, token: str) -> Iterator[str]:
    """Yield the files an attempt with `token` wrote into the run's partitions."""
    for table in ("target_runs", "tag_deltas"):
        folder = commit.store.path(partition(table, commit.snapshot_date, commit.run_id))
        for info in commit.store.files(folder):
            if f"-{token}" in info.base_name:
                yield info.path
