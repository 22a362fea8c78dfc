"""Metrics for alerting: a Prometheus text file for node_exporter's textfile collector, written
by `prometheus_client` (its `write_to_textfile` replaces the file atomically) after every run,
failed ones included. A sync turned away by the lock is not a run: it writes nothing, so
`time() - swr_etl_last_success_timestamp_seconds` grows when runs stop happening or succeeding.

Every value comes from the run record (`runs`, `target_runs`) or the views; labels are endpoint
names and statuses, never a credential.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from etl.errors import Interrupted
from etl.present.push import Gateway, push, shown
from etl.results import RunSummary
from etl.status import RunStatus, TargetStatus
from etl.store import queries, warehouse
from etl.store.summaries import current_holdings

log = logging.getLogger("etl.metrics")
# A run's own statuses, and `interrupted` (SIGINT/SIGTERM): a manual stop is not a failure.
INTERRUPTED = "interrupted"
STATUSES = (*(str(s) for s in RunStatus), INTERRUPTED)
LAST_SUCCESS = "swr_etl_last_success_timestamp_seconds"


@dataclass
class RunMetrics:
    """What one run's metrics say: its timing and status, and what it counted and holds."""

    started: datetime
    finished: datetime
    status: str
    totals: dict[str, int] = field(default_factory=dict)  # tags, requests, retries, warnings
    targets: dict[tuple[str, str], int] = field(default_factory=dict)  # (endpoint, status)
    current: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # tags, total, unique


def write_metrics(path: Path, run: RunMetrics) -> None:
    """Write the metrics of `run` to `path` atomically; the last success is carried over from
    the file itself when this run did not succeed."""
    registry = CollectorRegistry()

    def gauge(name: str, doc: str, labels: tuple[str, ...] = ()) -> Gauge:
        return Gauge(name, doc, labels, registry=registry)

    succeeded = run.finished.timestamp() if run.status == RunStatus.OK else previous_success(path)
    gauge("swr_etl_last_run_timestamp_seconds", "When the last run finished.").set(
        run.finished.timestamp()
    )
    # 0 until a run succeeds: a deployment that never worked is as stale as can be, and the
    # staleness alert fires for it too (an absent series would never fire).
    gauge(LAST_SUCCESS, "When the last run whose every target synced finished (0: never).").set(
        succeeded or 0
    )
    duration = gauge("swr_etl_last_run_duration_seconds", "How long the last run took.")
    duration.set((run.finished - run.started).total_seconds())
    state = gauge(
        "swr_etl_last_run_status",
        "1 for the last run's status (ok/partial/failed/interrupted).",
        ("status",),
    )
    for status in STATUSES:
        state.labels(status).set(1 if status == run.status else 0)
    for key, value in run.totals.items():
        gauge(f"swr_etl_last_run_{key}", f"The last run's {key}.").set(value)
    targets = gauge(
        "swr_etl_last_run_targets",
        "The last run's targets by endpoint and status.",
        ("endpoint", "status"),
    )
    for (endpoint, status), count in sorted(run.targets.items()):
        targets.labels(endpoint, status).set(count)
    tags = gauge("swr_etl_current_tags", "Tags current per endpoint.", ("endpoint",))
    size = gauge(
        "swr_etl_current_bytes", "Bytes current per endpoint (total, unique).", ("endpoint", "kind")
    )
    for endpoint, (count, total, unique) in sorted(run.current.items()):
        tags.labels(endpoint).set(count)
        size.labels(endpoint, "total").set(total)
        size.labels(endpoint, "unique").set(unique)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_to_textfile(str(path), registry)


@dataclass(frozen=True)
class MetricsOutput:
    """Where a run's metrics go: the file (`output.metrics`), and the Pushgateway it is also
    pushed to (`output.pushgateway`, with its deadline) as the group of `writer`."""

    path: Path
    gateway: Gateway | None = None
    writer: str = "swr-etl"


def deliver_metrics(out: MetricsOutput, run: RunMetrics) -> None:
    """Write the metrics of `run` to the file and push it to the gateway, if any. Raises
    nothing but an interrupt: the run is over (committed, or failed with its own error), so a
    file or a push that fails, whatever the reason, is one warning naming what was not
    written."""
    try:
        write_metrics(out.path, run)
    except Interrupted:
        raise  # SIGINT/SIGTERM stop the process; the caller says what is committed
    except Exception as exc:  # a full disk, a folder in the way, a read-only mount: any
        unpushed = "" if out.gateway is None else f", nor pushed to {out.gateway.url}"
        log.warning("the metrics file %s was not written (%s)%s", out.path, reason(exc), unpushed)
        return
    if out.gateway is not None:
        push_metrics(out.path, out.gateway, out.writer)


def push_metrics(path: Path, gateway: Gateway, writer: str) -> None:
    """Push the metrics file to the gateway; a push that fails is one warning line."""
    try:
        problem = push(path.read_bytes(), gateway, writer)
    except Interrupted:
        raise
    except Exception as exc:
        problem = reason(exc)
    if problem is not None:
        log.warning(
            "the metrics were not pushed to %s (%s); the file %s has them",
            gateway.url,
            problem,
            path,
        )


def reason(exc: Exception) -> str:
    """Return an exception as one line: its OS reason where it has one."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return shown(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)


def previous_success(path: Path) -> float | None:
    """Return the last success recorded in an earlier metrics file (None if none can be read)."""
    try:
        text = path.read_text(encoding="utf-8")
        samples = [s for f in text_string_to_metric_families(text) for s in f.samples]
    except (OSError, ValueError):  # none yet, or not a metrics file: this run starts afresh
        return None
    return next((float(s.value) for s in samples if s.name == LAST_SUCCESS), None)


def run_metrics(summary: RunSummary) -> RunMetrics:
    """Return a finished run's metrics, from its summary (the run record and the views)."""
    t = summary.totals
    return RunMetrics(
        summary.started_at,
        summary.finished_at,
        summary.status,
        {"tags": t.tags, "requests": t.requests, "retries": t.retries, "warnings": t.warnings},
        {
            (e.endpoint, status): getattr(e, status)
            for e in summary.endpoints
            for status in (TargetStatus.OK, TargetStatus.NOT_FOUND, TargetStatus.FAILED)
        },
        {c.endpoint: (c.tags, c.total_size, c.unique_size) for c in summary.current},
    )


def write_failed_run_metrics(
    out: MetricsOutput, duckdb_path: Path, started: datetime, interrupted: bool = False
) -> None:
    """Write (and push) the metrics of a run that failed, or was interrupted, before it
    finished: what the database at `duckdb_path` holds, where it can still be read. Raises
    nothing but an interrupt: the run's own error is what the operator sees."""
    status = INTERRUPTED if interrupted else RunStatus.FAILED
    current = latest_holdings(duckdb_path)
    deliver_metrics(out, RunMetrics(started, datetime.now(UTC), status, current=current))


def latest_holdings(duckdb_path: Path) -> dict[str, tuple[int, int, int]]:
    """Return what each endpoint holds after the latest loaded run: its tags, total and unique
    bytes (none if the database cannot be read: the metrics still say the run failed, and
    when)."""
    try:
        with warehouse.connect(duckdb_path, read_only=True) as con:
            latest = queries.ask(con, "runs/latest").first()
            holdings = current_holdings(con, latest["run_id"]) if latest else []
    except Interrupted:
        raise
    except Exception:  # a missing, busy or broken database: the file says what it can
        return {}
    return {c.endpoint: (c.tags, c.total_size, c.unique_size) for c in holdings}
