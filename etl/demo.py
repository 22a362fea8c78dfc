"""`swr-etl demo`: a local SWR API, two syncs a day apart, and what changed in between."""

from __future__ import annotations

import os
import shutil
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import yaml

from etl.config_file import load_config
from etl.errors import Refused, StorageError, os_reason
from etl.fakeswr import FaultPlan, Options, ServerThread, generate_registry, next_day
from etl.job import run_sync
from etl.present.defaults import STALE_DAYS
from etl.present.formats import print_sections
from etl.present.progress import print_sync_summary
from etl.present.report import diff_runs, section_from, summarise_diff, summarise_report
from etl.store import warehouse

TOKEN_VAR = "SWR_DEMO_TOKEN"
DEMO_TOP = 5  # the demo's tables fit a screen beside its two summaries


def demo_config(url: str) -> dict[str, object]:
    """Return a config (as YAML data) that syncs every repository the local API lists, but the
    mirrors: discovery finds them, each run."""
    return {
        "endpoints": [
            {
                "name": "local",
                "url": url,
                # The token comes from the environment, so the file holds no secret.
                "auth": {"type": "token", "token": f"${{{TOKEN_VAR}:-demo-server-has-stopped}}"},
                "targets": [{"namespace": "*", "repositories": ["*"], "exclude": ["*/mirror/*"]}],
            }
        ],
        "crawl": {
            "concurrency": 16,
            "requests_per_second": 500,
            "page_size": 100,
            "with_manifest": True,
        },
        "output": {"lake": "./lake", "duckdb": "./swr.duckdb", "dashboard": "./dashboard.html"},
    }


MARK = ".swr-etl-demo"  # what tells a folder the demo made (and may remake) from any other


def claim_folder(directory: Path) -> None:
    """Make `directory` the demo's: a new or empty folder, or one an earlier demo made. Raises
    Refused for a folder holding anything else: the demo replaces what it finds."""
    if directory.exists() and not directory.is_dir():
        raise Refused(f"demo --dir {directory}: that is a file, not a folder")
    if directory.is_dir() and any(directory.iterdir()) and not (directory / MARK).exists():
        raise Refused(
            f"demo --dir {directory}: the folder holds files the demo did not create, and the "
            "demo replaces its lake, swr.duckdb and config.yaml; give a new or empty folder"
        )
    directory.mkdir(parents=True, exist_ok=True)
    (directory / MARK).write_text("made by swr-etl demo; it may replace this folder's files\n")


def write_config(path: Path, config: dict[str, object]) -> None:
    """Write the demo's config to `path`; StorageError naming it if the disk refuses."""
    try:
        path.write_text(yaml.safe_dump(config, sort_keys=False))
    except OSError as exc:
        raise StorageError(f"cannot write the demo's config {path}: {os_reason(exc)}") from None


def invoked_as() -> str:
    """Return the command as it was run (`.venv/bin/swr-etl`, `swr-etl`, `python -m etl`),
    for hints a reader can paste."""
    program = Path(sys.argv[0])
    if program.name == "__main__.py":
        return f"{Path(sys.executable).name} -m etl"
    if program.name != "swr-etl" or not program.is_absolute():
        return str(program) if program.name == "swr-etl" else "swr-etl"
    on_path = shutil.which("swr-etl")
    return "swr-etl" if on_path and Path(on_path) == program else os.path.relpath(program)


def print_what_changed(db_path: Path) -> None:
    """Print the report, then what changed between the demo's two syncs and the most pulled."""
    with warehouse.connect(db_path, read_only=True) as con:
        click.echo("")
        print_sections(summarise_report(con, top=DEMO_TOP), "table")
        old, new = diff_runs(con, None, None)
        repositories = summarise_diff(con, old, new)[2]
        title = "Changes between the two syncs"
        changes = section_from(
            con, "changes/kinds", name="changes", title=title, f=old.seq, t=new.seq
        )
        pulls = section_from(
            con,
            "pulls/between_syncs",
            name="pulls",
            title="Most pulled between the two syncs",
            top=DEMO_TOP,
        )
    print_sections([changes, repositories, pulls], "table")


def run_demo(directory: Path, repos: int = 300, seed: int = 1) -> None:
    """Run the demo in `directory` (new, empty, or an earlier demo's), leaving its config, lake
    and DuckDB file there."""
    try:
        claim_folder(directory)
        for leftover in ("lake", "swr.duckdb", "swr.duckdb.wal", "dashboard.html"):
            path = directory / leftover
            shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    except OSError as exc:  # a full disk, a read-only one: the folder's, said as storage is
        raise StorageError(
            f"cannot write the demo's folder {directory}: {os_reason(exc)}"
        ) from None
    # Yesterday's registry, so that the second sync sees today's pushes at today's date.
    yesterday = datetime.now(UTC) - timedelta(days=1)
    registry = generate_registry(repos=repos, seed=seed, edge_sizes=False, now=yesterday)
    click.echo(
        f"local SWR API: {len(registry.repositories)} repositories, {registry.tag_count()} tags"
    )
    # A few transient faults, so the summaries show retries doing their work.
    faults = FaultPlan(
        rate=0.03, seed=seed, kinds=("500", "429_retry_after", "reset"), retry_after_s=0.2
    )
    with ServerThread(registry, options=Options(faults=faults)) as fake:
        config_path = directory / "config.yaml"
        write_config(config_path, demo_config(fake.url))
        os.environ[TOKEN_VAR] = fake.credentials.token
        try:
            config = load_config(config_path)
            click.echo("\nday 1: first sync")
            print_sync_summary(run_sync(config))
            fake.serve(next_day(registry))
            click.echo(
                "\nday 2: tags pushed, deleted, moved and re-pushed, repositories deleted and "
                "created overnight; second sync"
            )
            print_sync_summary(run_sync(config))
        finally:
            os.environ.pop(TOKEN_VAR, None)
    print_what_changed(config.output.duckdb)
    click.echo(
        "(two syncs a minute apart are too short for 'Never pulled, never pushed': after 30 "
        "days of syncs, the report lists the repositories whose pull counter stood still)"
    )
    click.echo(f"the dashboard: {config.output.dashboard} (open it in a browser)")
    click.echo(f"left in {directory}: config.yaml, lake/, swr.duckdb, dashboard.html. Try:")
    command = invoked_as()
    click.echo(f"  {command} report -c {config_path}")
    click.echo(f"  {command} diff -c {config_path}")
    example = f"stale_tags({STALE_DAYS}) LIMIT 5"  # a query for the reader to paste
    click.echo(f'  {command} query -c {config_path} "SELECT * FROM {example}"')
