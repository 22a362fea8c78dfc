"""Reading HTTP answers without trusting them: bodies are read up to a bound, never whole,
and an error answer of any shape SWR, its gateway or IAM use becomes a typed error.

Shared by the SWR client and the IAM token request, whose servers (or whatever answers in
their place: a proxy, a wrong URL) may send an endless body, a gzip bomb or an HTML page.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
import orjson
from yarl import URL

from etl.errors import (
    ApiError,
    AuthError,
    EndpointError,
    LimitError,
    NotFoundError,
)


async def read_capped(
    resp: aiohttp.ClientResponse, limit: int, bound: str = "crawl.max_page_bytes"
) -> bytes:
    """Return the response body, or raise LimitError once more than `limit` bytes arrive, on
    the wire or decompressed (aiohttp decompresses as we read, so a gzip bomb stops here);
    `bound` names the limit in the message."""
    if resp.content_length is not None and resp.content_length > limit:
        raise _too_large(resp, limit, bound)
    chunks: list[bytes] = []
    size = 0
    async for chunk in resp.content.iter_any():
        size += len(chunk)
        wire = getattr(resp.content, "total_compressed_bytes", None) or 0
        if size > limit or wire > limit:
            raise _too_large(resp, limit, bound)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(resp: aiohttp.ClientResponse, limit: int, bound: str) -> LimitError:
    return LimitError(
        f"HTTP {resp.status} answer larger than {bound} ({limit} bytes); stopped reading it",
        error_code="ETL.MAX_PAGE_BYTES",
        request_id=resp.headers.get("X-Request-Id"),
    )


# docs/swr-api.md: 404 APIGW.0101 means the gateway does not know the path (v3 not offered here).
UNKNOWN_PATH_CODE = "APIGW.0101"
CLOCK_SKEW_CODE = "APIGW.0303"
# docs/swr-api.md: SWR's own "namespace / repository not found" codes are SVCSTG.SWR.404xxxx. Only
# these make a target `not_found`: a proxy's or a wrong URL's 404 must never erase state.
SWR_NOT_FOUND_PREFIX = "SVCSTG.SWR.404"


def api_error_from_response(
    status: int,
    body: bytes,
    headers: Mapping[str, str],
    default_cls: type[ApiError] | None = None,
) -> ApiError:
    """Return the typed error for an error response, from any of SWR's, APIGW's or IAM's shapes."""
    code, message, body_request_id = error_fields(body, headers.get("Content-Type", ""))
    request_id = headers.get("X-Request-Id") or body_request_id
    retry_after = retry_after_seconds(headers.get("Retry-After"))
    cls = error_class(status, code, default_cls)
    if code == CLOCK_SKEW_CODE:
        message = (
            f"clock skew: X-Sdk-Date is more than 15 minutes off the server's time ({message})"
        )
    elif 300 <= status < 400:
        # SWR and IAM never redirect: following one would send our credentials elsewhere.
        where = _host_of(headers.get("Location", ""))
        message = (
            f"redirect to {where} refused: SWR and IAM never redirect, so no request was "
            "sent there; check the endpoint URL"
        )
    elif cls is EndpointError and code != UNKNOWN_PATH_CODE:
        message = (
            f"HTTP 404 that is not SWR's 'not found' answer ({message}): is the endpoint URL right?"
        )
    return cls(
        message,
        status=status,
        error_code=code,
        request_id=request_id,
        retry_after=retry_after,
    )


def _host_of(location: str) -> str:
    """Return the host a redirect points to (never the whole URL: it may carry a token)."""
    try:
        return URL(location).host or "a relative location"
    except ValueError:
        return "an unreadable location"


def error_class(status: int, code: str | None, default: type[ApiError] | None) -> type[ApiError]:
    """Return the ApiError subclass for a status and error code."""
    if status == 401:
        return AuthError
    if status == 404:
        return NotFoundError if (code or "").startswith(SWR_NOT_FOUND_PREFIX) else EndpointError
    return default or ApiError


def error_fields(body: bytes, content_type: str = "") -> tuple[str | None, str, str | None]:
    """Return (error code, message, request id) from an error body of any known shape."""
    try:
        parsed: Any = orjson.loads(body) if body.strip() else None
    except orjson.JSONDecodeError:
        parsed = _NOT_JSON
    if parsed is _NOT_JSON or parsed is None:
        return None, _describe_opaque_body(body, content_type), None
    # Shape 2: a bare array of {errorCode, errorMessage, detail}.
    if isinstance(parsed, list):
        return _from_errors_list(parsed) + (None,)
    if not isinstance(parsed, dict):
        return None, f"unexpected error body: {type(parsed).__name__}", None
    request_id = _str_or_none(parsed.get("request_id"))
    # APIGW and shape 1: top-level error_code / error_msg.
    if parsed.get("error_code") or parsed.get("error_msg"):
        code = _str_or_none(parsed.get("error_code"))
        return code, str(parsed.get("error_msg") or "no message"), request_id
    # Shape 3: {"errors": [...]} alone.
    if isinstance(parsed.get("errors"), list):
        return _from_errors_list(parsed["errors"]) + (request_id,)
    # IAM: {"error": {"code", "message", "title"}}.
    iam = parsed.get("error")
    if isinstance(iam, dict):
        message = iam.get("message") or iam.get("title") or "no message"
        return _str_or_none(iam.get("code")), str(message), request_id
    return None, "error body without a recognisable error field", request_id


_NOT_JSON = object()


def _from_errors_list(errors: list[Any]) -> tuple[str | None, str]:
    first = errors[0] if errors and isinstance(errors[0], dict) else {}
    message = first.get("errorMessage") or first.get("detail") or "no message"
    return _str_or_none(first.get("errorCode")), str(message)


def _str_or_none(value: Any) -> str | None:
    return None if value is None or value == "" else str(value)


def _describe_opaque_body(body: bytes, content_type: str) -> str:
    if not body.strip():
        return "empty response body"
    kind = content_type.split(";")[0].strip() or "unknown type"
    return f"non-JSON response body ({kind}, {len(body)} bytes)"


def retry_after_seconds(value: str | None) -> float | None:
    """Return a Retry-After header as seconds (delta or HTTP date), or None if absent/invalid."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())
