"""Start and stop the local SWR API on 127.0.0.1, in this event loop or in a child process."""

from __future__ import annotations

import asyncio
import threading
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from etl.fakeswr.app import STATE, Credentials, Options, SwrState, make_app
from etl.fakeswr.registry import Registry


@dataclass
class FakeSwr:
    """A running local SWR API: its URL, credentials and live state."""

    url: str
    runner: web.AppRunner
    app: web.Application

    @property
    def state(self) -> SwrState:
        return self.app[STATE]

    @property
    def credentials(self) -> Credentials:
        return self.state.credentials

    @property
    def options(self) -> Options:
        return self.state.options

    def serve(self, registry: Registry) -> None:
        """Serve another registry from now on (e.g. the next day's)."""
        self.state.registry = registry


async def start(
    registry: Registry,
    *,
    credentials: Credentials | None = None,
    options: Options | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
) -> FakeSwr:
    """Start the local API on host:port (port 0 picks a free one) and return it."""
    app = make_app(registry, credentials, options)
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    await site.start()
    bound_port = runner.addresses[0][1]
    return FakeSwr(url=f"http://{host}:{bound_port}", runner=runner, app=app)


async def stop(fake: FakeSwr) -> None:
    """Stop the local API and close its connections."""
    await fake.runner.cleanup()


class ServerThread:
    """The local API in a background thread with its own event loop.

    For callers that run their own `asyncio.run` (the demo, sync tests): `with
    ServerThread(registry) as fake:` gives a running `FakeSwr` until the block ends.
    """

    def __init__(self, registry: Registry, **start_kwargs: Any):
        self._registry = registry
        self._kwargs = start_kwargs
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._fake: FakeSwr | None = None

    def __enter__(self) -> FakeSwr:
        self._thread.start()
        future = asyncio.run_coroutine_threadsafe(start(self._registry, **self._kwargs), self._loop)
        self._fake = future.result(timeout=30)
        return self._fake

    def __exit__(self, *exc: object) -> None:
        if self._fake is not None:
            asyncio.run_coroutine_threadsafe(stop(self._fake), self._loop).result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()
