"""What a run works on and what it comes to: targets, a target's result, a run's summary, its
outcome and its exit code. The bottom layer: every package may import it, and it imports none
of them (only the errors and statuses beside it)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from etl.errors import ApiError
from etl.status import RunStatus, TargetStatus

LITERAL = "literal"  # how a target named in the config was selected
EXIT_CODES = {RunStatus.OK: 0, RunStatus.PARTIAL: 1, RunStatus.FAILED: 3}


Key = tuple[str, str, str]  # a repository: endpoint, namespace, repository


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
    def key(self) -> Key:
        """(endpoint, namespace, repository): the repository, whatever its tag filter."""
        return (self.endpoint, self.namespace, self.repository)

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
    carried: bool = False  # not crawled: its list entry said unchanged (crawl.skip_unchanged)


def run_status(results: list[TargetResult], failed_lists: int = 0) -> RunStatus:
    """Return how a run went: ok (nothing failed), failed (no target synced, and something
    failed: a target or a discovery list), else partial."""
    failed = sum(r.status == TargetStatus.FAILED for r in results)
    if failed == 0 and failed_lists == 0:
        return RunStatus.OK
    return RunStatus.FAILED if failed == len(results) else RunStatus.PARTIAL


@dataclass(frozen=True)
class Counts:
    """Targets by status, with their tags, requests, retries and warnings."""

    ok: int
    not_found: int
    failed: int
    tags: int
    requests: int
    retries: int
    warnings: int


@dataclass(frozen=True)
class Totals(Counts):
    """A run's counts, with how many targets it had."""

    targets: int


@dataclass(frozen=True)
class EndpointCounts(Counts):
    """One endpoint's share of a run's counts."""

    endpoint: str


@dataclass(frozen=True)
class Holding:
    """What one endpoint holds after a run: repositories, current tags, total and unique bytes."""

    endpoint: str
    repositories: int
    tags: int
    total_size: int
    unique_size: int


@dataclass(frozen=True)
class SlowTarget:
    """One of a run's slowest targets."""

    target: str
    duration_s: float
    tags: int
    requests: int
    retries: int


@dataclass(frozen=True)
class FailedTarget:
    """One failed target of a run, with what the server said."""

    target: str
    http_status: int | None
    error_code: str | None
    error_message: str | None
    request_id: str | None


@dataclass(frozen=True)
class RunSummary:
    """What a finished run came to, read from its record and the views after the load: one
    screen whatever the number of repositories. `places` says where the run went."""

    run_id: str
    seq: int
    status: str
    started_at: datetime
    finished_at: datetime
    totals: Totals
    places: dict[str, str]
    endpoints: list[EndpointCounts] = field(default_factory=list)
    changes: dict[str, int] = field(default_factory=dict)  # tags per change kind
    bytes_added: int = 0
    bytes_freed: int = 0
    slowest: list[SlowTarget] = field(default_factory=list)
    failures: list[FailedTarget] = field(default_factory=list)  # the first ten
    current: list[Holding] = field(default_factory=list)

    @property
    def duration_s(self) -> float:
        """Seconds from the run's start to its finish, to the millisecond."""
        return round((self.finished_at - self.started_at).total_seconds(), 3)

    @property
    def tags_per_s(self) -> int | None:
        """Tags synced per second (None for a run that took no time)."""
        seconds = self.duration_s
        return round(self.totals.tags / seconds) if seconds > 0 else None

    def as_json(self) -> dict[str, Any]:
        """The summary as log collectors get it: ISO-8601 times, exact integers."""
        head = {
            "run_id": self.run_id,
            "seq": self.seq,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat(),
            "duration_s": self.duration_s,
            "tags_per_s": self.tags_per_s,
        }
        return head | {k: v for k, v in asdict(self).items() if k not in head}


@dataclass(frozen=True)
class RunRecord:
    """A run's own row, as its commit record (less the files it lists) and the warehouse's
    `runs` table hold it: when it ran, how it went, its counts, who wrote it, in which format."""

    run_id: str
    seq: int
    started_at: datetime
    finished_at: datetime | None
    status: str
    targets: int
    ok: int
    not_found: int
    failed: int
    tags: int
    requests: int
    retries: int
    warnings: int
    writer: str | None = None
    writer_id: str | None = None
    lake_format: int | None = None

    @classmethod
    def of(cls, row: dict[str, Any]) -> RunRecord:
        """Return the record of a `runs` row (columns it does not know are left out)."""
        known = {name: row.get(name) for name in cls.__dataclass_fields__}
        return cls(**known)  # type: ignore[arg-type]  # a row of the runs table, typed by it

    def row(self) -> dict[str, Any]:
        """The record as a `runs` row."""
        return asdict(self)


@dataclass(frozen=True)
class SyncOutcome:
    """What a finished run did: its id, per-target results and the run's own record."""

    run_id: str
    results: list[TargetResult]
    run: RunRecord
    caught_up: list[str]
    summary: RunSummary  # from the run record and the views
    list_failures: list[ApiError] = field(default_factory=list)  # discovery's failed lists

    @property
    def exit_code(self) -> int:
        """0 all targets synced; 1 some failed (or a discovery list); 3 none could be synced."""
        return EXIT_CODES[run_status(self.results, len(self.list_failures))]
