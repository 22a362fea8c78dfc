"""A run's summary, read from its record and the views once it is loaded (not from counters
kept on the side): totals and endpoints, what changed, the slowest and failed targets, what
each endpoint holds. How it is shown is `etl.present.summary`'s job."""

from __future__ import annotations

from dataclasses import replace

import duckdb

from etl.results import (
    EndpointCounts,
    FailedTarget,
    Holding,
    RunRecord,
    RunSummary,
    SlowTarget,
    Totals,
)
from etl.store.queries import ask


def summarise_run(
    con: duckdb.DuckDBPyConnection, run_id: str, places: dict[str, str]
) -> RunSummary:
    """Return the summary of a loaded run; `places` says where it went (lake, DuckDB, …)."""
    record = RunRecord.of(ask(con, "runs/record", run_id=run_id).first())
    changes = ask(con, "changes/of_run", run_id=run_id).records()
    return replace(
        bare_summary(record, places),
        endpoints=[
            EndpointCounts(**r) for r in ask(con, "runs/per_endpoint", run_id=run_id).records()
        ],
        changes={c["change"]: int(c["tags"]) for c in changes},
        bytes_added=sum(int(c["bytes_added"]) for c in changes),
        bytes_freed=sum(int(c["bytes_freed"]) for c in changes),
        slowest=[SlowTarget(**r) for r in ask(con, "runs/slowest", run_id=run_id).records()],
        failures=[
            FailedTarget(**r) for r in ask(con, "runs/failures_first", run_id=run_id).records()
        ],
        current=current_holdings(con, run_id),
    )


def bare_summary(run: RunRecord, places: dict[str, str]) -> RunSummary:
    """Return the summary a run's own record gives, when the database cannot be asked."""
    totals = Totals(
        ok=run.ok,
        not_found=run.not_found,
        failed=run.failed,
        tags=run.tags,
        requests=run.requests,
        retries=run.retries,
        warnings=run.warnings,
        targets=run.targets,
    )
    finished = run.finished_at or run.started_at
    return RunSummary(run.run_id, run.seq, run.status, run.started_at, finished, totals, places)


def current_holdings(con: duckdb.DuckDBPyConnection, run_id: str) -> list[Holding]:
    """Return what each endpoint holds after run `run_id` (`run_totals`)."""
    return [Holding(**r) for r in ask(con, "storage/per_endpoint", run_id=run_id).records()]
