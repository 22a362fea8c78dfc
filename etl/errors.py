"""Every error swr-tag-etl raises on purpose.

    EtlError
    ├── ConfigError          bad config file, key or value (exit code 2)
    ├── NameError_           a namespace/repository breaks a rule of the API page
    ├── LockHeldError        another sync holds the lock (exit code 75)
    ├── Interrupted          SIGINT/SIGTERM stopped a run (exit code 130/143)
    ├── QueryError           SQL given to `swr-etl query` failed or tried to write (exit code 2)
    ├── UsageError           a command's option or argument names nothing usable (exit code 2)
    ├── Refused              a command would lose data; a flag allows it (exit code 2)
    ├── StorageError         the lake or DuckDB could not be written or read (exit code 4)
    │   ├── DatabaseBusy     another process holds the DuckDB file open
    │   ├── NewerLakeFormat  the lake holds a run this release cannot read (a newer format)
    │   └── WriteFailed      a file of the run's own could not be written (full disk, EIO…)
    └── ApiError             SWR or IAM answered with an error, or never answered well
        ├── AuthError        401: token, password or AK/SK refused; clock skew; IAM redirected
        ├── NotFoundError    404 SVCSTG.SWR.404…: namespace or repository unknown (`not_found`)
        ├── EndpointError    any other 404: the path is not offered here, or the URL is wrong
        ├── ResponseError    a 200 we cannot use: wrong JSON shape, repeating marker
        └── LimitError       one of our own bounds stopped a target (pages, bytes, deadline…)

`ApiError` carries the HTTP status, the error code, the request id, the endpoint and the
target as attributes, so callers can store them without parsing the message. Turning an
error response into one of these is wire work: it lives in `etl.swr.wire`.
"""

from __future__ import annotations

import errno
import os
import signal
from typing import NoReturn

from etl.redact import redact, redact_or_none

# Said where a dashboard is asked for without Plotly: at the start (config) and on `dashboard`.
NEEDS_PLOTLY = "the dashboard needs plotly: pip install 'swr-tag-etl[dashboard]'"


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


class UsageError(EtlError):
    """An option or argument of a command is malformed or names nothing (a run, a number)."""

    exit_code = 2


class StorageError(EtlError):
    """The lake or the DuckDB file could not be written or read (disk full, busy, damaged)."""

    exit_code = 4


class DatabaseBusy(StorageError):
    """Another process (a dashboard, a notebook) holds the DuckDB file open."""


class NewerLakeFormat(StorageError):
    """A committed run is written in a lake format newer than this release reads: the reader
    is old, the run is not broken (it is never set aside for it)."""


class WriteFailed(StorageError):
    """A file of the run's own could not be written: the disk under `folder` failed (full,
    over quota, read-only, EIO), not anything a server sent. It stops the run."""

    def __init__(self, folder: str, exc: BaseException):
        self.folder = folder
        self.reason = os_reason(exc)
        super().__init__(f"cannot write {folder}: {self.reason}")


def os_reason(exc: BaseException) -> str:
    """Return the OS's words for a failed read or write (`No space left on device (ENOSPC)`),
    else the error's own message."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and isinstance(code, int) and code in errno.errorcode:
        return f"{os.strerror(code)} ({errno.errorcode[code]})"
    if isinstance(exc, OSError) and exc.strerror:  # a name lookup's (socket.gaierror)
        return exc.strerror
    return str(exc)


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
        # What a server said may echo what we sent it: no secret we hold survives in it.
        message = redact(message)
        self.message = message
        self.status = status
        self.error_code = redact_or_none(error_code)
        self.request_id = redact_or_none(request_id)
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
        self.request_id = self.request_id or redact_or_none(request_id)
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
