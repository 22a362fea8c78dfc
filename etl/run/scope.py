"""Scope as history: what a run was asked to sync, against what its writer tracked before.

A repository that leaves the configured scope — a literal dropped, a pattern narrowed, a new
`exclude`, an endpoint renamed — is recorded by the next run as `untracked`: its tags leave
`tags_current` as untracked (never `removed`, never freed bytes), and its return is a baseline.
A changed tag filter is a new scope for its repository too; the SQL sees that from
`target_runs.tag_filter` (`sql/views/target_syncs.sql`).
"""

from __future__ import annotations

import logging
from collections.abc import Collection

from etl.errors import NotFoundError
from etl.results import LITERAL, Key, Target, TargetResult
from etl.status import TargetStatus

log = logging.getLogger("etl.run.scope")


def fail_unknown_names(results: list[TargetResult], known: Collection[Key]) -> None:
    """Fail every literal name that SWR answers "not found" on its first sync: a name SWR does
    not know is a misconfiguration (a typo, another region), not a deleted repository. One
    that synced before (`known`) and is gone now stays `not_found`."""
    for result in results:
        target, error = result.target, result.error
        key = target.key
        if result.status != TargetStatus.NOT_FOUND or target.selected_by != LITERAL:
            continue
        if key in known or error is None:
            continue
        result.status = TargetStatus.FAILED
        result.error = NotFoundError(
            f"SWR does not know this repository and it never synced: is the name right? "
            f"({error.message})",
            status=error.status,
            error_code=error.error_code,
            request_id=error.request_id,
            endpoint=target.endpoint,
            target=target.path,
        )


def untracked_results(
    tracked: dict[Key, str], results: list[TargetResult], shown: int = 5
) -> list[TargetResult]:
    """Return an `untracked` result for every repository the writer tracked (key → how it was
    selected) that no result of this run names, and log them once."""
    named = {r.target.key for r in results}
    gone = [
        TargetResult(Target(e, n, r, None, tracked[(e, n, r)]), status=TargetStatus.UNTRACKED)
        for e, n, r in sorted(tracked.keys() - named)
    ]
    if gone:
        names = ", ".join(f"{g.target.endpoint}:{g.target.path}" for g in gone[:shown])
        more = f" and {len(gone) - shown} more" if len(gone) > shown else ""
        log.info(
            "%d repositories left the configured scope and are no longer tracked (their tags "
            "close as untracked, not removed): %s%s",
            len(gone),
            names,
            more,
        )
    return gone
