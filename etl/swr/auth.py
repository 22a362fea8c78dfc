"""The three ways to authenticate to SWR: a static token, an IAM password token, AK/SK signing.

Every scheme turns a `SignableRequest` into the headers to send. AK/SK signing is built from
small pure steps (canonical request → string to sign → signature → header), the same steps as
the official SDK's `Signer`, so each can be checked against it.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from ssl import SSLContext
from typing import Literal, Protocol
from urllib.parse import quote, unquote

import aiohttp
import orjson

from etl.errors import AuthError, ResponseError
from etl.redact import remember_secrets
from etl.swr.wire import api_error_from_response, read_capped

ALGORITHM = "SDK-HMAC-SHA256"
SDK_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


@dataclass(frozen=True)
class SignableRequest:
    """What a request signer needs to see: method, host, un-encoded path, query and headers."""

    method: str
    host: str
    path: str
    query: Sequence[tuple[str, str]] = ()
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


# After a 401: "none" = retrying cannot help; "refresh" = the token was dropped and a retry
# fetches a new one (allowed once per request); "replaced" = another task already refreshed it.
Recovery = Literal["none", "refresh", "replaced"]


class Auth(Protocol):
    """An authentication scheme: headers for a request, and what to do after a 401."""

    async def headers_for(
        self, request: SignableRequest, session: aiohttp.ClientSession
    ) -> dict[str, str]: ...

    async def recover_from_401(self, used: Mapping[str, str]) -> Recovery:
        """Say whether a retry after a 401 may succeed, and whether it costs a refresh."""
        ...


# --- AK/SK: small pure steps ---------------------------------------------------------------


def escape(value: str) -> str:
    """Return `value` percent-encoded with only A-Za-z0-9-._~ left bare (docs/swr-api.md)."""
    return quote(value, safe="~")


def canonical_uri(path: str) -> str:
    """Return the path un-escaped, each segment re-escaped, with a trailing '/' for signing."""
    uri = "/".join(escape(segment) for segment in unquote(path).split("/"))
    return uri if uri.endswith("/") else uri + "/"


def canonical_query(query: Sequence[tuple[str, str]]) -> str:
    """Return the query sorted by key then value, both escaped; the SDK also sends this form."""
    return "&".join(f"{escape(k)}={escape(v)}" for k, v in sorted(query))


def signed_header_names(headers: Mapping[str, str]) -> list[str]:
    """Return the lowercased, sorted names of the headers that are signed (none with '_')."""
    return sorted(name.lower() for name in headers if "_" not in name)


def canonical_request(request: SignableRequest) -> str:
    """Return the canonical request string of SDK-HMAC-SHA256."""
    names = signed_header_names(request.headers)
    lowered = {k.lower(): str(v).strip() for k, v in request.headers.items()}
    headers_block = "".join(f"{name}:{lowered[name]}\n" for name in names)
    body_hash = hashlib.sha256(request.body).hexdigest() if request.body else EMPTY_BODY_SHA256
    return "\n".join(
        [
            request.method.upper(),
            canonical_uri(request.path),
            canonical_query(request.query),
            headers_block,
            ";".join(names),
            body_hash,
        ]
    )


def string_to_sign(canonical: str, sdk_date: str) -> str:
    """Return the string to sign for a canonical request made at `sdk_date`."""
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return f"{ALGORITHM}\n{sdk_date}\n{digest}"


def signature(secret_key: str, to_sign: str) -> str:
    """Return the hex HMAC-SHA256 of `to_sign`, keyed with the SK itself."""
    return hmac.new(secret_key.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


def authorization_header(access_key: str, names: Sequence[str], sig: str) -> str:
    """Return the value of the Authorization header."""
    return f"{ALGORITHM} Access={access_key}, SignedHeaders={';'.join(names)}, Signature={sig}"


def sign(request: SignableRequest, access_key: str, secret_key: str) -> str:
    """Return the Authorization header value for a request whose headers include X-Sdk-Date."""
    sdk_date = next(v for k, v in request.headers.items() if k.lower() == "x-sdk-date")
    sig = signature(secret_key, string_to_sign(canonical_request(request), sdk_date))
    return authorization_header(access_key, signed_header_names(request.headers), sig)


def sdk_date(now: float | None = None) -> str:
    """Return the current UTC time in X-Sdk-Date form."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return moment.strftime(SDK_DATE_FORMAT)


# --- the three schemes -------------------------------------------------------------------


class TokenAuth:
    """A static X-Auth-Token; a 401 cannot be recovered from."""

    def __init__(self, token: str):
        remember_secrets(token)
        self._token = token

    def __repr__(self) -> str:
        return "TokenAuth(token=***)"

    async def headers_for(
        self, request: SignableRequest, session: aiohttp.ClientSession
    ) -> dict[str, str]:
        return {"X-Auth-Token": self._token}

    async def recover_from_401(self, used: Mapping[str, str]) -> Recovery:
        return "none"


