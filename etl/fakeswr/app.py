"""The local SWR API: an aiohttp.web app serving the v3 tag list and an IAM token endpoint.

This is a second, independent reading of the API page and FACTS.md, not a mirror of the
client: it validates names, limits, markers and credentials with its own code. Only the AK/SK
check reuses the client's signer, which tests pin to the official SDK.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import re
import secrets
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any

import orjson
from aiohttp import web

from etl.fakeswr.faults import FaultPlan
from etl.fakeswr.registry import Registry, Tag, next_day
from etl.swr.auth import SignableRequest, sign

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The API page's name rules, written as patterns: a separator (or '__') must be followed by a
# letter or digit, so separators never touch and a name never ends in one.
NAMESPACE_RE = re.compile(r"[a-z](?:[a-z0-9]|(?:__|[._-])(?=[a-z0-9]))*")
REPOSITORY_RE = re.compile(r"[a-z0-9](?:[a-z0-9]|(?:__|[./_-])(?=[a-z0-9]))*")
AUTH_RE = re.compile(r"SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=(\w+)")
ORDER_COLUMNS = {"updated_at": "updated", "tag": "tag"}
ORDER_KEYS = ("order_column", "order_type")
MAX_SKEW_S = 15 * 60  # FACTS.md: APIGW.0303 when X-Sdk-Date is more than 15 minutes off


@dataclass
class Credentials:
    """Who the local API lets in."""

    token: str = field(default_factory=lambda: "fake-token-" + secrets.token_hex(12))
    domain: str = "acme"
    user: str = "etl"
    password: str = field(default_factory=lambda: "pw-" + secrets.token_hex(8))
    ak: str = field(default_factory=lambda: "FAKEAK" + secrets.token_hex(7).upper())
    sk: str = field(default_factory=lambda: secrets.token_hex(20))
    project_id: str = field(default_factory=lambda: secrets.token_hex(16))
    project_name: str = "cn-north-4"


@dataclass
class Options:
    """Behaviours of the local API that tests and the demo switch."""

    token_ttl_s: float = 24 * 3600
    latency_ms: float = 0.0
    marker_key: str = "nextMarker"  # FACTS.md: Terraform reads "next_marker"
    has_more: bool = True
    error_shape: str = "rotate"  # "full", "array", "errors" or "rotate"
    rate_limit_rps: float | None = None
    broken_repositories: set[tuple[str, str]] = field(default_factory=set)  # always answer 500
    faults: FaultPlan = field(default_factory=FaultPlan)


@dataclass
class Stats:
    """What the local API saw: for tests that measure the client at the server."""

    requests: int = 0
    in_flight: int = 0
    max_in_flight: int = 0
    throttled: int = 0
    max_connections: int = 0  # open TCP connections, the most ever seen while serving
    iam_tokens_issued: int = 0
    request_times: list[float] = field(default_factory=list)


class SwrState:
    """The registry being served, credentials, options and counters."""

    def __init__(self, registry: Registry, credentials: Credentials, options: Options):
        self.registry = registry
        self.credentials = credentials
        self.options = options
        self.stats = Stats()
        self.issued_tokens: dict[str, float] = {}
        self.marker_key = secrets.token_bytes(16)
        self._shape_cycle = itertools.cycle(["full", "array", "errors"])
        self._window: list[float] = []
        self.server: web.Server | None = None  # set once running: its open connections

    def swr_error(self, status: int, code: str, message: str) -> web.Response:
        """Return an SWR error response in one of SWR's three body shapes (FACTS.md)."""
        shape = self.options.error_shape
        shape = next(self._shape_cycle) if shape == "rotate" else shape
        item = {"errorCode": code, "errorMessage": message, "detail": message}
        body: Any = {
            "full": {"errors": [item], "error_code": code, "error_msg": message},
            "array": [item],
            "errors": {"errors": [item]},
        }[shape]
        return json_response(body, status)

    def over_rate_limit(self) -> bool:
        """Return True if this request exceeds the configured requests/second."""
        limit = self.options.rate_limit_rps
        if limit is None:
            return False
        now = time.monotonic()
        self._window = [t for t in self._window if now - t < 1.0]
        if len(self._window) >= limit:
            return True
        self._window.append(now)
        return False


STATE = web.AppKey("state", SwrState)
REQUEST_ID = web.RequestKey("request_id", str)


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def gateway_error(status: int, code: str, message: str, request_id: str) -> web.Response:
    """Return an API gateway error: {"error_code", "error_msg", "request_id"}."""
    return json_response(
        {"error_code": code, "error_msg": message, "request_id": request_id}, status
    )


