"""Metrics for alerting: a Prometheus text file for node_exporter's textfile collector, written
by `prometheus_client` (its `write_to_textfile` replaces the file atomically) after every run,
failed ones included. A sync turned away by the lock is not a run: it writes nothing, so
`time() - swr_etl_last_success_timestamp_seconds` grows when runs stop happening or succeeding.

Every value comes from the run record (`runs`, `target_runs`) or the views; labels are endpoint
names and statuses, never a credential.
"""

from __future__ import annotations

import logging
import re
import urllib.error
import urllib.request
from base64 import urlsafe_b64encode
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb
from prometheus_client import CollectorRegistry, Gauge, write_to_textfile
from prometheus_client.parser import text_string_to_metric_families

from etl.config import Config
from etl.errors import EtlError
from etl.results import RunSummary
from etl.status import RunStatus, TargetStatus
from etl.store import warehouse
from etl.store.summaries import current_holdings

log = logging.getLogger("etl.metrics")
# A run's own statuses, and `interrupted` (SIGINT/SIGTERM): a manual stop is not a failure.
INTERRUPTED = "interrupted"
STATUSES = (*(str(s) for s in RunStatus), INTERRUPTED)
LAST_SUCCESS = "swr_etl_last_success_timestamp_seconds"
PUSH_TIMEOUT_S = 10.0
PLAIN_LABEL = re.compile(r"[A-Za-z0-9_.-]+")


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


def deliver_metrics(config: Config, run: RunMetrics) -> None:
    """Write the metrics of `run` to `output.metrics` and, with `output.pushgateway`, send the
    file there too (a push that fails is a warning: the file stands)."""
    assert config.output.metrics is not None
    write_metrics(config.output.metrics, run)
    if config.output.pushgateway is not None:
        push_metrics(config.output.metrics, config.output.pushgateway, config.writer)


def pushgateway_group(gateway: str, writer: str) -> str:
    """Return the Pushgateway URL of this writer's group: job `swr-etl`, label `writer`
    (base64-encoded, as the Pushgateway allows, when the name is more than plain text)."""
    if PLAIN_LABEL.fullmatch(writer):
        label = f"writer/{writer}"
    else:
        label = f"writer@base64/{urlsafe_b64encode(writer.encode()).decode()}"
    return f"{gateway.rstrip('/')}/metrics/job/swr-etl/{label}"


def push_metrics(path: Path, gateway: str, writer: str) -> None:
    """Replace this writer's group in the Pushgateway with the metrics file (HTTP PUT). A batch
    job is gone before Prometheus scrapes it: the gateway keeps the last push for it."""
    url = pushgateway_group(gateway, writer)
    request = urllib.request.Request(
        url,
        data=path.read_bytes(),
        method="PUT",
        headers={"Content-Type": "text/plain; version=0.0.4; charset=utf-8"},
    )
    try:
        with urllib.request.urlopen(request, timeout=PUSH_TIMEOUT_S) as answer:
            answer.read(1024)
    except urllib.error.HTTPError as exc:
        log.warning("the Pushgateway %s refused the metrics: HTTP %s", gateway, exc.code)
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        log.warning("the metrics were not pushed to %s: %s", gateway, reason)


def previous_success(path: Path) -> float | None:
    """Return the last success recorded in an earlier metrics file (None if none can be read)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return None
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == LAST_SUCCESS:
                return float(sample.value)
    return None


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


def write_failed_run_metrics(config: Config, started: datetime, interrupted: bool = False) -> None:
    """Write the metrics of a run that failed, or was interrupted, before it finished (what
    the database holds, where it can still be read)."""
    assert config.output.metrics is not None
    current: dict[str, tuple[int, int, int]] = {}
    try:
        with warehouse.connect(config.output.duckdb, read_only=True) as con:
            latest = con.execute("SELECT run_id FROM runs ORDER BY seq DESC LIMIT 1").fetchall()
            held = current_holdings(con, latest[0][0]) if latest else []
        current = {c.endpoint: (c.tags, c.total_size, c.unique_size) for c in held}
    except (EtlError, duckdb.Error):
        pass  # the metrics still say the run failed, and when
    status = INTERRUPTED if interrupted else RunStatus.FAILED
    metrics = RunMetrics(started, datetime.now(UTC), status, current=current)
    try:
        deliver_metrics(config, metrics)
    except OSError as exc:
        log.error("cannot write the metrics %s: %s", config.output.metrics, exc)
