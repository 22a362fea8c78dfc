"""`swr-etl plan`: what a sync would fetch and write, checked with one request per endpoint."""

from __future__ import annotations

import click

from etl.config import Config
from etl.errors import ApiError, NotFoundError
from etl.swr.auth import Auth
from etl.swr.client import RetryPolicy, client_for
from etl.swr.lists import tag_list


async def check_endpoint(config: Config, name: str, auth: Auth) -> ApiError | None:
    """Return None if the endpoint accepts our credentials (one 1-tag request), else the error."""
    endpoint = config.endpoint(name)
    target = next(t for t in config.targets() if t.endpoint == name)
    client = client_for(
        endpoint, config.crawl, auth, retry=RetryPolicy(max_attempts=2, base_delay_s=0.2)
    )
    listing = tag_list(target.namespace, target.repository, page_size=1)
    try:
        async with client:
            await client.get_json(
                listing.path, list(listing.query), target=target.path, decode=listing.decode
            )
    except NotFoundError:
        return None  # the credentials passed; the repository itself is missing
    except ApiError as exc:
        return exc
    return None


async def check_endpoints(config: Config, auths: dict[str, Auth]) -> dict[str, ApiError | None]:
    """Return each endpoint's check result, by endpoint name."""
    return {name: await check_endpoint(config, name, auth) for name, auth in auths.items()}


def print_plan(config: Config, checks: dict[str, ApiError | None]) -> None:
    """Print the endpoints with their check, the targets, the crawl settings and the outputs."""
    crawl = config.crawl
    click.echo(f"config {config.source}")
    for endpoint in config.endpoints:
        error = checks.get(endpoint.name)
        verdict = "credentials accepted" if error is None else f"FAILED: {error}"
        click.echo(
            f"endpoint {endpoint.name} {endpoint.url} (auth {endpoint.auth.type}): {verdict}"
        )
        for target in (t for t in config.targets() if t.endpoint == endpoint.name):
            suffix = f" (tags matching {target.tag!r})" if target.tag else ""
            click.echo(f"  {target.namespace}/{target.repository}{suffix}")
    click.echo(
        f"crawl: {len(config.targets())} repositories, page size {crawl.page_size}, "
        f"{crawl.concurrency} requests in flight, {crawl.requests_per_second:g} requests/s per "
        f"endpoint, manifests {'on' if crawl.with_manifest else 'off'}"
    )
    click.echo(f"lake:   {config.output.lake}")
    click.echo(f"duckdb: {config.output.duckdb}")
