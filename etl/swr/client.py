"""The SWR client: one aiohttp session per endpoint, retries, rate limit, and one paging core.

`SwrClient.iter_pages` runs any SWR list — a `SwrList` says where it is, what its first page is
asked and how a page body is read — and follows its marker (string or integer) until the API
says it is done. The lists themselves are small definitions (`etl.swr.lists`). Everything that
can go wrong on the wire ends as an `ApiError` subclass carrying status, error code, request
id, endpoint and target. A new SWR list goes in `etl.swr.lists`, its page reader in
`etl.swr.pages` (or beside the list when it is small). `SwrClient.delete` sends a DELETE (a
tag's: `etl.swr.tags`) through the same auth, rate limit and retries.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import orjson
from yarl import URL

from etl.errors import ApiError, EndpointError, LimitError, ResponseError
from etl.results import RequestStats
from etl.swr.auth import Auth, SignableRequest, canonical_query
from etl.swr.bounds import MAX_PAGE_BYTES, MAX_PAGES
from etl.swr.paging import Answer, P, Paginator, SwrList
from etl.swr.wire import api_error_from_response, read_capped

log = logging.getLogger("etl.swr.client")


# docs/swr-api.md: SWR's own throttling and busy codes arrive as 403 and 409; retry them like a 429.
THROTTLE_CODES = frozenset({"SVCSTG.SWR.4031032", "SVCSTG.SWR.4031042", "SVCSTG.SWR.4090023"})
Decoder = Callable[[bytes], Awaitable[Any]]


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before trying a request again."""

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    retry_statuses: frozenset[int] = frozenset({429, 500, 502, 503, 504})
    retry_codes: frozenset[str] = THROTTLE_CODES

    def should_retry(self, error: ApiError) -> bool:
        """Return True if `error` is transient: throttling, 5xx, busy, or no usable answer."""
        if isinstance(error, (LimitError, ResponseError)):
            return False  # the same answer would come again
        if error.status is None:
            return True  # connection error, timeout or an unreadable 200
        if error.error_code in self.retry_codes:
            return True
        return error.status in self.retry_statuses or error.status >= 500

    def delay_s(self, attempt: int, error: ApiError) -> float:
        """Return the wait before attempt `attempt + 1`: Retry-After if given, else full jitter."""
        if error.retry_after is not None:
            return min(error.retry_after, self.max_delay_s)
        ceiling = min(self.max_delay_s, self.base_delay_s * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)


class TokenBucket:
    """A requests-per-second limit shared by every task of one endpoint.

    After a 429 the rate is halved (down to a floor); each success wins a little of it back,
    so a throttled endpoint settles just under what the server allows.
    """

    def __init__(self, rate: float, burst: float = 1.0, floor_fraction: float = 0.05):
        self.max_rate = rate
        self.rate = rate
        self._floor = rate * floor_fraction
        self._burst = burst
        self._next = time.monotonic()  # when the next request may go
        self.waited_s = 0.0  # how long requests have waited for a slot, in all

    async def acquire(self) -> None:
        """Wait until one request may be sent.

        Requests get slots 1/rate apart, counted from the previous slot rather than from when
        its task woke up: a busy event loop or a coarse timer delays a request, not the rest
        of the schedule, so a capped crawl runs at the cap. A slot lags the clock by at most
        `burst` intervals, so no more than that many requests catch up at once.
        """
        now = time.monotonic()
        interval = 1.0 / self.rate
        slot = max(self._next, now - (self._burst - 1) * interval)
        self._next = slot + interval
        if slot > now:
            self.waited_s += slot - now
            await asyncio.sleep(slot - now)

    def slow_down(self) -> None:
        """Halve the rate after the server said we are too fast."""
        self.rate = max(self._floor, self.rate / 2)

    def speed_up(self) -> None:
        """Recover a little of the configured rate after a success."""
        self.rate = min(self.max_rate, self.rate + self.max_rate * 0.01)


def ssl_context(verify: bool, ca_bundle: str | None) -> ssl.SSLContext | bool:
    """Return what aiohttp's `ssl=` takes: verification on by default, optional CA bundle."""
    if ca_bundle:
        return ssl.create_default_context(cafile=ca_bundle)
    return True if verify else False


