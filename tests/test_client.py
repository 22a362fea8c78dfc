"""The client against the local SWR API over loopback: pages, retries, errors, rate limits."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import orjson
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from etl.errors import ApiError, AuthError, EndpointError, NotFoundError, ResponseError
from etl.fakeswr import FakeSwr, FaultPlan, Options, Registry, generate_registry, start, stop
from etl.results import RequestStats
from etl.swr.client import RetryPolicy, SwrClient, TokenBucket
from etl.swr.lists import tag_list
from tests.api import all_tags, client_for, serve
from tests.registries import expected_tags


@pytest.mark.parametrize("auth", ["token", "password", "aksk"])
async def test_every_repository_is_read_exactly_with_each_auth(
    fake: FakeSwr, small_registry: Registry, auth: str
) -> None:
    async with client_for(fake, auth) as client:
        for namespace, repository in small_registry.repositories:
            got = await all_tags(client, namespace, repository, page_size=17)
            assert got == expected_tags(small_registry, namespace, repository)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(page_size=st.integers(1, 1000), tags=st.integers(0, 400), seed=st.integers(0, 10**6))
def test_any_page_size_over_any_registry_yields_every_tag_once(
    page_size: int, tags: int, seed: int
) -> None:
    registry = generate_registry(repos=3, tags=tags, seed=seed)

    async def crawl() -> None:
        server = await start(registry)
        try:
            async with client_for(server) as client:
                for namespace, repository in registry.repositories:
                    got = await all_tags(client, namespace, repository, page_size=page_size)
                    assert [t["id"] for t in got] == [
                        t.id for t in registry.tags(namespace, repository)
                    ]
        finally:
            await stop(server)

    asyncio.run(crawl())


async def test_pages_count_requests_and_follow_the_marker(
    fake: FakeSwr, small_registry: Registry
) -> None:
    (namespace, repository), repo = max(
        small_registry.repositories.items(), key=lambda item: len(item[1].tags)
    )
    stats = RequestStats()
    async with client_for(fake) as client:
        listing = tag_list(namespace, repository, page_size=10)
        pages = [p async for p in client.iter_pages(listing, stats)]
    assert len(pages) == -(-len(repo.tags) // 10)
    assert stats.pages == stats.requests == len(pages)
    assert all(p.body.markers.get("nextMarker") for p in pages[:-1])
    assert "nextMarker" not in pages[-1].body.markers
    assert all(p.request_id for p in pages)


@pytest.mark.parametrize(
    "options",
    [
        pytest.param(Options(marker_key="next_marker"), id="terraform-next_marker"),
        pytest.param(Options(has_more=False), id="no-has_more-key"),
    ],
)
async def test_marker_spellings_are_both_followed(
    small_registry: Registry, options: Options
) -> None:
    server = await start(small_registry, options=options)
    try:
        async with client_for(server) as client:
            for namespace, repository in list(small_registry.repositories)[:5]:
                got = await all_tags(client, namespace, repository, page_size=7)
                assert got == expected_tags(small_registry, namespace, repository)
    finally:
        await stop(server)


async def test_a_repository_with_a_slash_is_sent_with_a_dollar(
    fake: FakeSwr, small_registry: Registry
) -> None:
    slashed = [key for key in small_registry.repositories if "/" in key[1]]
    assert slashed
    async with client_for(fake) as client:
        for namespace, repository in slashed:
            assert await all_tags(client, namespace, repository) == expected_tags(
                small_registry, namespace, repository
            )


async def test_fuzzy_filter_and_manifests(fake: FakeSwr, small_registry: Registry) -> None:
    namespace, repository = next(iter(small_registry.repositories))
    async with client_for(fake) as client:
        got = await all_tags(client, namespace, repository, tag="v", with_manifest=True)
    assert got and all("v" in t["tag"] for t in got)
    assert all(orjson.loads(t["manifest"])["schemaVersion"] in (1, 2) for t in got)


async def test_unknown_repository_is_not_found_with_request_id(fake: FakeSwr) -> None:
    async with client_for(fake) as client:
        with pytest.raises(NotFoundError) as info:
            await all_tags(client, "platform", "does-not-exist")
    error = info.value
    assert (error.status, error.error_code) == (404, "SVCSTG.SWR.4040002")
    assert error.request_id and error.request_id in str(error)
    assert error.endpoint == "local" and error.target == "platform/does-not-exist"
    assert fake.state.stats.requests == 1  # a 404 is never retried


async def test_page_size_outside_1_to_1000_is_refused_before_any_request(fake: FakeSwr) -> None:
    async with client_for(fake) as client:
        for size in (0, 1001):
            with pytest.raises(ValueError, match="page_size"):
                await all_tags(client, "platform", "api", page_size=size)
    assert fake.state.stats.requests == 0


async def test_a_static_token_that_is_refused_fails_after_one_request(
    fake: FakeSwr, small_registry: Registry
) -> None:
    client = client_for(fake)
    sent_token = fake.credentials.token
    fake.credentials.token = "rotated-elsewhere"
    async with client:
        with pytest.raises(AuthError) as info:
            await all_tags(client, *next(iter(small_registry.repositories)))
    assert info.value.error_code == "APIGW.0301"
    assert sent_token not in str(info.value) and sent_token not in repr(info.value.__dict__)
    assert fake.state.stats.requests == 1


async def test_expired_password_token_is_refreshed_mid_crawl(
    fake: FakeSwr, small_registry: Registry
) -> None:
    async with client_for(fake, "password") as client:
        namespace, repository = next(iter(small_registry.repositories))
        await all_tags(client, namespace, repository)
        for token in fake.state.issued_tokens:
            fake.state.issued_tokens[token] = 0.0  # every token expires now
        got = await all_tags(client, namespace, repository)
    assert got == expected_tags(small_registry, namespace, repository)
    assert fake.state.stats.iam_tokens_issued == 2


async def test_aksk_clock_skew_is_explained(
    fake: FakeSwr, small_registry: Registry, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("etl.swr.auth.sdk_date", lambda now=None: "20200101T000000Z")
    async with client_for(fake, "aksk") as client:
        with pytest.raises(AuthError, match="clock skew") as info:
            await all_tags(client, *next(iter(small_registry.repositories)))
    assert info.value.error_code == "APIGW.0303"


async def test_v3_not_offered_is_an_endpoint_error(fake: FakeSwr) -> None:
    async with client_for(fake) as client:
        with pytest.raises(EndpointError) as info:
            await client.get_json("/v3/manage/unknown", [])
    assert (info.value.status, info.value.error_code) == (404, "APIGW.0101")


ERROR_BODIES = [
    pytest.param(
        {
            "errors": [{"errorCode": "SVCSTG.SWR.4001025", "errorMessage": "bad", "detail": "d"}],
            "error_code": "SVCSTG.SWR.4001025",
            "error_msg": "bad",
        },
        "SVCSTG.SWR.4001025",
        "bad",
        id="swr-full",
    ),
    pytest.param(
        [{"errorCode": "SVCSTG.SWR.4001025", "errorMessage": "bad", "detail": "d"}],
        "SVCSTG.SWR.4001025",
        "bad",
        id="swr-bare-array",
    ),
    pytest.param(
        {"errors": [{"errorCode": "SVCSTG.SWR.4001025", "errorMessage": "bad"}]},
        "SVCSTG.SWR.4001025",
        "bad",
        id="swr-errors-only",
    ),
    pytest.param(
        {"error_code": "APIGW.0101", "error_msg": "no api", "request_id": "gw-123"},
        "APIGW.0101",
        "no api",
        id="api-gateway",
    ),
    pytest.param(
        {"error": {"code": "1101", "message": "bad user", "title": "Bad Request"}},
        "1101",
        "bad user",
        id="iam",
    ),
]


@pytest.mark.parametrize(("body", "code", "message"), ERROR_BODIES)
async def test_every_error_body_shape_is_parsed(body: Any, code: str, message: str) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.json_response(body, status=400, headers={"X-Request-Id": "req-42"})

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with serve(app) as url, SwrClient(url, _NoAuth()) as client:
        with pytest.raises(ApiError) as info:
            await client.get_json("/x", [])
    assert (info.value.status, info.value.error_code) == (400, code)
    assert message in str(info.value) and info.value.request_id == "req-42"


@pytest.mark.parametrize(
    ("status", "body", "content_type", "expected"),
    [
        pytest.param(
            502, b"<html><body>Bad gateway</body></html>", "text/html", "text/html", id="html"
        ),
        pytest.param(503, b"", "text/plain", "empty response body", id="empty"),
    ],
)
async def test_non_json_error_bodies_are_described(
    status: int, body: bytes, content_type: str, expected: str
) -> None:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, status=status, content_type=content_type)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    retry = RetryPolicy(max_attempts=2, base_delay_s=0.001)
    async with serve(app) as url, SwrClient(url, _NoAuth(), retry=retry) as client:
        stats = RequestStats()
        with pytest.raises(ApiError, match=expected) as info:
            await client.get_json("/x", [], stats=stats)
    assert info.value.status == status
    assert stats.requests == 2  # 5xx is retried up to max_attempts


class _NoAuth:
    async def headers_for(self, request: object, session: object) -> dict[str, str]:
        return {}

    async def recover_from_401(self, used: object) -> str:
        return "none"


def scripted_app(
    answers: list[tuple[int, dict[str, str], Any]],
) -> tuple[web.Application, list[float]]:
    """An app that gives the scripted answers in order, then 200 with no tags; logs times."""
    times: list[float] = []

    async def handler(request: web.Request) -> web.Response:
        times.append(time.monotonic())
        status, headers, body = answers.pop(0) if answers else (200, {}, {"tags": []})
        return web.json_response(body, status=status, headers=headers)

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    return app, times


@pytest.mark.parametrize(
    ("status", "code", "retried"),
    [
        pytest.param(500, "SVCSTG.SWR.5000001", True, id="500-retried"),
        pytest.param(429, "APIGW.0308", True, id="429-retried"),
        pytest.param(403, "SVCSTG.SWR.4031032", True, id="403-swr-too-many-requests-retried"),
        pytest.param(409, "SVCSTG.SWR.4090023", True, id="409-busy-retried"),
        pytest.param(400, "SVCSTG.SWR.4001025", False, id="400-not-retried"),
        pytest.param(403, "SVCSTG.SWR.4030001", False, id="403-forbidden-not-retried"),
        pytest.param(404, "SVCSTG.SWR.4040002", False, id="404-not-retried"),
    ],
)
async def test_which_failures_are_retried(status: int, code: str, retried: bool) -> None:
    app, times = scripted_app([(status, {}, {"error_code": code, "error_msg": "x"})])
    retry = RetryPolicy(max_attempts=3, base_delay_s=0.001)
    async with serve(app) as url, SwrClient(url, _NoAuth(), retry=retry) as client:
        if retried:
            answer = await client.get_json("/x", [])
            assert answer.body == {"tags": []}
        else:
            with pytest.raises(ApiError):
                await client.get_json("/x", [])
    assert len(times) == (2 if retried else 1)


async def test_retry_after_is_honoured() -> None:
    app, times = scripted_app(
        [(429, {"Retry-After": "0.3"}, {"error_code": "APIGW.0308", "error_msg": "slow"})]
    )
    retry = RetryPolicy(max_attempts=3, base_delay_s=0.001)
    async with serve(app) as url, SwrClient(url, _NoAuth(), retry=retry) as client:
        await client.get_json("/x", [])
    assert times[1] - times[0] >= 0.28


async def test_a_truncated_200_is_retried() -> None:
    calls = 0

    async def handler(request: web.Request) -> web.Response:
        nonlocal calls
        calls += 1
        body = b'{"tags": [{"id": 1' if calls == 1 else b'{"tags": []}'
        return web.Response(body=body, content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", handler)
    async with (
        serve(app) as url,
        SwrClient(url, _NoAuth(), retry=RetryPolicy(base_delay_s=0.001)) as client,
    ):
        assert (await client.get_json("/x", [])).body == {"tags": []}
    assert calls == 2


@pytest.mark.parametrize(
    ("pages", "expected"),
    [
        pytest.param(
            [{"tags": [], "nextMarker": "a"}, {"tags": [], "nextMarker": "a"}],
            "repeated",
            id="repeating-marker",
        ),
        pytest.param([{"tags": [], "has_more": True}], "has_more", id="has_more-without-marker"),
        pytest.param([{"tags": {"id": 1}}], "not a list", id="tags-not-a-list"),
        pytest.param([["not", "an", "object"]], "JSON object", id="body-is-a-list"),
    ],
)
async def test_unusable_pages_are_response_errors(pages: list[Any], expected: str) -> None:
    app, _ = scripted_app([(200, {}, page) for page in pages])
    async with serve(app) as url, SwrClient(url, _NoAuth()) as client:
        with pytest.raises(ResponseError, match=expected) as info:
            [p async for p in client.iter_pages(tag_list("ns", "repo"))]
    assert info.value.target == "ns/repo"


async def test_mixed_faults_at_20_percent_still_give_exactly_the_registry(
    small_registry: Registry,
) -> None:
    faults = FaultPlan(rate=0.2, seed=3, slow_s=0.6, retry_after_s=0.01)
    server = await start(small_registry, options=Options(faults=faults))
    try:
        async with client_for(server, "password", timeout_s=0.3) as client:
            for namespace, repository in small_registry.repositories:
                got = await all_tags(client, namespace, repository, page_size=5)
                assert got == expected_tags(small_registry, namespace, repository)
    finally:
        await stop(server)
    assert set(faults.injected) == {
        "500",
        "429",
        "429_retry_after",
        "reset",
        "truncated",
        "slow",
        "token_expiry",
    }


async def test_the_rate_limit_holds_at_the_server(fake: FakeSwr, small_registry: Registry) -> None:
    client = client_for(fake, requests_per_second=40)
    async with client:
        await asyncio.gather(
            *(
                all_tags(client, ns, repo, page_size=5)
                for ns, repo in list(small_registry.repositories)[:8]
            )
        )
    times = fake.state.stats.request_times
    assert len(times) > 60
    busiest = max(sum(1 for t in times if start <= t < start + 1.0) for start in times)
    assert busiest <= 42  # 40/s, the one-request burst, one late arrival; unlimited: hundreds


async def test_429s_slow_the_shared_rate_and_the_crawl_still_finishes(
    small_registry: Registry,
) -> None:
    server = await start(small_registry, options=Options(rate_limit_rps=30))
    try:
        client = client_for(server, requests_per_second=200)
        async with client:
            targets = list(small_registry.repositories)[:4]
            got = await asyncio.gather(*(all_tags(client, *t, page_size=2) for t in targets))
        assert got == [expected_tags(small_registry, *t) for t in targets]
        assert server.state.stats.throttled > 0
        assert client.limiter.rate < 200
    finally:
        await stop(server)


async def test_token_bucket_paces_requests() -> None:
    bucket = TokenBucket(rate=100)
    began = time.monotonic()
    for _ in range(21):
        await bucket.acquire()
    assert time.monotonic() - began >= 0.19
