"""What a run records in the lake besides its tags: its `runs` row, one `target_runs` row per
target, and what discovery saw (`repositories`, `discoveries`)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyarrow as pa

from etl import schemas
from etl.errors import ApiError
from etl.results import Key, RunRecord, TargetResult, run_status
from etl.run.discovery import Discovery, Listing
from etl.schemas import DELTA, FULL
from etl.status import RunStatus, TargetStatus


def run_row(
    run_id: str,
    seq: int,
    started: datetime,
    results: list[TargetResult],
    discovery: Discovery | None = None,
    writer: str | None = None,
    writer_id: str | None = None,
    finished: datetime | None = None,
) -> RunRecord:
    """Return the run's own record (the lake's `runs` row, less the files it lists); requests
    and retries include discovery's, and a failed discovery list fails the run. `finished`:
    when it finished by this machine's clock (None: now)."""
    found = discovery or Discovery()
    lists = found.stats

    def count(status: TargetStatus) -> int:
        return sum(r.status == status for r in results)

    return RunRecord(
        run_id=run_id,
        seq=seq,
        started_at=started,
        finished_at=finished or datetime.now(UTC),
        status=str(run_status(results, len(found.failures()))),
        targets=len(results),
        ok=count(TargetStatus.OK),
        not_found=count(TargetStatus.NOT_FOUND),
        failed=count(TargetStatus.FAILED),
        tags=sum(r.tags for r in results if r.status == TargetStatus.OK),
        requests=lists.requests + sum(r.stats.requests for r in results),
        retries=lists.retries + sum(r.stats.retries for r in results),
        warnings=sum(r.warnings for r in results),
        writer=writer,
        writer_id=writer_id,
        lake_format=schemas.LAKE_FORMAT,
    )


def target_runs_table(
    run_id: str,
    started: datetime,
    results: list[TargetResult],
    changes: frozenset[Key] = frozenset(),
) -> pa.Table:
    """Return the lake's `target_runs` rows for a run: one per target, failures with details,
    and how the lake keeps an ok target's tags (whole, or the `changes`; a target carried
    forward without a crawl as changes, none)."""
    rows = []
    for r in results:
        error = r.error
        as_changes = r.carried or r.target.key in changes
        listing = (DELTA if as_changes else FULL) if r.status == TargetStatus.OK else None
        rows.append(
            {
                "run_id": run_id,
                "snapshot_at": started,
                "endpoint": r.target.endpoint,
                "namespace": r.target.namespace,
                "repository": r.target.repository,
                "tag_filter": r.target.tag,
                "status": str(r.status),
                "tags": r.tags if r.status == TargetStatus.OK else 0,
                "pages": r.stats.pages,
                "requests": r.stats.requests,
                "retries": r.stats.retries,
                "warnings": r.warnings,
                "duration_s": round(r.duration_s, 3),
                "http_status": error.status if error else None,
                "error_code": error.error_code if error else None,
                "error_message": error.message if error else None,
                "request_id": error.request_id if error else None,
                "selected_by": r.target.selected_by,
                "api": r.api,
                "listing": listing,
                "carried": r.carried,
            }
        )
    return pa.Table.from_pylist(rows, schema=schemas.TARGET_RUN_SCHEMA)


def repositories_table(run_id: str, started: datetime, listings: list[Listing]) -> pa.Table:
    """Return the lake's `repositories` rows: every repository a complete list showed."""
    parts = []
    for listing in listings:
        if listing.columns is None:
            continue
        table = listing.columns
        rows = table.num_rows
        context = {
            "run_id": pa.repeat(pa.scalar(run_id), rows),
            "snapshot_at": pa.repeat(pa.scalar(started, type=pa.timestamp("us", tz="UTC")), rows),
            "endpoint": pa.repeat(pa.scalar(listing.endpoint), rows),
            "namespace": pa.repeat(pa.scalar(listing.namespace), rows),
            "repository": table.column("name"),
        }
        columns = [
            context[f.name] if f.name in context else table.column(f.name)
            for f in schemas.REPOSITORY_ROW_SCHEMA
        ]
        parts.append(pa.Table.from_arrays(columns, schema=schemas.REPOSITORY_ROW_SCHEMA))
    if not parts:
        return schemas.REPOSITORY_ROW_SCHEMA.empty_table()
    return pa.concat_tables(parts)


def discoveries_table(run_id: str, started: datetime, discovery: Discovery) -> pa.Table:
    """Return the lake's `discoveries` rows: how each list of the run's discovery went."""
    rows = [
        discovery_row(run_id, started, endpoint, None, None, error)
        for endpoint, error in discovery.organization_lists.items()
    ]
    for listing in discovery.listings:
        count = None if listing.columns is None else listing.columns.num_rows
        rows.append(
            discovery_row(
                run_id, started, listing.endpoint, listing.namespace, count, listing.error
            )
        )
        rows[-1]["warnings"] = listing.warnings
    return pa.Table.from_pylist(rows, schema=schemas.DISCOVERY_SCHEMA)


def discovery_row(
    run_id: str,
    started: datetime,
    endpoint: str,
    namespace: str | None,
    repositories: int | None,
    error: ApiError | None,
) -> dict[str, object]:
    """Return one `discoveries` row: a list complete (`ok`) or `failed` with its error."""
    return {
        "run_id": run_id,
        "snapshot_at": started,
        "endpoint": endpoint,
        "namespace": namespace,
        "status": str(RunStatus.FAILED if error else RunStatus.OK),
        "repositories": repositories,
        "warnings": 0,
        "http_status": error.status if error else None,
        "error_code": error.error_code if error else None,
        "error_message": error.message if error else None,
        "request_id": error.request_id if error else None,
    }