class SwrClient:
    """The lists of one SWR endpoint (and its tag DELETE), over one aiohttp session."""

    def __init__(
        self,
        base_url: str,
        auth: Auth,
        *,
        name: str | None = None,
        retry: RetryPolicy | None = None,
        requests_per_second: float = 50.0,
        in_flight: asyncio.Semaphore | None = None,
        max_connections: int = 16,
        timeout_s: float = 30.0,
        verify_tls: bool = True,
        ca_bundle: str | None = None,
        connector: aiohttp.BaseConnector | None = None,
        max_page_bytes: int = MAX_PAGE_BYTES,
        max_pages: int = MAX_PAGES,
    ):
        self.base_url = URL(base_url.rstrip("/"))
        self.max_page_bytes = max_page_bytes
        self.max_pages = max_pages
        self.name = name or self.base_url.host or base_url
        self.retry = retry or RetryPolicy()
        self.limiter = TokenBucket(requests_per_second)
        self._auth = auth
        self._in_flight = in_flight or asyncio.Semaphore(max_connections)
        self._max_connections = max_connections
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._ssl = ssl_context(verify_tls, ca_bundle)
        self._connector = connector
        # Until the endpoint has answered once, one request at a time may find out whether
        # it can be reached at all: an endpoint that cannot is one error, not one per target.
        self._first_contact = asyncio.Lock()
        self._answered = False
        self._unreachable: EndpointError | None = None
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> SwrClient:
        # A shared connector caps connections across endpoints; else each client has its own.
        connector = self._connector or aiohttp.TCPConnector(limit=self._max_connections)
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self._timeout, connector_owner=self._connector is None
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def iter_pages(
        self,
        listing: SwrList[P],
        stats: RequestStats | None = None,
        paginator: Paginator | None = None,
    ) -> AsyncIterator[Answer[P]]:
        """Yield every page of a list, in the server's order, following its marker or offset;
        raise LimitError past `max_pages`, ResponseError on a marker loop or a page beyond the
        total. A caller that wants to see the paging state passes its own `paginator`."""
        stats = stats if stats is not None else RequestStats()
        paginator = paginator or listing.paginator()
        while paginator.has_next:
            if stats.pages >= self.max_pages:
                raise LimitError(
                    f"still not done after {self.max_pages} pages: the server keeps sending "
                    "markers (raise crawl.max_pages_per_target if the repository is that large)",
                    error_code="ETL.MAX_PAGES",
                    endpoint=self.name,
                    target=listing.target,
                )
            query = [*listing.query, *paginator.query()]
            answer = await self.get_json(
                listing.path, query, target=listing.target, stats=stats, decode=listing.decode
            )
            try:
                paginator.advance(answer)
            except ApiError as exc:
                raise exc.at(endpoint=self.name, target=listing.target) from None
            stats.pages += 1
            yield answer

    async def get_json(
        self,
        path: str,
        query: list[tuple[str, str]],
        *,
        target: str | None = None,
        stats: RequestStats | None = None,
        decode: Decoder | None = None,
    ) -> Answer[Any]:
        """Return the answer of a GET, its body read by `decode` (JSON by default), retrying
        transient failures. An endpoint that cannot be connected to (refused, unresolvable,
        TLS refused) before it has ever answered raises EndpointError for every request after
        the first one's retries, without sending them."""
        if self._answered:
            return await self._send_retrying("GET", path, query, target, stats, decode)
        async with self._first_contact:
            if self._unreachable is not None:
                raise self._unreachable
            if self._answered:
                pass  # another request reached it meanwhile
            else:
                try:
                    answer = await self._send_retrying("GET", path, query, target, stats, decode)
                except Unreachable as exc:
                    self._unreachable = EndpointError(exc.message, endpoint=self.name)
                    raise self._unreachable from None
                self._answered = True
                return answer
        return await self._send_retrying("GET", path, query, target, stats, decode)

    async def delete(
        self,
        path: str,
        *,
        target: str | None = None,
        stats: RequestStats | None = None,
        retrying: bool = True,
    ) -> Answer[None]:
        """Send a DELETE, retrying transient failures like a GET (or, `retrying=False`, only
        after a refreshed token: the caller retries, after checking again); any 2xx is success
        (its body is not read). A retry may find what an earlier attempt deleted gone
        (NotFoundError): the caller decides what that means."""
        attempts = None if retrying else 1
        return await self._send_retrying("DELETE", path, [], target, stats, ignore_body, attempts)

    async def pause_before_retry(self, attempt: int, error: ApiError, what: str) -> None:
        """Wait before attempt `attempt + 1` of `what`, which failed with `error`, slowing the
        endpoint's rate after throttling: what the client's own retries do."""
        if error.status == 429 or error.error_code in THROTTLE_CODES:
            self.limiter.slow_down()
        delay = self.retry.delay_s(attempt, error)
        log.debug(
            "retrying %s %s after %s (attempt %d, wait %.2fs)",
            self.name,
            what,
            error.error_code or error.status or error.message,
            attempt,
            delay,
        )
        await asyncio.sleep(delay)

    async def _send_retrying(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        target: str | None,
        stats: RequestStats | None,
        decode: Decoder | None,
        max_attempts: int | None = None,
    ) -> Answer[Any]:
        stats = stats if stats is not None else RequestStats()
        max_attempts = max_attempts or self.retry.max_attempts
        refreshed = False
        attempt = 0
        while True:
            attempt += 1
            stats.requests += 1
            headers: dict[str, str] = {}
            try:
                return await self._send_once(method, path, query, headers, decode or decode_json)
            except ApiError as exc:
                error = exc.at(endpoint=self.name, target=target)
            if error.status == 401:
                recovery = await self._auth.recover_from_401(headers)
                # docs/swr-api.md: refresh the token once after a 401, then fail.
                if recovery == "replaced" or (recovery == "refresh" and not refreshed):
                    refreshed = refreshed or recovery == "refresh"
                    stats.retries += 1
                    continue
            if not self.retry.should_retry(error) or attempt >= max_attempts:
                raise error
            stats.retries += 1
            await self.pause_before_retry(attempt, error, target or path)

    async def _send_once(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        used_headers: dict[str, str],
        decode: Decoder,
    ) -> Answer[Any]:
        session = self._require_session()
        host = self.base_url.raw_authority
        base = {"Content-Type": "application/json", "Host": host}
        signable = SignableRequest(method, host, path, query, base)
        async with self._in_flight:
            await self.limiter.acquire()
            # The headers (and an AK/SK signature) are made afresh for every attempt.
            headers = {**base, **await self._auth.headers_for(signable, session)}
            used_headers.update(headers)
            raw_query = canonical_query(query)
            url = URL(
                str(self.base_url) + path + (f"?{raw_query}" if raw_query else ""), encoded=True
            )
            try:
                # SWR never redirects; following one would send the credentials elsewhere.
                async with session.request(
                    method, url, headers=headers, ssl=self._ssl, allow_redirects=False
                ) as resp:
                    body = await read_capped(resp, self.max_page_bytes)
                    status, resp_headers = resp.status, resp.headers
            except aiohttp.ClientConnectorError as exc:
                raise Unreachable(unreachable_reason(exc)) from None
            except (TimeoutError, aiohttp.ClientError) as exc:
                raise ApiError(f"no usable answer: {describe_transport_error(exc)}") from None
        request_id = resp_headers.get("X-Request-Id")
        # A list answers 200; a DELETE any 2xx (the API page of DeleteRepoTag: 204).
        if status != 200 and not (method != "GET" and 200 <= status < 300):
            raise api_error_from_response(status, body, resp_headers)
        self.limiter.speed_up()
        try:
            return Answer(await decode(body), request_id, resp_headers.get("Content-Range"))
        except ApiError as exc:
            raise exc.at(request_id=request_id) from None
        except orjson.JSONDecodeError:
            # A cut-off 200 body is a transport fault in disguise: retry it (status None).
            raise ApiError(
                f"HTTP 200 with a body that is not valid JSON ({len(body)} bytes)",
                request_id=request_id,
            ) from None

    def _require_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("use `async with SwrClient(...)` before sending requests")
        return self._session


