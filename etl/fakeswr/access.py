"""The local SWR API's doors: IAM password tokens, and the check of every SWR request's token
or AK/SK signature (the one place that reuses the client's signer, pinned to the SDK's)."""

from __future__ import annotations

import hmac
import re
import secrets
import time
from datetime import UTC, datetime

import orjson
from aiohttp import web

from etl.fakeswr.state import REQUEST_ID, STATE, SwrState, gateway_error, json_response
from etl.swr.auth import SignableRequest, sign

AUTH_RE = re.compile(r"SDK-HMAC-SHA256 Access=([^,]+), SignedHeaders=([^,]+), Signature=(\w+)")
MAX_SKEW_S = 15 * 60  # docs/swr-api.md: APIGW.0303 when X-Sdk-Date is more than 15 minutes off


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
    stamp = datetime.fromtimestamp(expires, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
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
    if abs(when.replace(tzinfo=UTC).timestamp() - time.time()) > MAX_SKEW_S:
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
