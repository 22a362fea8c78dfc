"""Every error swr-tag-etl raises on purpose.

    EtlError
    ├── ConfigError          bad config file, key or value (exit code 2)
    ├── NameError_           a namespace/repository breaks a rule of the API page
    ├── LockHeldError        another sync holds the lock (exit code 75)
    ├── Interrupted          SIGINT/SIGTERM stopped a run (exit code 130/143)
    ├── QueryError           SQL given to `swr-etl query` failed or tried to write (exit code 2)
    ├── Refused              a command would lose data; a flag allows it (exit code 2)
    ├── StorageError         the lake or DuckDB could not be written or read (exit code 4)
    │   └── DatabaseBusy     another process holds the DuckDB file open
    └── ApiError             SWR or IAM answered with an error, or never answered well
        ├── AuthError        401: token, password or AK/SK refused; clock skew; IAM redirected
        ├── NotFoundError    404 SVCSTG.SWR.404…: namespace or repository unknown (`not_found`)
        ├── EndpointError    any other 404: the path is not offered here, or the URL is wrong
        ├── ResponseError    a 200 we cannot use: wrong JSON shape, repeating marker
        └── LimitError       one of our own bounds stopped a target (pages, bytes, deadline…)

`ApiError` carries the HTTP status, the error code, the request id, the endpoint and the
target as attributes, so callers can store them without parsing the message.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn

import orjson
from yarl import URL


class EtlError(Exception):
    """Base class: the CLI turns any of these into one line and an exit code."""

    exit_code = 1


class ConfigError(EtlError):
    """The config file, one of its keys, or a value is wrong."""

    exit_code = 2

    def __init__(self, message: str, *, file: str | None = None, key: str | None = None):
        self.file = file
        self.key = key
        where = ": ".join(part for part in (file, key) if part)
        super().__init__(f"{where}: {message}" if where else message)


class NameError_(EtlError):  # noqa: N801 - trailing underscore avoids the builtin
    """A namespace or repository name breaks a rule of the API page."""

    exit_code = 2

    def __init__(self, kind: str, name: str, rule: str):
        self.kind = kind
        self.name = name
        self.rule = rule
        super().__init__(f"invalid {kind} {name!r}: {rule}")


class LockHeldError(EtlError):
    """Another sync holds the lock on the output."""

    exit_code = 75


class Interrupted(EtlError):
    """SIGINT or SIGTERM arrived: the run stops and commits nothing partial (exit 128 + signal).

    `state` says what of the run is committed where; by default, nothing.
    """

    def __init__(self, signum: int, state: str = "nothing of this run was committed"):
        self.signum = signum
        self.exit_code = 128 + signum
        name = signal.Signals(signum).name
        super().__init__(f"interrupted by {name}: {state}")


def raise_interrupted(signum: int, frame: object) -> NoReturn:
    """A signal handler that turns SIGINT/SIGTERM into `Interrupted`."""
    raise Interrupted(signum)


class QueryError(EtlError):
    """SQL given by the user could not run."""

    exit_code = 2


class StorageError(EtlError):
    """The lake or the DuckDB file could not be written or read (disk full, busy, damaged)."""

    exit_code = 4


class DatabaseBusy(StorageError):
    """Another process (a dashboard, a notebook) holds the DuckDB file open."""


class Refused(EtlError):
    """A command would lose data as asked; the message names the flag that allows it."""

    exit_code = 2


class ApiError(EtlError):
    """An HTTP exchange with SWR or IAM failed; attributes say where and why."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        error_code: str | None = None,
        request_id: str | None = None,
        endpoint: str | None = None,
        target: str | None = None,
        retry_after: float | None = None,
    ):
        self.message = message
        self.status = status
        self.error_code = error_code
        self.request_id = request_id
        self.endpoint = endpoint
        self.target = target
        self.retry_after = retry_after
        super().__init__(message)

    def __str__(self) -> str:
        parts = [p for p in (self.endpoint, self.target) if p]
        head = " ".join(parts)
        detail = [f"HTTP {self.status}" if self.status is not None else None, self.error_code]
        info = " ".join(d for d in detail if d)
        tail = f" (request id {self.request_id})" if self.request_id else ""
        body = f"{info}: {self.message}" if info else self.message
        return f"{head}: {body}{tail}" if head else f"{body}{tail}"

    def at(
        self,
        *,
        endpoint: str | None = None,
        target: str | None = None,
        request_id: str | None = None,
    ) -> ApiError:
        """Return this error with endpoint, target and request id filled in where unknown."""
        self.endpoint = self.endpoint or endpoint
        self.target = self.target or target
        self.request_id = self.request_id or request_id
        return self


class AuthError(ApiError):
    """Credentials were refused (401), or the clock is too far off for AK/SK."""


class NotFoundError(ApiError):
    """The namespace or repository does not exist."""


class EndpointError(ApiError):
    """The endpoint does not offer this API (e.g. v3 not in this region)."""


class ResponseError(ApiError):
    """A successful status with a body we cannot use, or a pagination loop."""


class LimitError(ApiError):
    """One of our own bounds stopped a target; `error_code` names which (ETL.…), and the
    message names the config key that raises it. Never retried: the same answer would come."""


# --- error bodies → typed errors ------------------------------------------------------------

# FACTS.md: 404 APIGW.0101 means the gateway does not know the path (v3 not offered here).
UNKNOWN_PATH_CODE = "APIGW.0101"
CLOCK_SKEW_CODE = "APIGW.0303"
# FACTS.md: SWR's own "namespace / repository not found" codes are SVCSTG.SWR.404xxxx. Only
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
