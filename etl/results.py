"""What a run works on and what it comes to: targets, a target's result, a run's outcome and
its exit code. The bottom layer: every package may import it, and it imports none of them
(only the errors and statuses beside it)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from etl.errors import ApiError
from etl.status import RunStatus, TargetStatus

LITERAL = "literal"  # how a target named in the config was selected
EXIT_CODES = {RunStatus.OK: 0, RunStatus.PARTIAL: 1, RunStatus.FAILED: 3}


@dataclass(frozen=True, order=True)
class Target:
    """One repository on one endpoint, its optional server-side tag filter, and how it was
    selected: `literal`, or the pattern (`namespace/repository`) that found it."""

    endpoint: str
    namespace: str
    repository: str
    tag: str | None = None
    selected_by: str = LITERAL

    @property
    def path(self) -> str:
        """`namespace/repository`, as errors name a target within its endpoint."""
        return f"{self.namespace}/{self.repository}"

    def __str__(self) -> str:
        return f"{self.endpoint}:{self.path}"


@dataclass
class RequestStats:
    """Counters for one target's requests, kept by the client as it works."""

    requests: int = 0
    retries: int = 0
    pages: int = 0


@dataclass
class TargetResult:
    """How one target went: its status, counts, and the error if it failed."""

    target: Target
    status: TargetStatus = TargetStatus.OK
    tags: int = 0
    warnings: int = 0
    duration_s: float = 0.0
    stats: RequestStats = field(default_factory=RequestStats)
    error: ApiError | None = None
    api: str | None = None  # the tag list it was crawled with (v3 or v2)


def run_status(results: list[TargetResult], failed_lists: int = 0) -> RunStatus:
    """Return how a run went: ok (nothing failed), failed (no target synced, and something
    failed: a target or a discovery list), else partial."""
    failed = sum(r.status == TargetStatus.FAILED for r in results)
    if failed == 0 and failed_lists == 0:
        return RunStatus.OK
    return RunStatus.FAILED if failed == len(results) else RunStatus.PARTIAL


@dataclass(frozen=True)
class SyncOutcome:
    """What a finished run did: its id, per-target results and the run's summary row."""

    run_id: str
    results: list[TargetResult]
    run: dict[str, object]
    caught_up: list[str]
    list_failures: list[ApiError] = field(default_factory=list)  # discovery's failed lists
    summary: dict[str, Any] = field(default_factory=dict)  # from the run record and views

    @property
    def exit_code(self) -> int:
        """0 all targets synced; 1 some failed (or a discovery list); 3 none could be synced."""
        return EXIT_CODES[run_status(self.results, len(self.list_failures))]
