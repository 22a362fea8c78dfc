"""Summaries of runs and of the warehouse: pure functions return rows; `print_*` own the console."""

from __future__ import annotations

from dataclasses import dataclass

import click
import duckdb

from etl.sync import SyncOutcome


@dataclass(frozen=True)
class Totals:
    """What the warehouse holds now."""

    runs: int
    targets: int
    tags: int
    total_size: int
    unique_size: int


def summarise_warehouse(con: duckdb.DuckDBPyConnection) -> Totals:
    """Return the warehouse's totals (the `warehouse_totals` view)."""
    runs, repositories, tags, total, unique = con.execute(
        "SELECT * FROM warehouse_totals"
    ).fetchall()[0]
    return Totals(int(runs), int(repositories), int(tags), int(total), int(unique))


def human_bytes(size: int) -> str:
    """Return a size like 1.5 GiB."""
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(value) < 1024 or unit == "EiB":
            return f"{value:.1f} {unit}" if unit != "B" else f"{int(value)} B"
        value /= 1024
    return f"{value:.1f} EiB"


def print_sync_summary(outcome: SyncOutcome) -> None:
    """Print the one-screen summary of a finished sync."""
    run = outcome.run
    click.echo(
        f"run {outcome.run_id}: {run['status']} - {run['ok']} ok, {run['not_found']} not found, "
        f"{run['failed']} failed of {run['targets']} targets; {run['tags']} tags, "
        f"{run['requests']} requests, {run['retries']} retries, {run['warnings']} warnings"
    )
    if outcome.caught_up:
        click.echo(f"loaded {len(outcome.caught_up)} earlier run(s) the warehouse had missed")
    for result in outcome.results:
        if result.status != "ok":
            click.echo(f"  {result.status:<9} {result.target}: {result.error}")


def print_totals(totals: Totals) -> None:
    """Print the warehouse totals in a few lines."""
    click.echo(
        f"warehouse: {totals.runs} runs; now {totals.tags} tags in {totals.targets} repositories, "
        f"{human_bytes(totals.total_size)} referenced, {human_bytes(totals.unique_size)} unique"
    )
