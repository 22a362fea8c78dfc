"""A sync as the tool runs it: a run (`etl.run`) handed its reports (`etl.present`): the
metrics file and the dashboard page. The one place the two meet; the
command line, the demo and the tests start syncs here.

The reports' modules are imported when a run first needs them, after its crawl: nothing they
need is on the way to the first request.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from etl.config import Config
from etl.results import RunSummary, SyncOutcome, TargetResult
from etl.run import sync
from etl.store.storage import LakeStore

if TYPE_CHECKING:
    from etl.present.metrics import MetricsOutput


@dataclass(frozen=True)
class PresentedReports:
    """The reports of a config's runs as `etl.present` makes them (`etl.run.publish.Reports`)."""

    config: Config

    def metrics(self, summary: RunSummary) -> None:
        from etl.present.metrics import deliver_metrics, run_metrics

        deliver_metrics(metrics_output(self.config), run_metrics(summary))

    def failed_metrics(self, started: datetime, interrupted: bool) -> None:
        from etl.present.metrics import write_failed_run_metrics

        out = metrics_output(self.config)
        write_failed_run_metrics(out, self.config.output.duckdb, started, interrupted=interrupted)

    def page(self, con: duckdb.DuckDBPyConnection, path: Path) -> None:
        from etl.present.dashboard import write_dashboard  # Plotly only when a page is asked for

        write_dashboard(con, path)


def metrics_output(config: Config) -> MetricsOutput:
    """Return where the config sends a run's metrics: `output.metrics`, and
    `output.pushgateway` with its deadline (`output.pushgateway_timeout_s`)."""
    from etl.present.metrics import MetricsOutput
    from etl.present.push import Gateway

    out = config.output
    assert out.metrics is not None
    pushgateway = out.pushgateway
    gateway = None if pushgateway is None else Gateway(pushgateway, out.pushgateway_timeout_s)
    return MetricsOutput(out.metrics, gateway, config.writer)


def run_sync(
    config: Config,
    on_done: Callable[[TargetResult], None] = lambda result: None,
    accept_removals: bool = False,
    on_targets: Callable[[int], None] = lambda count: None,
) -> SyncOutcome:
    """Run one sync of the config with its reports and return its outcome
    (`etl.run.sync.run_sync`); `on_targets` hears how many targets it has, `on_done` each
    target's result."""
    return sync.run_sync(
        config.endpoints,
        config.crawl,
        config.output,
        PresentedReports(config),
        writer=config.writer,
        source=str(config.source),
        hooks=sync.Hooks(on_targets, on_done),
        accept_removals=accept_removals,
    )


def load_lake(config: Config, store: LakeStore) -> list[str]:
    """Load the committed lake runs the database lacks from `store`, then refresh the copy and
    the page (`etl.run.sync.load_lake`); return the run ids."""
    reports = PresentedReports(config)
    return sync.load_lake(
        config.output, store, reports, writer=config.writer, source=str(config.source)
    )
