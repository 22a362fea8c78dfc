"""What the operator sees of a sync: a progress bar on a terminal (log lines elsewhere) while it
runs, and its summary when it ends."""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import click
import orjson

from etl.present.text import printable
from etl.results import TargetResult
from etl.status import TargetStatus

if TYPE_CHECKING:
    from etl.results import SyncOutcome

log = logging.getLogger("etl.present.progress")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, for log collectors."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            **getattr(record, "fields", {}),
        }
        return orjson.dumps(entry).decode()


class UtcFormatter(logging.Formatter):
    """Text log lines stamped in UTC with the zone (`2026-12-03T13:00:00Z`), as the JSON logs
    and every time the tool shows: a cron log read on another machine means the same."""

    converter = time.gmtime  # type: ignore[assignment]
    default_time_format = "%Y-%m-%dT%H:%M:%SZ"
    default_msec_format = None


class PrintableLines(logging.Filter):
    """Escapes control characters in a text log line's message: registry text in it (a tag,
    an error message) can neither hide nor forge nor restyle lines. JSON logs escape them
    anyway."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = printable(record.getMessage()), None
        return True


def setup_logging(log_format: str = "text", verbose: bool = False, quiet: bool = False) -> None:
    """Send the `etl` loggers to stderr as text lines or JSON objects: failures and warnings
    (quiet: errors only); with `verbose`, a line per repository and per retry too."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(UtcFormatter("%(asctime)s %(levelname)s %(message)s"))
        handler.addFilter(PrintableLines())
    root = logging.getLogger("etl")
    root.handlers[:] = [handler]
    root.setLevel(logging.DEBUG if verbose else logging.ERROR if quiet else logging.INFO)
    root.propagate = False


def result_fields(result: TargetResult) -> dict[str, object]:
    """Return the loggable facts of a finished target (never a credential)."""
    error = result.error
    return {
        "target": str(result.target),
        "status": result.status,
        "tags": result.tags,
        "pages": result.stats.pages,
        "requests": result.stats.requests,
        "retries": result.stats.retries,
        "http_status": error.status if error else None,
        "error_code": error.error_code if error else None,
        "request_id": error.request_id if error else None,
    }


def log_result(result: TargetResult) -> None:
    """Log one finished target as a line (and as fields, for JSON logs)."""
    facts = result_fields(result)
    if result.status == TargetStatus.OK:
        stats = result.stats
        message = (
            f"{result.target} ok: {result.tags} tags, "
            f"{stats.requests} requests, {stats.retries} retries"
        )
    else:
        message = f"{result.target} {result.status}: {result.error}"
    # A repository that synced is a debug line (-v): a cron log holds what needs a look.
    level = logging.DEBUG if result.status == TargetStatus.OK else logging.WARNING
    log.log(level, message, extra={"fields": facts})


@dataclass
class Reporter:
    """What a sync tells the operator as it goes: how many targets discovery found, and each
    finished target."""

    done: Callable[[TargetResult], None]
    total: Callable[[int], None] = lambda count: None


@contextmanager
def progress_reporter(show_bar: bool) -> Iterator[Reporter]:
    """Yield the sync's reporter: a live bar on a terminal, else log lines.

    While the bar is live, the `etl` log lines go through the bar's own console, so each is
    printed above the bar, never into it; the handlers are put back afterwards.
    """
    if not show_bar:
        yield Reporter(log_result)
        return
    from rich.logging import RichHandler  # a sync from cron shows no bar and needs no rich

    counters = {"tags": 0, "requests": 0, "retries": 0, "errors": 0}
    with live_bar() as bar:
        task = bar.add_task("sync", total=None, summary="finding repositories")
        root = logging.getLogger("etl")
        saved = root.handlers[:]
        handler = RichHandler(console=bar.console, show_path=False, markup=False)
        handler.setLevel(min((h.level for h in saved), default=logging.INFO))
        handler.addFilter(PrintableLines())
        root.handlers[:] = [handler]

        def advance(result: TargetResult) -> None:
            counters["tags"] += result.tags
            counters["requests"] += result.stats.requests
            counters["retries"] += result.stats.retries
            counters["errors"] += result.status == TargetStatus.FAILED
            summary = "tags {tags}  requests {requests}  retries {retries}  errors {errors}".format(
                **counters
            )
            bar.update(task, advance=1, summary=summary)
            if result.status != TargetStatus.OK:
                log.warning("%s %s: %s", result.target, result.status, result.error)

        try:
            yield Reporter(advance, lambda count: bar.update(task, total=count, summary=""))
        finally:
            root.handlers[:] = saved


def live_bar() -> Any:
    """Return the sync's progress bar (a rich Progress on stderr, gone when it ends)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    columns = (
        TextColumn("[bold]sync"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.fields[summary]}"),
        TimeElapsedColumn(),
        TextColumn("left"),
        TimeRemainingColumn(),
    )
    return Progress(*columns, console=Console(stderr=True), transient=True)


def print_sync_summary(outcome: SyncOutcome, as_json: bool = False) -> None:
    """Print the end-of-run summary (text, or one JSON object), with what the run caught up
    and which discovery lists failed."""
    from etl.present.summary import print_run_summary

    print_run_summary(outcome.summary, as_json)
    if as_json:
        return
    if outcome.caught_up:
        click.echo(f"loaded {len(outcome.caught_up)} earlier run(s) the warehouse had missed")
    for error in outcome.list_failures:
        click.echo(f"  discovery failed: {printable(str(error))}")
