"""The `swr-etl` command line. Every failure of every command becomes one line on stderr and an
exit code in the command group, and there only (`etl.cli.errors`)."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import sys
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING

import click

from etl import __version__
from etl.cli.cleanup import cleanup
from etl.cli.errors import (
    OneLineErrors,
    exit_code,
    flushed,
    show_tracebacks,
    tracebacks_shown,
    verbose_option,
)
from etl.cli.fake import fake_server
from etl.cli.options import TextFile, config_option, format_option
from etl.cli.thin import thin
from etl.config import Config
from etl.config_file import load_config
from etl.errors import raise_interrupted
from etl.present.defaults import STALE_DAYS, TOP, UNPULLED_DAYS

if TYPE_CHECKING:
    import duckdb


@click.group(cls=OneLineErrors)
@click.version_option(__version__, prog_name="swr-etl")
@verbose_option
def cli() -> None:
    """Sync Huawei Cloud SWR image tags into a Parquet lake and a DuckDB database.

    Every failure is one `error:` line on stderr and an exit code (docs/production.md, "Exit
    codes"); an unexpected one, a bug, exits 70 and shows its traceback under `swr-etl -v CMD`.
    """


@cli.command()
@config_option
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="Log lines as text or one JSON object per line.",
)
@click.option(
    "--progress/--no-progress", default=None, help="Progress bar (default: on a terminal)."
)
@click.option(
    "-v",
    "--verbose",
    is_flag=True,
    help="Also log each repository and each retry (debug lines), and a bug's traceback.",
)
@click.option(
    "-q", "--quiet", is_flag=True, help="Print the summary alone: no warnings, only errors."
)
@click.option(
    "--accept-removals",
    is_flag=True,
    help="Commit this run even if it removes more than crawl.max_removed_share of an "
    "endpoint's tags.",
)
def sync(
    config_path: Path,
    log_format: str,
    progress: bool | None,
    verbose: bool,
    quiet: bool,
    accept_removals: bool,
) -> None:
    """Crawl every configured repository and commit one snapshot to the lake and DuckDB.

    Exit codes: 0 all targets synced, 1 some failed (the rest committed), 2 usage or config
    error, 3 nothing could be synced, 4 the lake or DuckDB could not be written (the message
    says what is committed where), 70 a bug (`-v` shows its traceback), 75 another sync holds
    the lock.
    """
    from etl.job import run_sync
    from etl.present.progress import print_sync_summary, progress_reporter, setup_logging

    if verbose:
        show_tracebacks()
    config = load_config(config_path)
    setup_logging(log_format, verbose or tracebacks_shown(), quiet)
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, raise_interrupted)
    show_bar = sys.stderr.isatty() if progress is None else progress
    with progress_reporter(show_bar and log_format == "text") as report:
        outcome = run_sync(config, report.done, accept_removals, report.total)
    print_sync_summary(outcome, as_json=log_format == "json")
    sys.exit(outcome.exit_code)


@cli.command()
@config_option
def plan(config_path: Path) -> None:
    """Validate the config, check each endpoint's credentials, show what a sync would do.

    Sends one small request per endpoint, and the organization and repository lists that
    patterns need (what each target resolves to is listed); writes nothing.
    """
    from etl.cli.plan import print_plan
    from etl.run.plan import check_unloaded_runs, known_scope, plan_endpoints
    from etl.run.start import checked_before_run
    from etl.store.storage import store_for

    config = load_config(config_path)
    out, source, store = config.output, str(config.source), store_for(config.output)
    auths = checked_before_run(
        config.endpoints, config.crawl.timeout_s, out, store, source, probe_write=False
    )
    known = known_scope(out.duckdb, config.writer)
    check_unloaded_runs(store, known.loaded)  # a run a sync would refuse: exit 4 here too
    plans = asyncio.run(plan_endpoints(config.endpoints, config.crawl, auths, known))
    print_plan(config, plans, known)
    if any(plan.error is not None or plan.unknown for plan in plans):
        sys.exit(1)


def reading(config: Config) -> AbstractContextManager[duckdb.DuckDBPyConnection]:
    """The warehouse for a reader command, or its read-only copy while the file is held."""
    from etl.store.warehouse import reading as open_for_reading

    out = config.output
    return open_for_reading(out.duckdb, out.readonly_copy, lambda m: click.echo(m, err=True))


DAYS = click.IntRange(0, 36_500)  # a century: SWR is younger; beyond, a typo


@cli.command()
@config_option
@format_option
@click.option(
    "--top",
    default=TOP,
    show_default=True,
    type=click.IntRange(1, 1_000_000),
    help="How many namespaces/repositories.",
)
@click.option(
    "--stale-days",
    default=STALE_DAYS,
    show_default=True,
    type=DAYS,
    help="Not pushed for this long is stale.",
)
@click.option(
    "--unpulled-days",
    default=UNPULLED_DAYS,
    show_default=True,
    type=DAYS,
    help="Neither pulled nor pushed for this long is a cleanup candidate.",
)
def report(config_path: Path, fmt: str, top: int, stale_days: int, unpulled_days: int) -> None:
    """One-screen overview: totals, biggest namespaces and repositories, ages, stale bytes, runs."""
    from etl.present.formats import print_sections
    from etl.present.report import summarise_report

    config = load_config(config_path, secrets_needed=False, lake_secrets_needed=False)
    with reading(config) as con:
        sections = summarise_report(con, top, stale_days, unpulled_days)
    print_sections(sections, fmt)


@cli.command()
@config_option
@click.option(
    "--from",
    "from_ref",
    help="Run id, date (its last run, UTC) or instant (the last run at or before it) to "
    "compare from [default: the run before --to].",
)
@click.option(
    "--to",
    "to_ref",
    help="Run id, date or instant to compare to [default: the latest run].",
)
@format_option
def diff(config_path: Path, from_ref: str | None, to_ref: str | None, fmt: str) -> None:
    """What changed between two runs: + added, - removed, ~ moved to another digest, * re-pushed,
    ! modified, x untracked (left the configured scope).

    It is tag_changes of the runs in between, netted per tag: the same kinds and the same
    baseline rule, so a repository that failed in between shows no false removals and one new
    to the config is a baseline, not additions.
    """
    from etl.present.formats import print_sections
    from etl.present.report import diff_runs, print_diff_plan, summarise_diff

    config = load_config(config_path, secrets_needed=False, lake_secrets_needed=False)
    with reading(config) as con:
        old, new = diff_runs(con, from_ref, to_ref)
        sections = summarise_diff(con, old, new)
    if fmt == "table":
        print_diff_plan(old, new, sections)
    else:
        extra = {
            "from": {"run_id": old.run_id, "seq": old.seq},
            "to": {"run_id": new.run_id, "seq": new.seq},
        }
        print_sections(sections if fmt != "csv" else sections[1:], fmt, extra)


@cli.command()
@config_option
@click.argument("sql", required=False)
@click.option(
    "-f", "--file", "sql_file", type=TextFile(), help="Read the SQL from a file (-: stdin)."
)
@format_option
def query(config_path: Path, sql: str | None, sql_file: str | None, fmt: str) -> None:
    """Run SQL against the DuckDB file, read-only, and print the result."""
    import duckdb

    from etl.errors import QueryError
    from etl.present.formats import Section, print_sections, refuse_repeated_columns
    from etl.store.queries import answer

    if (sql is None) == (sql_file is None):
        raise QueryError("give the SQL as an argument or with -f FILE, not both")
    text = sql if sql is not None else sql_file or ""
    if not text.strip():
        raise QueryError("the SQL is empty: give a query, e.g. 'SELECT * FROM repo_summary'")
    config = load_config(config_path, secrets_needed=False, lake_secrets_needed=False)
    with reading(config) as con:
        try:
            if not con.extract_statements(text):
                raise QueryError(
                    "the SQL holds no statement (only comments or ';'): give a query, e.g. "
                    "'SELECT * FROM repo_summary'"
                )
            found = answer(con, text)
        except duckdb.Error as exc:
            # DuckDB's whole message: its hints ("Did you mean …") and caret are the help.
            reason = str(exc).rstrip()
            if isinstance(exc, duckdb.PermissionException) or any(
                sign in reason for sign in ("read-only mode", "configuration has been locked")
            ):
                reason = f"refused: query only reads the database ({reason.splitlines()[0]})"
            raise QueryError(reason) from None
    if fmt == "json":
        refuse_repeated_columns(found.columns)
    print_sections([Section(found.columns, found.rows, name="rows")], fmt)


@cli.command()
@config_option
@click.option(
    "--out",
    "out_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Where to write the page [default: output.dashboard, else ./swr-dashboard.html].",
)
def dashboard(config_path: Path, out_path: Path | None) -> None:
    """Write the dashboard: one self-contained HTML file (no server, no network) of where
    storage goes, how it grows, what is stale, what changed, and pulls."""
    from etl.errors import StorageError, os_reason
    from etl.present.dashboard import write_dashboard

    config = load_config(config_path, secrets_needed=False, lake_secrets_needed=False)
    target = out_path or config.output.dashboard or Path("swr-dashboard.html")
    with reading(config) as con:
        try:
            write_dashboard(con, target)
        except OSError as exc:
            raise StorageError(f"cannot write the dashboard {target}: {os_reason(exc)}") from None
    click.echo(f"wrote {target}")


@cli.command()
@config_option
@click.option(
    "--force",
    is_flag=True,
    help="Rebuild even if the lake holds fewer committed runs than the database.",
)
def rebuild(config_path: Path, force: bool) -> None:
    """Recreate the DuckDB file by replaying the lake's committed runs in order.

    Refuses (exit 2) when the lake holds fewer committed runs than the database (an unmounted
    or emptied lake), unless --force.
    """
    from etl.present.progress import setup_logging
    from etl.run.publish import refreshing
    from etl.run.start import output_lock
    from etl.store.loading import rebuild as rebuild_warehouse
    from etl.store.storage import store_for
    from etl.store.warehouse import publish_copy

    setup_logging()  # a copy not refreshed is a warning: the database is rebuilt
    config = load_config(config_path, secrets_needed=False)
    out = config.output
    store = store_for(out)
    store.check_lake("output.lake", str(config.source), probe_write=False)
    with output_lock(out):
        loaded = rebuild_warehouse(out.duckdb, store, force=force)
        if (copy := out.readonly_copy) is not None:
            refreshing("the read-only copy", copy, lambda: publish_copy(out.duckdb, copy))
    click.echo(f"rebuilt {out.duckdb} from {len(loaded)} committed run(s) in {store.url}")


@cli.command()
@config_option
def load(config_path: Path) -> None:
    """Load into DuckDB every committed lake run it lacks, without crawling.

    For one warehouse fed by several writers (each its own config and cron job) that share a
    lake on object storage. Refreshes the read-only copy and the dashboard when it loads.
    """
    from etl.job import load_lake
    from etl.present.progress import setup_logging
    from etl.store.storage import store_for

    setup_logging()  # warnings: runs set aside, repositories synced by two writers
    config = load_config(config_path, secrets_needed=False)
    store = store_for(config.output)
    loaded = load_lake(config, store)
    lake_url = store.url
    if loaded:
        click.echo(f"loaded {len(loaded)} run(s) from {lake_url} into {config.output.duckdb}:")
        for run_id in loaded:
            click.echo(f"  {run_id}")
    else:
        click.echo(f"nothing to load: {config.output.duckdb} has every committed run of {lake_url}")


@cli.command()
@click.option(
    "--dir",
    "directory",
    default="./swr-demo",
    show_default=True,
    type=click.Path(path_type=Path, file_okay=False),
    help="Where the demo leaves its config, lake and DuckDB file.",
)
@click.option(
    "--repos",
    default=300,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Repositories in the demo registry.",
)
@click.option(
    "--seed", default=1, show_default=True, type=click.IntRange(min=0), help="Seed of the registry."
)
def demo(directory: Path, repos: int, seed: int) -> None:
    """Sync a local SWR API twice, a day apart, and show what changed."""
    from etl.demo import run_demo

    run_demo(directory, repos=repos, seed=seed)


cli.add_command(fake_server)
cli.add_command(thin)
cli.add_command(cleanup)


def main() -> None:
    """Console-script entry point."""
    # Before pyarrow is imported: its default allocator (mimalloc) keeps the pages it frees,
    # ~100 MB of RSS at 1M tags; glibc's malloc, trimmed between phases, hands them back.
    os.environ.setdefault("ARROW_DEFAULT_MEMORY_POOL", "system")
    try:
        cli()
        code = 0
    except SystemExit as done:
        code = exit_code(done)
    # Every file is closed by now: skip the interpreter's teardown, tens of milliseconds of
    # freeing what the OS frees anyway, between a run's last request and its exit.
    logging.shutdown()
    os._exit(flushed(code))