async def decode_json(body: bytes) -> Any:
    """Return the body parsed as JSON (raises orjson.JSONDecodeError)."""
    return orjson.loads(body)


async def ignore_body(body: bytes) -> None:
    """Accept a DELETE's body, which says nothing its status does not: empty, or JSON. Any
    other (an HTML page from a proxy, a cut-off answer) is no usable answer: retried, like a
    transport fault (a retry of a delete that did happen finds the tag gone)."""
    if body.strip():
        try:
            orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ApiError(
                f"a success status with a body that is not JSON ({len(body)} bytes): "
                "is something other than SWR answering?"
            ) from None


class Unreachable(ApiError):
    """No connection could be made: refused, unresolvable, TLS refused (retried like any
    transport fault, and then the endpoint's, not one target's, error)."""


def unreachable_reason(exc: aiohttp.ClientConnectorError) -> str:
    """Return why a connection failed, naming the host: refused, cannot resolve, TLS."""
    where = f"{exc.host}:{exc.port}"
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        return f"cannot resolve {exc.host} (is endpoints[].url right?)"
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return f"TLS verification failed for {exc.host}: {exc.certificate_error}"
    if isinstance(exc, aiohttp.ClientConnectorSSLError):
        return f"TLS handshake with {where} failed: {exc.os_error}"
    if isinstance(exc.os_error, ConnectionRefusedError):
        return f"connection refused by {where} (is the port right, is anything listening?)"
    reason = exc.os_error.strerror or type(exc.os_error).__name__
    return f"cannot connect to {where}: {reason}"


def describe_transport_error(exc: BaseException) -> str:
    """Return a short description of a connection error or timeout (never a URL with secrets)."""
    if isinstance(exc, asyncio.TimeoutError):
        return "timed out"
    return type(exc).__name__
