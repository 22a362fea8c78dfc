"""The end-of-run summary: per endpoint, what changed, the slowest targets, the failures, how
long it took and where the run went — built from the run record and the views after the load
(not from counters kept on the side), one screen whatever the number of repositories. Printed
as text, or as one JSON object for log collectors."""

from __future__ import annotations

from typing import Any

import click
import duckdb
import orjson

from etl.present.formats import human_bytes
from etl.present.text import printable
from etl.store.warehouse import named_params, sql

TOTALS = ("targets", "ok", "not_found", "failed", "tags", "requests", "retries", "warnings")


def records(con: duckdb.DuckDBPyConnection, name: str, **params: Any) -> list[dict[str, Any]]:
    """Return the rows of `sql/<name>.sql` as dicts."""
    text = sql(name)
    result = con.execute(text, named_params(text, params))
    columns = [d[0] for d in result.description or []]
    return [dict(zip(columns, row, strict=True)) for row in result.fetchall()]


def summarise_run(
    con: duckdb.DuckDBPyConnection, run_id: str, places: dict[str, str]
) -> dict[str, Any]:
    """Return the summary of a loaded run; `places` says where it went (lake, DuckDB, …)."""
    changes = records(con, "summary/changes", run_id=run_id)
    return {
        **bare_summary(run_row(con, run_id), places),
        "endpoints": records(con, "summary/endpoints", run_id=run_id),
        "changes": {c["change"]: c["tags"] for c in changes},
        "bytes_added": sum(int(c["bytes_added"]) for c in changes),
        "bytes_freed": sum(int(c["bytes_freed"]) for c in changes),
        "slowest": records(con, "summary/slowest", run_id=run_id),
        "failures": records(con, "summary/failures", run_id=run_id),
        "current": records(con, "summary/current", run_id=run_id),
    }


def bare_summary(run: dict[str, Any], places: dict[str, str]) -> dict[str, Any]:
    """Return the summary a run's own row gives, when the database cannot be asked."""
    seconds = (run["finished_at"] - run["started_at"]).total_seconds()
    return {
        "run_id": run["run_id"],
        "seq": run["seq"],
        "status": run["status"],
        "started_at": run["started_at"].isoformat(),
        "finished_at": run["finished_at"].isoformat(),
        "duration_s": round(seconds, 3),
        "tags_per_s": round(run["tags"] / seconds) if seconds > 0 else None,
        "totals": {k: run[k] for k in TOTALS},
        "endpoints": [],
        "changes": {},
        "bytes_added": 0,
        "bytes_freed": 0,
        "slowest": [],
        "failures": [],
        "current": [],
        "places": places,
    }


def run_row(con: duckdb.DuckDBPyConnection, run_id: str) -> dict[str, Any]:
    """Return a run's row of `runs` as a dict."""
    result = con.execute("SELECT * FROM runs WHERE run_id = $r", {"r": run_id})
    columns = [d[0] for d in result.description or []]
    return dict(zip(columns, result.fetchall()[0], strict=True))


def print_run_summary(summary: dict[str, Any], as_json: bool = False) -> None:
    """Print a run's summary: a few lines of text, or one JSON object."""
    if as_json:
        click.echo(orjson.dumps({"summary": summary}, default=str).decode())
        return
    for line in summary_lines(summary):
        click.echo(printable(line))


def summary_lines(s: dict[str, Any]) -> list[str]:
    """Return the text of a run's summary, one screen at most."""
    t = s["totals"]
    lines = [
        f"run {s['run_id']}: {s['status']} - {t['ok']:,} ok, {t['not_found']:,} not found, "
        f"{t['failed']:,} failed of {t['targets']:,} targets; {t['tags']:,} tags, "
        f"{t['requests']:,} requests and {t['retries']:,} retries (discovery's lists included), "
        f"{t['warnings']:,} warnings",
        f"  took {s['duration_s']:.1f} s"
        + (f" ({s['tags_per_s']:,} tags/s)" if s["tags_per_s"] else ""),
    ]
    for e in s["endpoints"]:
        lines.append(
            f"  endpoint {e['endpoint']}: {e['ok']:,} ok, {e['not_found']:,} not found, "
            f"{e['failed']:,} failed; {e['tags']:,} tags, {e['requests']:,} tag-list requests, "
            f"{e['retries']:,} retries, {e['warnings']:,} warnings"
        )
    if s["changes"]:
        kinds = ", ".join(f"{n:,} {k}" for k, n in s["changes"].items())
        lines.append(
            f"  changed since the previous run: {kinds}; {human_bytes(s['bytes_added'])} "
            f"added, {human_bytes(s['bytes_freed'])} freed"
        )
    slowest = "; ".join(f"{x['target']} {x['duration_s']:.1f} s" for x in s["slowest"][:3])
    if slowest:
        lines.append(f"  slowest: {slowest}")
    failures = s["failures"]
    for f in failures:
        detail = " ".join(str(v) for v in (f["http_status"], f["error_code"]) if v is not None)
        request = f" (request id {f['request_id']})" if f["request_id"] else ""
        lines.append(f"  failed   {f['target']}: {detail} {f['error_message']}{request}".rstrip())
    if t["failed"] > len(failures):
        lines.append(f"  … and {t['failed'] - len(failures)} more failed (see target_runs)")
    places = "; ".join(f"{k} {v}" for k, v in s["places"].items())
    lines.append(f"  written to: {places}")
    return lines
