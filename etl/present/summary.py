"""The end-of-run summary as people and log collectors get it: per endpoint, what changed, the
slowest targets, the failures, how long it took and where the run went — one screen whatever
the number of repositories, as text or as one JSON object. Read from the warehouse by
`etl.store.summaries`."""

from __future__ import annotations

import click
import orjson

from etl.present.formats import human_bytes
from etl.present.text import printable
from etl.results import RunSummary


def print_run_summary(summary: RunSummary, as_json: bool = False) -> None:
    """Print a run's summary: a few lines of text, or one JSON object."""
    if as_json:
        click.echo(orjson.dumps({"summary": summary.as_json()}, default=str).decode())
        return
    for line in summary_lines(summary):
        click.echo(printable(line))


def summary_lines(s: RunSummary) -> list[str]:
    """Return the text of a run's summary, one screen at most."""
    t = s.totals
    lines = [
        f"run {s.run_id}: {s.status} - {t.ok:,} ok, {t.not_found:,} not found, "
        f"{t.failed:,} failed of {t.targets:,} targets; {t.tags:,} tags, "
        f"{t.requests:,} requests and {t.retries:,} retries (discovery's lists included), "
        f"{t.warnings:,} warnings",
        f"  took {s.duration_s:.1f} s" + (f" ({s.tags_per_s:,} tags/s)" if s.tags_per_s else ""),
    ]
    for e in s.endpoints:
        lines.append(
            f"  endpoint {e.endpoint}: {e.ok:,} ok, {e.not_found:,} not found, "
            f"{e.failed:,} failed; {e.tags:,} tags, {e.requests:,} tag-list requests, "
            f"{e.retries:,} retries, {e.warnings:,} warnings"
        )
    if s.changes:
        kinds = ", ".join(f"{n:,} {k}" for k, n in s.changes.items())
        lines.append(
            f"  changed since the previous run: {kinds}; {human_bytes(s.bytes_added)} "
            f"added, {human_bytes(s.bytes_freed)} freed"
        )
    slowest = "; ".join(f"{x.target} {x.duration_s:.1f} s" for x in s.slowest[:3])
    if slowest:
        lines.append(f"  slowest: {slowest}")
    for f in s.failures:
        detail = " ".join(str(v) for v in (f.http_status, f.error_code) if v is not None)
        request = f" (request id {f.request_id})" if f.request_id else ""
        lines.append(f"  failed   {f.target}: {detail} {f.error_message}{request}".rstrip())
    if t.failed > len(s.failures):
        lines.append(f"  … and {t.failed - len(s.failures)} more failed (see target_runs)")
    places = "; ".join(f"{k} {v}" for k, v in s.places.items())
    lines.append(f"  written to: {places}")
    return lines
