"""Start and stop the local SWR API on 127.0.0.1, in this event loop or in a child process."""

from __future__ import annotations

from dataclasses import dataclass

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
