"""The statuses a run and its targets record: one definition, imported by every layer (it
imports nothing of ours). SQL reads the same words; `sql/macros/synced.sql` says which target
statuses tell what a repository holds."""

from __future__ import annotations

from enum import StrEnum


class TargetStatus(StrEnum):
    """How one repository of a run went (`target_runs.status`)."""

    OK = "ok"  # its tag list was read to the end: the snapshot is its truth
    NOT_FOUND = "not_found"  # SWR says it is gone: its tags close
    FAILED = "failed"  # nothing usable: its previous snapshot stands
    UNTRACKED = "untracked"  # it left the configured scope: its tags close, not as removals

    @property
    def synced(self) -> bool:
        """True when the status says what the repository holds (SQL: `synced`): its tags, or
        nothing left; a failed target says nothing."""
        return self is not TargetStatus.FAILED


class RunStatus(StrEnum):
    """How a whole run went (`runs.status`)."""

    OK = "ok"
    PARTIAL = "partial"
    FAILED = "failed"


class CleanupResult(StrEnum):
    """What `cleanup apply` did with one planned tag (`cleanup_deletions.result`);
    `sql/macros/cleanup_done.sql` says which count as done."""

    DELETED = "deleted"  # SWR answered its DELETE, and a list read after it lacks the tag
    GONE = "gone"  # not there any more: deleted with another tag of its image, or by someone
    CHANGED = "changed"  # skipped and kept: it moved since the plan, or a kept tag uses its image
    REFUSED = "refused"  # skipped and kept: the plan's own rule keeps it (a hand-edited plan)
    FAILED = "failed"  # an error after retries, or a DELETE not confirmed: it may still be there

    @property
    def done(self) -> bool:
        """True when the tag is gone, deleted now or found gone (SQL: `cleanup_done`)."""
        return self in (CleanupResult.DELETED, CleanupResult.GONE)
