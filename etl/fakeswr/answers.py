"""What every SWR list of the local API does before and after its own work: refuse a request
(an API switched off, throttling, credentials, an injected fault) and send a page (or break it
on the way out, as the 'reset' and 'truncated' faults do)."""

from __future__ import annotations

import asyncio

from aiohttp import web

from etl.fakeswr.access import authentication_error
from etl.fakeswr.state import REQUEST_ID, SwrState, gateway_error


async def admitted(
    request: web.Request, state: SwrState, version: str
) -> tuple[web.Response | None, str | None]:
    """Return (the answer that replaces this request's, or None; the fault drawn for it)."""
    missing = unknown_api(request, state, version)
    if missing is not None:
        return missing, None
    return await refusal(request, state)


def unknown_api(request: web.Request, state: SwrState, version: str) -> web.Response | None:
    """Return APIGW's "API not found" when this API version is switched off, else None."""
    if state.options.api in ("both", version):
        return None
    return gateway_error(
        404,
        "APIGW.0101",
        "The API does not exist or has not been published in the environment",
        request[REQUEST_ID],
    )


async def refusal(request: web.Request, state: SwrState) -> tuple[web.Response | None, str | None]:
    """Return (the answer that replaces this request's, or None; the fault drawn for it):
    throttling, authentication and injected faults, the same for every SWR list."""
    if state.over_rate_limit():
        state.stats.throttled += 1
        return gateway_error(
            429, "APIGW.0308", "The throttling threshold has been reached", request[REQUEST_ID]
        ), None
    denied = authentication_error(request, state)
    if denied is not None:
        return denied, None
    fault = state.options.faults.draw(request.path_qs)
    return await early_fault(request, state, fault), fault


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
    request: web.Request,
    state: SwrState,
    body: bytes,
    fault: str | None,
    headers: dict[str, str] | None = None,
) -> web.StreamResponse:
    """Send a page, or break it on the way out for the 'reset' and 'truncated' faults."""
    if fault not in ("reset", "truncated"):
        return web.Response(body=body, content_type="application/json", headers=headers)
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
