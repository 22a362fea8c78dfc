"""The local SWR API's state and answers: who it lets in, what it serves, how it errs."""

from __future__ import annotations

import itertools
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiohttp import web

from etl.fakeswr.faults import FaultPlan
from etl.fakeswr.registry import Registry


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
    marker_key: str = "nextMarker"  # docs/swr-api.md: Terraform reads "next_marker"
    has_more: bool = True
    error_shape: str = "rotate"  # "full", "array", "errors" or "rotate"
    rate_limit_rps: float | None = None
    broken_repositories: set[tuple[str, str]] = field(default_factory=set)  # always answer 500
    # Their 500 echoes the request's credential headers, as a debugging gateway's does.
    echo_credentials: bool = False
    # Organizations whose repository list always answers 500 ("" for the organization list).
    broken_lists: set[str] = field(default_factory=set)
    # Which APIs are offered: "both", or "v3"/"v2" only (the other's paths answer APIGW.0101,
    # as a region without them does).
    api: str = "both"
    # Tags pushed to a repository right after the first page of its v2 tag list is served,
    # one count per crawl: pushes in the middle of offset crawls.
    push_after_first_page: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    faults: FaultPlan = field(default_factory=FaultPlan)
    # How real lists misbehave: every v3 repository-list page after the first repeats the row
    # before it (a list shifted under its reader; a v2 list shifts with its total, below:
    # `create_mid_list`); the repository lists ignore `?namespace=`
    # and answer every organization's repositories; the organization list leaves these out.
    repeat_list_rows: bool = False
    ignore_namespace_filter: bool = False
    hidden_organizations: set[str] = field(default_factory=set)
    # A repository (an empty copy of the organization's first) created in an organization
    # right after the first page of its v2 repository list is served: the total moves.
    create_mid_list: set[str] = field(default_factory=set)


@dataclass
class Stats:
    """What the local API saw: for tests that measure the client at the server."""

    requests: int = 0
    list_requests: int = 0  # ... of which organization and repository lists
    in_flight: int = 0
    max_in_flight: int = 0
    throttled: int = 0
    max_connections: int = 0  # open TCP connections, the most ever seen while serving
    iam_tokens_issued: int = 0
    v2_requests: int = 0
    limit_without_offset: int = 0  # v2 requests Open Telekom Cloud would refuse
    deletes: int = 0  # DELETE requests received, refused ones included
    delete_paths: list[str] = field(default_factory=list)  # ... each as it came (raw path)
    request_times: list[float] = field(default_factory=list)
    first_at: float | None = None  # wall-clock time of the first request (for benchmarks)
    last_at: float | None = None  # ... and of the last


class SwrState:
    """The registry being served, credentials, options and counters."""

    def __init__(self, registry: Registry, credentials: Credentials, options: Options):
        self.registry = registry
        self.credentials = credentials
        self.options = options
        self.stats = Stats()
        self.issued_tokens: dict[str, float] = {}
        # Every tag a DELETE removed, in order: (namespace, repository, tag).
        self.deleted: list[tuple[str, str, str]] = []
        self.marker_key = secrets.token_bytes(16)
        self._shape_cycle = itertools.cycle(["full", "array", "errors"])
        self._window: list[float] = []
        self.server: web.Server | None = None  # set once running: its open connections

    def swr_error(self, status: int, code: str, message: str) -> web.Response:
        """Return an SWR error response in one of SWR's three body shapes (docs/swr-api.md)."""
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
