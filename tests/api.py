"""Clients of the local API for the tests of the API side: every auth scheme with the local
API's credentials, fast retries, a repository read page after page, and hand-made apps (a
hostile server, say) served on 127.0.0.1; and the syncs' own retries made quick."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from etl.errors import ApiError
from etl.fakeswr import FakeSwr, start_app, stop_app
from etl.swr.auth import AkSkAuth, Auth, IamCredentials, IamPasswordAuth, TokenAuth
from etl.swr.client import RetryPolicy, SwrClient
from etl.swr.lists import tag_list


def auth_for(fake: FakeSwr, kind: str) -> Auth:
    """Return an auth scheme of `kind` holding the local API's credentials."""
    creds = fake.credentials
    if kind == "token":
        return TokenAuth(creds.token)
    if kind == "aksk":
        return AkSkAuth(creds.ak, creds.sk, creds.project_id)
    iam = IamCredentials(fake.url, creds.domain, creds.user, creds.password, creds.project_name)
    return IamPasswordAuth(iam)


def client_for(fake: FakeSwr, auth: str = "token", **kwargs: Any) -> SwrClient:
    """Return a client of the local API with fast retries (tests never wait for seconds)."""
    kwargs.setdefault("retry", RetryPolicy(max_attempts=8, base_delay_s=0.01, max_delay_s=0.05))
    kwargs.setdefault("requests_per_second", 10_000)
    return SwrClient(fake.url, auth_for(fake, auth), name="local", **kwargs)


async def all_tags(
    client: SwrClient, namespace: str, repository: str, **kwargs: Any
) -> list[dict[str, Any]]:
    """Return every tag of one repository, page after page, as typed dicts."""
    tags: list[dict[str, Any]] = []
    async for answer in client.iter_pages(tag_list(namespace, repository, **kwargs)):
        tags.extend(answer.body.columns.to_pylist())
    return tags


@asynccontextmanager
async def serve(app: web.Application) -> AsyncIterator[str]:
    """Serve a hand-made aiohttp app (a hostile server, say) on 127.0.0.1; yield its URL."""
    running = await start_app(app)
    try:
        yield running.url
    finally:
        await stop_app(running)


def quicken_retries(patch: pytest.MonkeyPatch) -> None:
    """Make every retry wait a thousandth of its backoff (a fixture of a wider scope calls
    this with its own MonkeyPatch)."""
    backoff = RetryPolicy.delay_s

    def quick(self: RetryPolicy, attempt: int, error: ApiError) -> float:
        return backoff(self, attempt, error) / 1000

    patch.setattr(RetryPolicy, "delay_s", quick)
