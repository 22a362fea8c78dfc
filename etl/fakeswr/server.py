"""Start and stop the local SWR API (or any aiohttp app) on 127.0.0.1, here or in a thread."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from aiohttp import web

from etl.fakeswr.app import make_app
from etl.fakeswr.registry import Registry
from etl.fakeswr.state import STATE, Credentials, Options, SwrState

T = TypeVar("T")


@dataclass
class RunningApp:
    """An aiohttp app listening on `url`."""

    url: str
    runner: web.AppRunner
    app: web.Application


async def start_app(app: web.Application, host: str = "127.0.0.1", port: int = 0) -> RunningApp:
    """Serve `app` on host:port (port 0 picks a free one) and return where it listens."""
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return RunningApp(f"http://{host}:{runner.addresses[0][1]}", runner, app)


async def stop_app(running: RunningApp) -> None:
    """Stop serving and close every connection."""
    await running.runner.cleanup()


@dataclass
class FakeSwr(RunningApp):
    """A running local SWR API: its URL, credentials and live state."""

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
    """Start the local API serving `registry` and return it."""
    app = make_app(registry, credentials, options)
    running = await start_app(app, host, port)
    app[STATE].server = running.runner.server
    return FakeSwr(running.url, running.runner, app)


async def stop(fake: FakeSwr) -> None:
    """Stop the local API and close its connections."""
    await stop_app(fake)


class InThread(Generic[T]):
    """A server started and stopped by coroutines, run in a background thread's own loop.

    For callers that run their own `asyncio.run` (the demo, sync tests): `with
    ServerThread(registry) as fake:` gives a running `FakeSwr` until the block ends.
    """

    def __init__(self, up: Callable[[], Awaitable[T]], down: Callable[[T], Awaitable[None]]):
        self._up = up
        self._down = down
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: T | None = None

    def __enter__(self) -> T:
        self._thread.start()
        self._server = self._run(self._up())
        return self._server

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._run(self._down(self._server))
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=30)
        self._loop.close()

    def _run(self, coroutine: Awaitable[Any]) -> Any:
        async def wrapped() -> Any:
            return await coroutine

        return asyncio.run_coroutine_threadsafe(wrapped(), self._loop).result(timeout=60)


class ServerThread(InThread[FakeSwr]):
    """The local SWR API in a background thread."""

    def __init__(self, registry: Registry, **start_kwargs: Any):
        super().__init__(lambda: start(registry, **start_kwargs), stop)


class AppThread(InThread[RunningApp]):
    """Any aiohttp app (a hostile server, say) in a background thread."""

    def __init__(self, app: web.Application):
        super().__init__(lambda: start_app(app), stop_app)
