"""AK/SK signing against docs/swr-api.md's vectors and the official SDK; IAM password tokens."""

from __future__ import annotations

import asyncio
import re

import aiohttp
import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkcore.sdk_request import SdkRequest
from huaweicloudsdkcore.signer.signer import Signer
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.errors import AuthError
from etl.fakeswr import FakeSwr, Options
from etl.swr.auth import AkSkAuth, IamCredentials, IamPasswordAuth, SignableRequest, TokenAuth, sign

AK = "EXAMPLEAK0000000000001"
SK = "exampleSecretKey0000000000000000000000001"
HOST = "swr-api.cn-north-4.myhuaweicloud.com"
BASE_HEADERS = {"Content-Type": "application/json", "X-Sdk-Date": "20240115T080000Z", "Host": HOST}


def signature_of(authorization: str) -> str:
    match = re.search(r"Signature=(\w+)", authorization)
    assert match is not None
    return match.group(1)


@pytest.mark.parametrize(
    ("path", "query", "extra", "expected"),
    [
        pytest.param(
            "/v3/manage/namespaces/myorg/repos/nginx/tags",
            [("limit", "100")],
            {},
            "9faa30a7948e999fac2eab9f429112a13256e83bdd47bce47a776bdd7f3d07f4",
            id="plain-limit",
        ),
        pytest.param(
            "/v3/manage/namespaces/myorg/repos/group%24app/tags",
            [("with_manifest", "true"), ("marker", "abc=="), ("limit", "1000"), ("tag", "v1 beta")],
            {"X-Project-Id": "0123456789abcdef0123456789abcdef"},
            "6711278abe1b65b36997405f5d732865e0c42a99e86bccafc78859cf8c26caea",
            id="dollar-marker-space-project",
        ),
    ],
)
def test_facts_md_signing_vectors(
    path: str, query: list[tuple[str, str]], extra: dict[str, str], expected: str
) -> None:
    request = SignableRequest("GET", HOST, path, query, {**BASE_HEADERS, **extra})
    header = sign(request, AK, SK)
    assert signature_of(header) == expected
    assert header.startswith(f"SDK-HMAC-SHA256 Access={AK}, SignedHeaders=")


def sdk_signature(path: str, query: list[tuple[str, str]], headers: dict[str, str]) -> str:
    """Sign with the official SDK's Signer (the test-only cross-check)."""
    request = SdkRequest(
        method="GET",
        schema="https",
        host=HOST,
        resource_path=path,
        query_params=list(query),
        header_params=dict(headers),
        body="",
    )
    signed = Signer(BasicCredentials(AK, SK)).sign(request)
    return str(signed.header_params["Authorization"])


query_values = st.text(
    alphabet=st.sampled_from(list("abcXYZ019 +/=$&?%~._-é")), min_size=0, max_size=12
)
query_keys = st.sampled_from(["limit", "marker", "tag", "with_manifest", "order_column", "x"])
repo_names = st.sampled_from(["nginx", "group$app", "a$b$c", "tools$build__cache", "web.v2"])


@settings(max_examples=150, deadline=None)
@given(
    repo=repo_names,
    raw_dollar=st.booleans(),
    query=st.lists(st.tuples(query_keys, query_values), max_size=5),
    project=st.one_of(st.none(), st.text(alphabet="0123456789abcdef", min_size=32, max_size=32)),
)
def test_signature_equals_the_official_sdk(
    repo: str, raw_dollar: bool, query: list[tuple[str, str]], project: str | None
) -> None:
    encoded = repo if raw_dollar else repo.replace("$", "%24")
    path = f"/v3/manage/namespaces/myorg/repos/{encoded}/tags"
    headers = dict(BASE_HEADERS)
    if project:
        headers["X-Project-Id"] = project
    ours = sign(SignableRequest("GET", HOST, path, query, headers), AK, SK)
    assert ours == sdk_signature(path, query, headers)


