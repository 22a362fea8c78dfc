"""The `swr-etl` command line. EtlError becomes one line on stderr and an exit code, here only."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click

from etl import __version__
from etl.errors import EtlError

F = TypeVar("F", bound=Callable[..., Any])


def one_line_errors(command: F) -> F:
    """Turn an EtlError raised by a command into `error: ...` on stderr and its exit code."""

    @wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except EtlError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(exc.exit_code)

    return wrapper  # type: ignore[return-value]


@click.group()
@click.version_option(__version__, prog_name="swr-etl")
def cli() -> None:
    """Sync Huawei Cloud SWR image tags into a Parquet lake and a DuckDB database."""


@cli.command("fake-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8080, show_default=True, help="Port (0 picks a free one).")
@click.option("--repos", default=200, show_default=True, help="Repositories to generate.")
@click.option("--tags", type=int, default=None, help="Total tags (default ~40 per repository).")
@click.option("--seed", default=1, show_default=True, help="Seed of the generated registry.")
@click.option("--latency-ms", default=0.0, show_default=True, help="Added latency per request.")
@click.option("--fault-rate", default=0.0, show_default=True, help="Share of requests that fail.")
@click.option("--token-ttl", default=86400.0, show_default=True, help="IAM token lifetime, s.")
@one_line_errors
def fake_server(
    host: str,
    port: int,
    repos: int,
    tags: int | None,
    seed: int,
    latency_ms: float,
    fault_rate: float,
    token_ttl: float,
) -> None:
    """Serve a generated registry through the local SWR API until interrupted."""
    from etl.fakeswr import FaultPlan, Options, generate_registry, start, stop

    registry = generate_registry(repos=repos, tags=tags, seed=seed)
    options = Options(
        token_ttl_s=token_ttl, latency_ms=latency_ms, faults=FaultPlan(rate=fault_rate, seed=seed)
    )

    async def serve_forever() -> None:
        server = await start(registry, options=options, host=host, port=port)
        creds = server.credentials
        click.echo(f"local SWR API on {server.url} ({registry.tag_count()} tags)")
        click.echo(f"  token:    {creds.token}")
        click.echo(f"  password: domain={creds.domain} user={creds.user} password={creds.password}")
        click.echo(f"            project={creds.project_name} iam_url={server.url}")
        click.echo(f"  aksk:     ak={creds.ak} sk={creds.sk} project_id={creds.project_id}")
        click.echo("  (local, throw-away credentials; Ctrl-C stops)", err=True)
        try:
            await asyncio.Event().wait()
        finally:
            await stop(server)

    try:
        asyncio.run(serve_forever())
    except KeyboardInterrupt:
        pass


def main() -> None:
    """Console-script entry point."""
    cli()
