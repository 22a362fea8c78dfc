"""`swr-etl fake-server`: the local SWR API from a terminal, for trying the tool by hand and
for the benchmark. The local API itself (`etl.fakeswr`) is imported only when it starts."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import TYPE_CHECKING

import click

from etl.errors import UsageError, os_reason

if TYPE_CHECKING:
    from etl.fakeswr import Options, Registry

COUNT = click.IntRange(min=0)


@click.command("fake-server")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=8080,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port (0 picks a free one).",
)
@click.option(
    "--repos", default=200, show_default=True, type=COUNT, help="Repositories to generate."
)
@click.option("--tags", type=COUNT, default=None, help="Total tags (default ~40 per repository).")
@click.option(
    "--seed", default=1, show_default=True, type=COUNT, help="Seed of the generated registry."
)
@click.option(
    "--latency-ms",
    default=0.0,
    show_default=True,
    type=click.FloatRange(min=0),
    help="Added latency per request.",
)
@click.option(
    "--fault-rate",
    default=0.0,
    show_default=True,
    type=click.FloatRange(0, 1),
    help="Share of requests that fail.",
)
@click.option(
    "--token-ttl",
    default=86400.0,
    show_default=True,
    type=click.FloatRange(min=0, min_open=True),
    help="IAM token lifetime, s.",
)
@click.option("--manifests/--no-manifests", default=True, help="Generate manifest documents.")
@click.option(
    "--api",
    type=click.Choice(["both", "v3", "v2"]),
    default="both",
    show_default=True,
    help="Which list APIs to serve; the other's paths answer APIGW.0101 (a v2-only region).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print the URL and credentials as one JSON line."
)
def fake_server(
    host: str,
    port: int,
    repos: int,
    tags: int | None,
    seed: int,
    latency_ms: float,
    fault_rate: float,
    token_ttl: float,
    manifests: bool,
    api: str,
    as_json: bool,
) -> None:
    """Serve a generated registry through the local SWR API until interrupted.

    POST /_fake/next-day?churn=0.01 advances the registry by a day, POST
    /_fake/next-hour?share=0.1 by an hour (for benchmarks; etl/fakeswr/admin.py has the rest).
    """
    from etl.fakeswr import FaultPlan, Options, generate_registry

    registry = generate_registry(repos=repos, tags=tags, seed=seed, manifests=manifests)
    options = Options(
        token_ttl_s=token_ttl,
        latency_ms=latency_ms,
        faults=FaultPlan(rate=fault_rate, seed=seed),
        api=api,
    )

    try:
        asyncio.run(serve_forever(registry, options, host, port, as_json))
    except KeyboardInterrupt:
        pass


async def serve_forever(
    registry: Registry, options: Options, host: str, port: int, as_json: bool
) -> None:
    """Serve `registry` on host:port until cancelled, after printing where and how to log in."""
    from etl.fakeswr import start, stop

    try:
        server = await start(registry, options=options, host=host, port=port)
    except OSError as exc:  # the port is taken, the host is not this machine's
        raise UsageError(f"fake-server cannot listen on {host}:{port}: {os_reason(exc)}") from None
    creds = server.credentials
    if as_json:
        click.echo(json.dumps({"url": server.url, "tags": registry.tag_count(), **vars(creds)}))
        sys.stdout.flush()
        await asyncio.Event().wait()
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