# --- middlewares --------------------------------------------------------------------------


@web.middleware
async def request_id_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Give every response an X-Request-Id; unknown paths answer APIGW.0101 like the gateway."""
    request_id = uuid.uuid4().hex
    request[REQUEST_ID] = request_id
    try:
        response = await handler(request)
    except web.HTTPNotFound:
        response = gateway_error(
            404,
            "APIGW.0101",
            "The API does not exist or has not been published in the environment",
            request_id,
        )
    except web.HTTPMethodNotAllowed:
        response = gateway_error(405, "APIGW.0102", "Method not allowed", request_id)
    if not response.prepared:
        response.headers["X-Request-Id"] = request_id
    return response


@web.middleware
async def stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Count requests and the most ever in flight at once."""
    stats: Stats = request.app[STATE].stats
    stats.requests += 1
    stats.request_times.append(time.monotonic())
    stats.in_flight += 1
    stats.max_in_flight = max(stats.max_in_flight, stats.in_flight)
    server = request.app[STATE].server
    if server is not None:
        stats.max_connections = max(stats.max_connections, len(server.connections))
    try:
        latency = request.app[STATE].options.latency_ms
        if latency:
            await asyncio.sleep(latency / 1000)
        return await handler(request)
    finally:
        stats.in_flight -= 1


# --- IAM -----------------------------------------------------------------------------------