class AkSkAuth:
    """SDK-HMAC-SHA256 signing with X-Project-Id; every attempt is signed afresh."""

    def __init__(self, access_key: str, secret_key: str, project_id: str | None = None):
        remember_secrets(access_key, secret_key)
        self._ak = access_key
        self._sk = secret_key
        self._project_id = project_id

    def __repr__(self) -> str:
        return "AkSkAuth(ak=***, sk=***)"

    async def headers_for(
        self, request: SignableRequest, session: aiohttp.ClientSession
    ) -> dict[str, str]:
        headers = dict(request.headers)
        headers["X-Sdk-Date"] = sdk_date()
        if self._project_id:
            headers["X-Project-Id"] = self._project_id
        signable = SignableRequest(
            request.method, request.host, request.path, request.query, headers, request.body
        )
        headers["Authorization"] = sign(signable, self._ak, self._sk)
        return headers

    async def recover_from_401(self, used: Mapping[str, str]) -> Recovery:
        return "none"


@dataclass(frozen=True)
class IamCredentials:
    """What IAM needs for a password token; `repr` never shows the password."""

    iam_url: str
    domain: str
    user: str
    password: str = field(repr=False)
    project_name: str | None = None
    project_id: str | None = None

    def request_body(self) -> bytes:
        """Return the JSON body of POST /v3/auth/tokens, scoped to the project."""
        project = {"id": self.project_id} if self.project_id else {"name": self.project_name}
        user = {"name": self.user, "password": self.password, "domain": {"name": self.domain}}
        body = {
            "auth": {
                "identity": {"methods": ["password"], "password": {"user": user}},
                "scope": {"project": project},
            }
        }
        return orjson.dumps(body)


class IamPasswordAuth:
    """An IAM user token, fetched once, refreshed ahead of expiry and once after a 401.

    Concurrent requests share one refresh: the lock is re-checked after it is acquired, so a
    burst of 401s or an expiring token causes one IAM call, not a stampede.
    """

    def __init__(
        self,
        credentials: IamCredentials,
        *,
        refresh_margin_s: float = 300.0,
        timeout_s: float = 30.0,
        ssl: SSLContext | bool = True,
        max_answer_bytes: int = 2**20,
    ):
        remember_secrets(credentials.password)
        self._credentials = credentials
        self._margin = refresh_margin_s
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._ssl = ssl
        self._max_answer_bytes = max_answer_bytes
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"IamPasswordAuth(user={self._credentials.user!r}, password=***)"

    async def headers_for(
        self, request: SignableRequest, session: aiohttp.ClientSession
    ) -> dict[str, str]:
        return {"X-Auth-Token": await self._valid_token(session)}

    async def recover_from_401(self, used: Mapping[str, str]) -> Recovery:
        async with self._lock:
            # Only drop the token this request used: if another task already replaced it, the
            # retry simply uses the new one, so a burst of 401s causes a single IAM call.
            used_token = used.get("X-Auth-Token")
            if used_token is None or used_token == self._token:
                self._token = None
                return "refresh"
            return "replaced"

    async def _valid_token(self, session: aiohttp.ClientSession) -> str:
        if self._fresh_token() is not None:
            return self._token  # type: ignore[return-value]
        async with self._lock:
            if self._fresh_token() is None:
                self._token, self._expires_at = await self._fetch_token(session)
            return self._token  # type: ignore[return-value]

    def _fresh_token(self) -> str | None:
        if self._token is None or time.time() >= self._expires_at - self._margin:
            return None
        return self._token

    async def _fetch_token(self, session: aiohttp.ClientSession) -> tuple[str, float]:
        url = self._credentials.iam_url.rstrip("/") + "/v3/auth/tokens?nocatalog=true"
        headers = {"Content-Type": "application/json;charset=utf8"}
        body = self._credentials.request_body()
        try:
            # IAM never redirects: following one would post the password to another host.
            async with session.post(
                url,
                data=body,
                headers=headers,
                timeout=self._timeout,
                ssl=self._ssl,
                allow_redirects=False,
            ) as resp:
                payload = await read_capped(
                    resp, self._max_answer_bytes, "the bound for IAM token answers"
                )
                if resp.status not in (200, 201):
                    raise api_error_from_response(resp.status, payload, resp.headers, AuthError)
                token = resp.headers.get("X-Subject-Token")
                request_id = resp.headers.get("X-Request-Id")
        except (TimeoutError, aiohttp.ClientError) as exc:
            raise AuthError(f"IAM token request failed: {type(exc).__name__}") from exc
        if not token:
            raise ResponseError("IAM answered without X-Subject-Token", request_id=request_id)
        remember_secrets(token)
        return token, token_expiry(payload, request_id)


def token_expiry(payload: bytes, request_id: str | None = None) -> float:
    """Return the epoch seconds of `token.expires_at` in an IAM token response body."""
    try:
        expires = orjson.loads(payload)["token"]["expires_at"]
        moment = datetime.fromisoformat(expires.replace("Z", "+00:00"))
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ResponseError(
            "IAM token response has no readable token.expires_at", request_id=request_id
        ) from exc
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()
