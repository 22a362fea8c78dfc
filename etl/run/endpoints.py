"""A configured endpoint, made ready to talk to: its authentication scheme and its client, and a
run's clients opened together. The one place where the config meets the API side (`etl.swr`
knows nothing of the config)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import Any

import aiohttp

from etl.config import AkSkAuthConfig, CrawlConfig, EndpointConfig, PasswordAuthConfig
from etl.config_file import token_from
from etl.swr.auth import AkSkAuth, Auth, IamCredentials, IamPasswordAuth, TokenAuth
from etl.swr.client import RetryPolicy, SwrClient


def auths_for(endpoints: list[EndpointConfig], timeout_s: float, source: str) -> dict[str, Auth]:
    """Return each endpoint's authentication scheme, by endpoint name (a token file is read
    now; `source`, the config file, names it in an error; `timeout_s` bounds IAM's answer)."""
    return {e.name: auth_for(e, timeout_s, source, i) for i, e in enumerate(endpoints)}


def auth_for(endpoint: EndpointConfig, timeout_s: float, source: str, index: int) -> Auth:
    """Return the authentication scheme an endpoint's config asks for."""
    auth = endpoint.auth
    if isinstance(auth, PasswordAuthConfig):
        iam = IamCredentials(
            auth.iam_url,
            auth.domain,
            auth.user,
            auth.password.get_secret_value(),
            auth.project,
            auth.project_id,
        )
        return IamPasswordAuth(iam, timeout_s=timeout_s)
    if isinstance(auth, AkSkAuthConfig):
        return AkSkAuth(auth.ak.get_secret_value(), auth.sk.get_secret_value(), auth.project_id)
    return TokenAuth(token_from(auth, source, index))


def client_for(
    endpoint: EndpointConfig, crawl: CrawlConfig, auth: Auth, **shared: Any
) -> SwrClient:
    """Return the client of one configured endpoint, bounded as the crawl config says;
    `shared` passes what several clients share (retry policy, in-flight cap, connector)."""
    return SwrClient(
        endpoint.url,
        auth,
        name=endpoint.name,
        requests_per_second=crawl.requests_per_second,
        max_connections=crawl.concurrency,
        timeout_s=crawl.timeout_s,
        verify_tls=endpoint.verify_tls,
        ca_bundle=str(endpoint.ca_bundle) if endpoint.ca_bundle else None,
        max_page_bytes=crawl.max_page_bytes,
        max_pages=crawl.max_pages_per_target,
        **shared,
    )


async def open_clients(
    endpoints: list[EndpointConfig],
    crawl_config: CrawlConfig,
    auths: dict[str, Auth],
    stack: AsyncExitStack,
) -> dict[str, SwrClient]:
    """Open one client per endpoint, closed with `stack`. They share one connection pool,
    one cap on requests in flight and one retry policy: `concurrency` caps connections, not
    only requests, whatever the number of endpoints."""
    in_flight = asyncio.Semaphore(crawl_config.concurrency)
    retry = RetryPolicy(max_attempts=crawl_config.max_attempts)
    connector = aiohttp.TCPConnector(limit=crawl_config.concurrency)
    stack.push_async_callback(connector.close)
    clients = {}
    for endpoint in endpoints:
        client = client_for(
            endpoint,
            crawl_config,
            auths[endpoint.name],
            retry=retry,
            in_flight=in_flight,
            connector=connector,
        )
        clients[endpoint.name] = await stack.enter_async_context(client)
    return clients


def sum_waited(clients: dict[str, SwrClient]) -> float:
    """Return the seconds the clients' requests have waited for their rate caps so far."""
    return sum(c.limiter.waited_s for c in clients.values())