async def issue_token(request: web.Request) -> web.Response:
    """POST /v3/auth/tokens: a password token, in X-Subject-Token, expiring after the TTL."""
    state: SwrState = request.app[STATE]
    creds = state.credentials
    try:
        body = orjson.loads(await request.read())
        user = body["auth"]["identity"]["password"]["user"]
        project = body["auth"]["scope"]["project"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return iam_error(400, "The request body is malformed.", "Bad Request")
    wanted = (creds.domain, creds.user, creds.password)
    given = (user.get("domain", {}).get("name"), user.get("name"), user.get("password"))
    if given != wanted:
        return iam_error(401, "The username or password is wrong.", "Unauthorized")
    if project not in ({"name": creds.project_name}, {"id": creds.project_id}):
        return iam_error(400, "The project does not exist.", "Bad Request")
    token = "MIIfake" + secrets.token_urlsafe(24)
    expires = time.time() + state.options.token_ttl_s
    state.issued_tokens[token] = expires
    state.stats.iam_tokens_issued += 1
    stamp = datetime.fromtimestamp(expires, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    answer = {"token": {"expires_at": stamp, "methods": ["password"], "user": {"name": creds.user}}}
    return json_response(answer, 201, {"X-Subject-Token": token})


def iam_error(status: int, message: str, title: str) -> web.Response:
    """Return an IAM error: {"error": {"code", "message", "title"}}."""
    return json_response({"error": {"code": status, "message": message, "title": title}}, status)


# --- authentication of SWR calls -------------------------------------------------------------


def authentication_error(request: web.Request, state: SwrState) -> web.Response | None:
    """Return the 401 for a request whose credentials are missing, wrong or expired, else None."""
    request_id = request[REQUEST_ID]
    authorization = request.headers.get("Authorization", "")
    if authorization.startswith("SDK-HMAC-SHA256"):
        return signature_error(request, state, authorization)
    token = request.headers.get("X-Auth-Token")
    if token is not None and token == state.credentials.token:
        return None
    if token is not None and token in state.issued_tokens:
        if time.time() < state.issued_tokens[token]:
            return None
        return state.swr_error(401, "SVCSTG.SWR.4010000", "Authentication failed: token expired")
    return gateway_error(401, "APIGW.0301", "Incorrect IAM authentication information", request_id)


def signature_error(
    request: web.Request, state: SwrState, authorization: str
) -> web.Response | None:
    """Check an SDK-HMAC-SHA256 signature; return the 401 if it is wrong, else None."""
    request_id = request[REQUEST_ID]
    match = AUTH_RE.fullmatch(authorization)
    bad = gateway_error(
        401,
        "APIGW.0301",
        "Incorrect IAM authentication information: verify aksk signature fail",
        request_id,
    )
    if match is None or match.group(1) != state.credentials.ak:
        return bad
    try:
        when = datetime.strptime(request.headers["X-Sdk-Date"], "%Y%m%dT%H%M%SZ")
    except (KeyError, ValueError):
        return bad
    if abs(when.replace(tzinfo=timezone.utc).timestamp() - time.time()) > MAX_SKEW_S:
        return gateway_error(
            401,
            "APIGW.0303",
            "Incorrect app authentication information: request expired",
            request_id,
        )
    names = match.group(2).split(";")
    headers = {name: request.headers.get(name, "") for name in names}
    signable = SignableRequest(
        request.method, request.host, request.path, list(request.query.items()), headers
    )
    expected = sign(signable, state.credentials.ak, state.credentials.sk)
    if not hmac.compare_digest(expected, authorization):
        return bad
    if request.headers.get("X-Project-Id") not in (None, state.credentials.project_id):
        return bad
    return None


# --- the v3 tag list ------------------------------------------------------------------------


def marker_scope(namespace: str, repository: str, request: web.Request) -> str:
    """Return what a marker is bound to: the repository, the filter and the order."""
    query = request.query
    return "|".join(
        [namespace, repository, query.get("tag", ""), *(query.get(k, "") for k in ORDER_KEYS)]
    )


def make_marker(state: SwrState, scope: str, offset: int) -> str:
    """Return an opaque marker: offset plus a MAC over the query it belongs to (has + / =)."""
    raw = offset.to_bytes(4, "big")
    mac = hmac.new(state.marker_key, scope.encode() + raw, hashlib.sha256).digest()[:7]
    return base64.b64encode(mac + raw).decode()


def read_marker(state: SwrState, scope: str, marker: str) -> int | None:
    """Return the offset of a marker this server made for this query, or None if forged."""
    try:
        raw = base64.b64decode(marker, validate=True)
    except ValueError:
        return None
    if len(raw) != 11 or make_marker(state, scope, int.from_bytes(raw[7:], "big")) != marker:
        return None
    return int.from_bytes(raw[7:], "big")


def query_error(request: web.Request, state: SwrState) -> web.Response | None:
    """Return the 400 for a bad namespace, repository or query parameter, else None."""
    namespace = request.match_info["namespace"]
    repository = request.match_info["repository"].replace("$", "/")
    if not (len(namespace) <= 64 and NAMESPACE_RE.fullmatch(namespace)):
        return state.swr_error(400, "SVCSTG.SWR.4001025", f"Invalid namespace: {namespace}")
    if not (len(repository) <= 128 and REPOSITORY_RE.fullmatch(repository)):
        return state.swr_error(400, "SVCSTG.SWR.4001025", f"Invalid repository: {repository}")
    limit = request.query.get("limit", "100")
    if not limit.isdigit() or not 1 <= int(limit) <= 1000:
        return state.swr_error(400, "SVCSTG.SWR.4000056", f"Invalid limit: {limit}")
    if request.query.get("with_manifest", "false").lower() not in ("true", "false"):
        return state.swr_error(400, "SVCSTG.SWR.4001025", "Invalid with_manifest")
    column, direction = request.query.get("order_column"), request.query.get("order_type")
    if (column is None) != (direction is None):
        return state.swr_error(400, "SVCSTG.SWR.4001025", "order_column and order_type go together")
    if column is not None and (column not in ORDER_COLUMNS or direction not in ("asc", "desc")):
        return state.swr_error(400, "SVCSTG.SWR.4001025", "Invalid order_column or order_type")
    return None


def selected_tags(tags: list[Tag], request: web.Request) -> list[Tag]:
    """Return the repository's tags filtered by `tag` (substring match) and ordered."""
    wanted = request.query.get("tag")
    chosen = [t for t in tags if wanted in t.tag] if wanted else list(tags)
    column = request.query.get("order_column")
    if column is not None:
        key = ORDER_COLUMNS[column]
        chosen.sort(key=lambda t: getattr(t, key), reverse=request.query["order_type"] == "desc")
    return chosen


async def list_tags(request: web.Request) -> web.StreamResponse:
    """GET /v3/manage/namespaces/{namespace}/repos/{repository}/tags."""
    state: SwrState = request.app[STATE]
    request_id = request[REQUEST_ID]
    if state.over_rate_limit():
        state.stats.throttled += 1
        return gateway_error(
            429, "APIGW.0308", "The throttling threshold has been reached", request_id
        )
    denied = authentication_error(request, state)
    if denied is not None:
        return denied
    fault = state.options.faults.draw(request.path_qs)
    early = await early_fault(request, state, fault)
    if early is not None:
        return early
    invalid = query_error(request, state)
    if invalid is not None:
        return invalid
    namespace = request.match_info["namespace"]
    repository = request.match_info["repository"].replace("$", "/")
    if (namespace, repository) in state.options.broken_repositories:
        return state.swr_error(500, "SVCSTG.SWR.5000001", "Internal error")
    repo = state.registry.repositories.get((namespace, repository))
    if repo is None:
        # Only a miss needs the namespace set (building it per request cost the bench dearly).
        if namespace not in state.registry.namespaces:
            return state.swr_error(404, "SVCSTG.SWR.4040001", f"Namespace {namespace} not found")
        return state.swr_error(404, "SVCSTG.SWR.4040002", f"Repository {repository} not found")
    scope = marker_scope(namespace, repository, request)
    offset = 0
    if "marker" in request.query:
        found = read_marker(state, scope, request.query["marker"])
        if found is None:
            return state.swr_error(400, "SVCSTG.SWR.4001025", "Invalid marker")
        offset = found
    body = page_body(state, selected_tags(repo.tags, request), offset, scope, request)
    return await send_page(request, state, body, fault)


def page_body(
    state: SwrState, tags: list[Tag], offset: int, scope: str, request: web.Request
) -> bytes:
    """Return the JSON body of one page starting at `offset`."""
    limit = int(request.query.get("limit", "100"))
    page = tags[offset : offset + limit]
    with_manifest = request.query.get("with_manifest", "false").lower() == "true"
    # orjson writes the Tag dataclasses itself; manifests are only attached when asked for.
    items = [with_manifest_of(t, state) for t in page] if with_manifest else page
    body: dict[str, Any] = {"tags": items}
    more = offset + limit < len(tags)
    if more:
        body[state.options.marker_key] = make_marker(state, scope, offset + limit)
    if state.options.has_more:
        body["has_more"] = more
    return orjson.dumps(body)


def with_manifest_of(tag: Tag, state: SwrState) -> Tag:
    """Return the tag with its manifest JSON filled in."""
    return replace(tag, manifest=state.registry.manifests.get(tag.digest, ""))


async def early_fault(
    request: web.Request, state: SwrState, fault: str | None
) -> web.Response | None:
    """Return the response of a fault that replaces the answer, or None."""
    request_id = request[REQUEST_ID]
    if fault == "500":
        return state.swr_error(500, "SVCSTG.SWR.5000001", "Internal error")
    if fault in ("429", "429_retry_after"):
        response = gateway_error(
            429, "APIGW.0308", "The throttling threshold has been reached", request_id
        )
        if fault == "429_retry_after":
            response.headers["Retry-After"] = f"{state.options.faults.retry_after_s:g}"
        return response
    if fault == "slow":
        await asyncio.sleep(state.options.faults.slow_s)
    if fault == "token_expiry":
        token = request.headers.get("X-Auth-Token", "")
        if token in state.issued_tokens:
            state.issued_tokens[token] = 0.0
            return state.swr_error(
                401, "SVCSTG.SWR.4010000", "Authentication failed: token expired"
            )
    return None


async def send_page(
    request: web.Request, state: SwrState, body: bytes, fault: str | None
) -> web.StreamResponse:
    """Send a page, or break it on the way out for the 'reset' and 'truncated' faults."""
    if fault not in ("reset", "truncated"):
        return web.Response(body=body, content_type="application/json")
    cut = body[: max(1, len(body) // 2)]
    response = web.StreamResponse(
        headers={"Content-Type": "application/json", "X-Request-Id": request[REQUEST_ID]}
    )
    response.content_length = len(body) if fault == "reset" else len(cut)
    await response.prepare(request)
    await response.write(cut)
    if fault == "reset" and request.transport is not None:
        request.transport.close()  # the client sees the connection die mid-body
        return response
    await response.write_eof()
    return response


async def advance_day(request: web.Request) -> web.Response:
    """POST /_fake/next-day?churn=0.01: serve the registry a day later (for benchmarks)."""
    state: SwrState = request.app[STATE]
    churn = float(request.query.get("churn", "0.02"))
    state.registry = next_day(state.registry, churn=churn)
    return json_response({"day": state.registry.day, "tags": state.registry.tag_count()})


def make_app(
    registry: Registry, credentials: Credentials | None = None, options: Options | None = None
) -> web.Application:
    """Return the local SWR API application serving `registry`."""
    app = web.Application(middlewares=[request_id_middleware, stats_middleware])
    app[STATE] = SwrState(registry, credentials or Credentials(), options or Options())
    app.router.add_get("/v3/manage/namespaces/{namespace}/repos/{repository}/tags", list_tags)
    app.router.add_post("/v3/auth/tokens", issue_token)
    app.router.add_post("/_fake/next-day", advance_day)
    return app