async def test_aksk_headers_are_signed_afresh_each_time(monkeypatch: pytest.MonkeyPatch) -> None:
    auth = AkSkAuth(AK, SK, project_id="p" * 32)
    request = SignableRequest("GET", HOST, "/v3/x", [("limit", "1")], {"Host": HOST})
    dates = iter(["20240115T080000Z", "20240115T080000Z", "20240115T080007Z"])
    monkeypatch.setattr("etl.swr.auth.sdk_date", lambda: next(dates))
    async with aiohttp.ClientSession() as session:
        first, again, later = [await auth.headers_for(request, session) for _ in range(3)]
    assert first["X-Project-Id"] == "p" * 32
    assert "project-id" in first["Authorization"]
    assert re.fullmatch(r"\d{8}T\d{6}Z", first["X-Sdk-Date"])
    assert again == first  # the same request at the same second: the same signature
    assert later["X-Sdk-Date"] != first["X-Sdk-Date"]  # each call takes the time anew...
    assert later["Authorization"] != first["Authorization"]  # ...and signs it anew


@pytest.mark.parametrize(
    "auth",
    [
        pytest.param(TokenAuth("tok-SECRET-1"), id="token"),
        pytest.param(AkSkAuth("AK-SECRET", "SK-SECRET"), id="aksk"),
        pytest.param(
            IamPasswordAuth(IamCredentials("http://iam", "d", "u", "PW-SECRET", "p")), id="password"
        ),
    ],
)
def test_repr_never_shows_secrets(auth: object) -> None:
    assert "SECRET" not in repr(auth)


def iam_auth(fake: FakeSwr, **kwargs: float) -> IamPasswordAuth:
    creds = fake.credentials
    return IamPasswordAuth(
        IamCredentials(fake.url, creds.domain, creds.user, creds.password, creds.project_name),
        **kwargs,
    )


async def test_password_token_is_fetched_once_by_many_concurrent_requests(fake: FakeSwr) -> None:
    auth = iam_auth(fake)
    request = SignableRequest("GET", "h", "/", [], {})
    async with aiohttp.ClientSession() as session:
        headers = await asyncio.gather(*(auth.headers_for(request, session) for _ in range(50)))
    assert len({h["X-Auth-Token"] for h in headers}) == 1
    assert fake.state.stats.iam_tokens_issued == 1


async def test_password_token_is_refreshed_ahead_of_expiry(fake: FakeSwr) -> None:
    fake.options.token_ttl_s = 10
    auth = iam_auth(fake, refresh_margin_s=60)  # a 10 s token is always inside the margin
    request = SignableRequest("GET", "h", "/", [], {})
    async with aiohttp.ClientSession() as session:
        first = await auth.headers_for(request, session)
        second = await auth.headers_for(request, session)
    assert first != second
    assert fake.state.stats.iam_tokens_issued == 2


async def test_a_401_drops_the_token_once_for_all_waiters(fake: FakeSwr) -> None:
    auth = iam_auth(fake)
    request = SignableRequest("GET", "h", "/", [], {})
    async with aiohttp.ClientSession() as session:
        used = await auth.headers_for(request, session)
        outcomes = await asyncio.gather(*(auth.recover_from_401(used) for _ in range(20)))
        fresh = await asyncio.gather(*(auth.headers_for(request, session) for _ in range(20)))
    assert sorted(set(outcomes)) == ["refresh", "replaced"] and outcomes.count("refresh") == 1
    assert len({h["X-Auth-Token"] for h in fresh}) == 1
    assert fresh[0] != used
    assert fake.state.stats.iam_tokens_issued == 2


async def test_wrong_password_is_an_auth_error_without_the_password(fake: FakeSwr) -> None:
    creds = fake.credentials
    auth = IamPasswordAuth(
        IamCredentials(fake.url, creds.domain, creds.user, "WRONG-PW", "cn-north-4")
    )
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AuthError) as info:
            await auth.headers_for(SignableRequest("GET", "h", "/", [], {}), session)
    assert info.value.status == 401
    assert "username or password" in str(info.value)
    assert "WRONG-PW" not in str(info.value)


def test_fake_options_default_is_a_day_long_token() -> None:
    assert Options().token_ttl_s == 24 * 3600
