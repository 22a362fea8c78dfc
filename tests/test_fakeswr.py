"""The local SWR API follows the API page and docs/swr-api.md, read independently of the client."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import aiohttp
import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl.fakeswr import (
    FakeSwr,
    FaultPlan,
    Options,
    Registry,
    generate_registry,
    next_day,
    next_hour,
    repush_everything,
    start,
    stop,
)
from etl.fakeswr.admin import fingerprint, registry_rows
from etl.fakeswr.lists import repository_item
from etl.fakeswr.registry import INT64_MAX, Repository
from etl.swr.names import validate_namespace, validate_repository
from etl.swr.wire import error_fields
from tests.registries import expected_row, parse_time


@pytest.fixture
async def http(fake: FakeSwr) -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP session carrying the local API's static token."""
    headers = {"X-Auth-Token": fake.credentials.token, "Content-Type": "application/json"}
    async with aiohttp.ClientSession(fake.url, headers=headers) as session:
        yield session


def tags_path(namespace: str, repository: str) -> str:
    return f"/v3/manage/namespaces/{namespace}/repos/{repository.replace('/', '%24')}/tags"


def biggest(registry: Registry) -> tuple[str, str]:
    return max(registry.repositories, key=lambda k: len(registry.repositories[k].tags))


def error_code(body: Any) -> str:
    """The code of any error shape (the test's own, deliberately simple reading)."""
    if isinstance(body, list):
        return str(body[0]["errorCode"])
    return str(body.get("error_code") or body["errors"][0]["errorCode"])


async def get(http: aiohttp.ClientSession, path: str, **params: str) -> tuple[int, Any, Any]:
    async with http.get(path, params=params) as resp:
        return resp.status, await resp.json(content_type=None), resp.headers


async def test_default_page_is_100_with_next_marker_and_has_more(
    http: aiohttp.ClientSession, small_registry: Registry
) -> None:
    namespace, repository = biggest(small_registry)
    assert len(small_registry.tags(namespace, repository)) > 100
    status, body, headers = await get(http, tags_path(namespace, repository))
    assert status == 200 and len(body["tags"]) == 100
    assert body["has_more"] is True and body["nextMarker"]
    assert set(body["tags"][0]) == {
        "id",
        "repo_id",
        "tag",
        "image_id",
        "manifest",
        "digest",
        "schema",
        "path",
        "internal_path",
        "size",
        "is_trusted",
        "created",
        "updated",
        "domain_id",
        "tag_type",
    }
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-Id"])


@pytest.mark.parametrize("limit", ["0", "1001", "-1", "ten"])
async def test_limit_outside_1_to_1000_is_400(http: aiohttp.ClientSession, limit: str) -> None:
    status, body, _ = await get(http, tags_path("platform", "api"), limit=limit)
    assert status == 400 and error_code(body) == "SVCSTG.SWR.4000056"


@pytest.mark.parametrize(
    "marker",
    ["forged", "AAAAAAAAAAAAAAA=", "", "abc+/=="],
    ids=["word", "base64", "empty", "symbols"],
)
async def test_a_forged_marker_is_400(http: aiohttp.ClientSession, marker: str) -> None:
    status, body, _ = await get(http, tags_path("platform", "api"), marker=marker)
    assert status == 400 and error_code(body) == "SVCSTG.SWR.4001025"


async def test_a_marker_from_another_repository_is_refused(
    http: aiohttp.ClientSession, small_registry: Registry
) -> None:
    namespace, repository = biggest(small_registry)
    _, body, _ = await get(http, tags_path(namespace, repository), limit="1")
    other = next(k for k in small_registry.repositories if k != (namespace, repository))
    status, _, _ = await get(http, tags_path(*other), marker=body["nextMarker"])
    assert status == 400


async def test_raw_dollar_and_percent_24_are_both_accepted(
    http: aiohttp.ClientSession, small_registry: Registry
) -> None:
    namespace, repository = next(k for k in small_registry.repositories if "/" in k[1])
    raw = f"/v3/manage/namespaces/{namespace}/repos/{repository.replace('/', '$')}/tags"
    first = await get(http, raw)
    second = await get(http, tags_path(namespace, repository))
    assert first[0] == second[0] == 200 and first[1] == second[1]


async def test_tag_filter_is_a_substring_match(
    http: aiohttp.ClientSession, small_registry: Registry
) -> None:
    namespace, repository = biggest(small_registry)
    _, body, _ = await get(http, tags_path(namespace, repository), tag="v", limit="1000")
    expected = [t.tag for t in small_registry.tags(namespace, repository) if "v" in t.tag]
    assert [t["tag"] for t in body["tags"]] == expected


@pytest.mark.parametrize(("order_type", "reverse"), [("asc", False), ("desc", True)])
async def test_order_by_tag(
    http: aiohttp.ClientSession, small_registry: Registry, order_type: str, reverse: bool
) -> None:
    namespace, repository = biggest(small_registry)
    _, body, _ = await get(
        http,
        tags_path(namespace, repository),
        limit="1000",
        order_column="tag",
        order_type=order_type,
    )
    names = [t["tag"] for t in body["tags"]]
    assert names == sorted(names, reverse=reverse)


async def test_order_column_without_order_type_is_400(http: aiohttp.ClientSession) -> None:
    status, _, _ = await get(http, tags_path("platform", "api"), order_column="tag")
    assert status == 400


async def test_with_manifest_returns_the_manifest_whose_hash_is_the_digest(
    http: aiohttp.ClientSession,
) -> None:
    _, body, _ = await get(http, tags_path("platform", "api"), with_manifest="true")
    for tag in body["tags"]:
        assert "sha256:" + hashlib.sha256(tag["manifest"].encode()).hexdigest() == tag["digest"]


@pytest.mark.parametrize(
    ("namespace", "repository", "status", "code"),
    [
        pytest.param("Platform", "api", 400, "SVCSTG.SWR.4001025", id="bad-namespace"),
        pytest.param("platform", "a__-b", 400, "SVCSTG.SWR.4001025", id="bad-repository"),
        pytest.param("nobody", "api", 404, "SVCSTG.SWR.4040001", id="unknown-namespace"),
        pytest.param(
            "platform", "nothing-here", 404, "SVCSTG.SWR.4040002", id="unknown-repository"
        ),
    ],
)
async def test_name_errors(
    http: aiohttp.ClientSession, namespace: str, repository: str, status: int, code: str
) -> None:
    got_status, body, headers = await get(http, tags_path(namespace, repository))
    assert (got_status, error_code(body)) == (status, code)
    assert headers["X-Request-Id"]


async def test_swr_errors_rotate_through_the_three_shapes(http: aiohttp.ClientSession) -> None:
    bodies = [(await get(http, tags_path("nobody", "api")))[1] for _ in range(3)]
    shapes = {
        type(b).__name__ + ("+error_code" if isinstance(b, dict) and "error_code" in b else "")
        for b in bodies
    }
    assert shapes == {"list", "dict", "dict+error_code"}


async def test_unknown_path_answers_like_the_gateway(http: aiohttp.ClientSession) -> None:
    status, body, headers = await get(http, "/v3/manage/nothing")
    assert status == 404 and body["error_code"] == "APIGW.0101"
    assert body["request_id"] == headers["X-Request-Id"]


async def test_no_credentials_is_401(fake: FakeSwr) -> None:
    async with (
        aiohttp.ClientSession(fake.url) as bare,
        bare.get(tags_path("platform", "api")) as resp,
    ):
        assert resp.status == 401
        assert (await resp.json())["error_code"] == "APIGW.0301"


def test_fault_plan_never_fails_a_request_twice_in_a_row() -> None:
    plan = FaultPlan(rate=1.0, seed=1)
    draws = [plan.draw("/same") for _ in range(10)]
    assert draws[0::2] == [d for d in draws[0::2] if d is not None]
    assert draws[1::2] == [None] * 5


# --- the generator --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> Registry:
    return generate_registry(repos=200, seed=1)


def test_generated_names_follow_the_api_page(registry: Registry) -> None:
    for namespace, repository in registry.repositories:
        validate_namespace(namespace)
        validate_repository(repository)
    names = " ".join(name for _, name in registry.repositories)
    assert all(mark in names for mark in ("/", "__", ".", "-"))


def test_generated_tags_are_realistic(registry: Registry) -> None:
    tags = [t for r in registry.repositories.values() for t in r.tags]
    sizes = [t.size for t in tags]
    assert 0 in sizes and INT64_MAX in sizes
    middle = sorted(sizes)[len(sizes) // 2]
    assert 10 * 2**20 < middle < 2 * 2**30  # a median image between 10 MB and 2 GB
    assert all(t.updated >= t.created for t in tags)
    fractions = {
        len(m.group(1)) if m.group(1) else 0
        for t in tags
        if (m := re.search(r"(?:\.(\d+))?Z$", t.created))
    }
    assert fractions == {0, 3, 6, 9}
    assert {t.tag_type for t in tags} == {0, 1} and {t.schema for t in tags} == {1, 2}
    digests = Counter(t.digest for t in tags)
    assert max(digests.values()) > 1  # retagged images
    repos_per_digest = {d: {(t.path.split(":")[0]) for t in tags if t.digest == d} for d in digests}
    assert any(len(r) > 1 for r in repos_per_digest.values())  # shared across repositories
    kinds = {re.sub(r"\d", "9", t.tag)[:4] for t in tags}
    assert {"late", "v9.9", "buil"} & kinds == {"late", "v9.9", "buil"}


def test_manifest_layers_are_partly_shared(registry: Registry) -> None:
    layers = Counter(
        layer["digest"]
        for doc in map(orjson.loads, registry.manifests.values())
        for layer in doc.get("layers", [])
    )
    assert any(n > 1 for n in layers.values()) and any(n == 1 for n in layers.values())


def test_generation_is_seeded(registry: Registry) -> None:
    again = generate_registry(repos=200, seed=1)
    assert again.repositories == registry.repositories
    assert generate_registry(repos=200, seed=2).repositories != registry.repositories


def test_next_day_adds_deletes_moves_and_repushes(registry: Registry) -> None:
    later = next_day(registry)
    before = {(k, t.tag): t for k, r in registry.repositories.items() for t in r.tags}
    after = {(k, t.tag): t for k, r in later.repositories.items() for t in r.tags}
    assert set(after) - set(before) and set(before) - set(after)
    common = set(before) & set(after)
    assert any(before[k].digest != after[k].digest for k in common)
    assert any(
        before[k].digest == after[k].digest and after[k].updated > before[k].updated for k in common
    )
    assert registry.tags(*next(iter(registry.repositories)))  # the original is untouched


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        pytest.param("limit=1001", 400, "SVCSTG.SWR.4000056", id="limit-above-1000-is-400"),
        pytest.param("limit=0", 400, "SVCSTG.SWR.4000056", id="limit-0-is-400"),
        pytest.param("marker=abc", 400, "SVCSTG.SWR.4001025", id="a-marker-not-an-integer-is-400"),
        pytest.param("namespace=nobody", 404, "SVCSTG.SWR.4040001", id="unknown-organization-404"),
    ],
)
async def test_the_repository_list_refuses_what_the_api_refuses(
    fake: FakeSwr, query: str, status: int, code: str
) -> None:
    headers = {"X-Auth-Token": fake.credentials.token}
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{fake.url}/v3/manage/repos?{query}", headers=headers) as resp:
            body = await resp.read()
    assert resp.status == status
    assert error_fields(body)[0] == code


async def test_the_repository_list_pages_by_integer_markers_to_every_repository(
    fake: FakeSwr, small_registry: Registry
) -> None:
    headers = {"X-Auth-Token": fake.credentials.token}
    seen, marker, pages = [], None, 0
    async with aiohttp.ClientSession() as session:
        while True:
            query = "limit=4" + (f"&marker={marker}" if marker is not None else "")
            async with session.get(f"{fake.url}/v3/manage/repos?{query}", headers=headers) as resp:
                body = orjson.loads(await resp.read())
            pages += 1
            seen += [(r["namespace_name"], r["name"]) for r in body["repos"]]
            marker = body.get("nextMarker")
            if marker is None:
                break
            assert isinstance(marker, int)
    assert sorted(seen) == sorted(small_registry.repositories)
    assert pages == -(-len(small_registry.repositories) // 4)


# --- a tag's DELETE ----------------------------------------------------------------------------


def delete_path(namespace: str, repository: str, tag: str) -> str:
    return f"/v2/manage/namespaces/{namespace}/repos/{repository.replace('/', '%24')}/tags/{tag}"


def shared_image(registry: Registry) -> tuple[str, str, str, set[str]]:
    """A repository, one of its tags, and every tag of that tag's image (two or more)."""
    for (namespace, repository), repo in registry.repositories.items():
        for tag in repo.tags:
            same = {t.tag for t in repo.tags if t.digest == tag.digest}
            if len(same) > 1:
                return namespace, repository, tag.tag, same
    raise AssertionError("no image with two tags")


async def test_a_tag_delete_takes_every_tag_of_its_image_and_then_is_404() -> None:
    registry = generate_registry(repos=6, seed=8)  # its own: the DELETE changes it
    namespace, repository, name, same = shared_image(registry)
    before = {t.tag for t in registry.tags(namespace, repository)}
    server = await start(registry)
    try:
        headers = {"X-Auth-Token": server.credentials.token}
        async with aiohttp.ClientSession(server.url, headers=headers) as http:
            path = delete_path(namespace, repository, name)
            async with http.delete(path) as resp:
                assert resp.status == 204 and resp.headers["X-Request-Id"]
            async with http.delete(path) as resp:
                assert resp.status == 404
                assert error_code(await resp.json(content_type=None)) == "SVCSTG.SWR.4040003"
    finally:
        await stop(server)
    assert {t.tag for t in registry.tags(namespace, repository)} == before - same
    assert sorted(server.state.deleted) == sorted((namespace, repository, t) for t in same)


@pytest.mark.parametrize(
    ("headers", "path_of", "options", "status", "code"),
    [
        pytest.param({}, None, {}, 401, "APIGW.0301", id="no-credentials-401"),
        pytest.param(None, None, {"rate_limit_rps": 0}, 429, "APIGW.0308", id="over-the-rate-429"),
        pytest.param(None, "nobody/here", {}, 404, "SVCSTG.SWR.4040002", id="no-repository-404"),
        pytest.param(None, "Bad-Name/x", {}, 400, "SVCSTG.SWR.4001025", id="bad-name-400"),
        pytest.param(None, None, {"api": "v3"}, 204, None, id="a-v3-only-region-deletes-too"),
    ],
)
async def test_a_tag_delete_is_admitted_like_a_list(
    headers: dict[str, str] | None,
    path_of: str | None,
    options: dict[str, Any],
    status: int,
    code: str | None,
) -> None:
    registry = generate_registry(repos=6, seed=8)
    namespace, repository, name, _ = shared_image(registry)
    if path_of is not None:
        namespace, repository = path_of.split("/")
    server = await start(registry, options=Options(**options))
    try:
        sent = {"X-Auth-Token": server.credentials.token} if headers is None else headers
        async with aiohttp.ClientSession(server.url, headers=sent) as http:
            async with http.delete(delete_path(namespace, repository, name)) as resp:
                assert resp.status == status
                if code is not None:
                    assert error_code(await resp.json(content_type=None)) == code
    finally:
        await stop(server)
    assert server.state.stats.deletes == 1


# --- an hour, a mass re-push, and what a benchmark asks of the local API ----------------------


def registry_digest(registry: Registry) -> str:
    """Everything a registry holds, as one hash."""
    repositories = [[list(k), r] for k, r in sorted(registry.repositories.items())]
    body = [repositories, sorted(registry.manifests.items()), registry.day, registry.next_id]
    return hashlib.sha256(orjson.dumps(body)).hexdigest()


def test_next_day_makes_the_days_it_made_before_registries_had_hours() -> None:
    # Taken on main before `Registry.hours` existed: tests and the bench compare against
    # these days, so an hour's machinery must not move them.
    registry = generate_registry(repos=30, seed=5)
    assert registry_digest(next_day(registry)) == (
        "e0424ae8905eb645c27d75a4638f828bd812528e23e0604617ed5c027a67490d"
    )
    assert registry_digest(next_day(next_day(registry), churn=0.1, seed=7)) == (
        "75117d806d95ea699e4c0818ccc596fa0bf4df9a14f810b1f65c34644e16bbd4"
    )


def list_entry(repo: Repository) -> dict[str, Any]:
    """What the repository list says of `repo`, but its pull counter (pulls move every hour)."""
    entry = repository_item(repo)
    del entry["num_download"]
    return entry


HOUR_BASES = [generate_registry(repos=24, tags=600, seed=seed) for seed in (3, 4)]


@settings(max_examples=40, deadline=None)
@given(
    which=st.sampled_from(range(len(HOUR_BASES))),
    share=st.floats(0, 1),
    seed=st.integers(0, 2**32),
    turnover=st.booleans(),
)
def test_an_hour_touches_its_share_and_leaves_every_other_repository_as_it_was(
    which: int, share: float, seed: int, turnover: bool
) -> None:
    base = HOUR_BASES[which]
    before = registry_digest(base)
    hour = next_hour(base, share=share, seed=seed, turnover=turnover)
    assert registry_digest(base) == before  # the registry an hour ago is left as it was
    assert hour.now == base.now + timedelta(hours=1)
    kept = base.repositories.keys() & hour.repositories.keys()
    touched = {k for k in kept if base.repositories[k].tags != hour.repositories[k].tags}
    assert len(touched) == round(share * len(base.repositories))
    for key in kept:
        then, now = list_entry(base.repositories[key]), list_entry(hour.repositories[key])
        assert (then != now) == (key in touched), key
    gone, created = base.repositories.keys() - kept, hour.repositories.keys() - kept
    spared = len(base.repositories) > len(touched)  # an untouched repository to delete
    assert (len(gone), len(created)) == (int(turnover and spared), int(turnover))
    old = {(k, t.tag): t for k, r in base.repositories.items() for t in r.tags}
    pushed = [t for k, r in hour.repositories.items() for t in r.tags if old.get((k, t.tag)) != t]
    assert all(base.now < parse_time(t.updated) <= hour.now for t in pushed)


def test_an_hour_adds_repushes_moves_and_deletes_tags() -> None:
    base = HOUR_BASES[0]
    hour = next_hour(base, share=1.0, seed=1)
    before = {(k, t.tag): t for k, r in base.repositories.items() for t in r.tags}
    after = {(k, t.tag): t for k, r in hour.repositories.items() for t in r.tags}
    common = before.keys() & after.keys()
    assert after.keys() - before.keys() and before.keys() - after.keys()
    assert any(before[k].digest != after[k].digest for k in common)
    assert any(
        before[k].digest == after[k].digest and before[k].updated != after[k].updated
        for k in common
    )


def test_a_mass_repush_renumbers_and_repushes_every_tag_and_keeps_every_image() -> None:
    base = HOUR_BASES[0]
    hour = repush_everything(base)
    for key, repo in base.repositories.items():
        then, now = repo.tags, hour.repositories[key].tags
        assert [(t.tag, t.digest) for t in then] == [(t.tag, t.digest) for t in now]
        assert not {t.id for t in then} & {t.id for t in now}
        assert all(base.now < parse_time(t.updated) <= hour.now for t in now)
        entry, moved = list_entry(repo), list_entry(hour.repositories[key])
        assert (entry["num_images"], entry["size"]) == (moved["num_images"], moved["size"])
        assert entry["updated_at"] != moved["updated_at"] or not now


@pytest.mark.parametrize(
    ("pushes", "latest"),
    [
        pytest.param(
            ["2026-11-01T10:00:05Z", "2026-11-01T10:00:05.5Z"],
            "2026-11-01T10:00:05.5Z",
            id="a-fraction-of-the-same-second-is-later",
        ),
        pytest.param(
            ["2026-11-01T10:00:05.123456789Z", "2026-11-01T10:00:05.2Z"],
            "2026-11-01T10:00:05.2Z",
            id="fractions-compare-by-value-not-length",
        ),
        pytest.param(
            ["2026-11-01T10:00:06Z", "2026-11-01T10:00:05.999Z"],
            "2026-11-01T10:00:06Z",
            id="a-later-second-is-later",
        ),
    ],
)
def test_the_repository_list_says_the_latest_push(pushes: list[str], latest: str) -> None:
    repo = next(iter(HOUR_BASES[0].repositories.values()))
    tags = [replace(repo.tags[0], tag=f"t{i}", updated=stamp) for i, stamp in enumerate(pushes)]
    assert replace(repo, tags=tags).updated_at() == latest


async def repository_list(http: aiohttp.ClientSession) -> dict[tuple[str, str], dict[str, Any]]:
    """Every repository the v3 list shows, page after page, by (organization, name)."""
    entries, marker = {}, None
    while True:
        query = {"limit": "7"} if marker is None else {"limit": "7", "marker": str(marker)}
        _, body, _ = await get(http, "/v3/manage/repos", **query)
        entries.update({(r["namespace_name"], r["name"]): r for r in body["repos"]})
        marker = body.get("nextMarker")
        if marker is None:
            return entries


async def test_the_served_list_after_an_hour_changes_only_the_touched_entries(
    http: aiohttp.ClientSession, fake: FakeSwr, small_registry: Registry
) -> None:
    before = await repository_list(http)
    async with http.post("/_fake/next-hour", params={"share": "0.2", "turnover": "1"}) as resp:
        assert resp.status == 200
        moved = await resp.json()
    after = await repository_list(http)
    assert (moved["hours"], moved["repositories"]) == (1, len(small_registry.repositories))
    kept = before.keys() & after.keys()
    assert len(before.keys() - kept) == len(after.keys() - kept) == 1
    fields = ("updated_at", "num_images", "size")
    changed = {k for k in kept if any(before[k][f] != after[k][f] for f in fields)}
    assert len(changed) == round(0.2 * len(small_registry.repositories))
    for key in kept - changed:
        assert {**before[key], "num_download": 0} == {**after[key], "num_download": 0}
    touched = {k for k in kept if small_registry.tags(*k) != fake.state.registry.tags(*k)}
    assert changed == touched


@pytest.mark.parametrize(
    "query",
    [
        pytest.param({"share": "1.5"}, id="a-share-above-1-is-400"),
        pytest.param({"share": "ten"}, id="a-share-not-a-number-is-400"),
        pytest.param({"seed": "x"}, id="a-seed-not-a-number-is-400"),
    ],
)
async def test_a_bad_hour_is_400_and_serves_the_same_registry(
    http: aiohttp.ClientSession, fake: FakeSwr, query: dict[str, str]
) -> None:
    served = fake.state.registry
    async with http.post("/_fake/next-hour", params=query) as resp:
        assert resp.status == 400
    assert fake.state.registry is served


def test_the_fingerprinted_rows_are_the_rows_tests_expect_a_sync_to_store(
    small_registry: Registry,
) -> None:
    def micros(row: tuple[Any, ...]) -> tuple[Any, ...]:
        created, updated = row[12:14]
        return (
            *row[:12],
            int(created.timestamp() * 1e6),
            int(updated.timestamp() * 1e6),
            *row[14:],
        )

    expected = sorted(
        micros(expected_row(ns, repo, t))
        for (ns, repo), r in small_registry.repositories.items()
        for t in r.tags
    )
    rows = list(registry_rows(small_registry))
    assert sorted(rows) == expected
    assert fingerprint(reversed(rows)) == fingerprint(rows)
    assert fingerprint(rows[:-1]) != fingerprint(rows)


async def test_the_fingerprint_and_the_stats_answer_over_http(
    http: aiohttp.ClientSession, small_registry: Registry
) -> None:
    await get(http, "/v3/manage/repos", limit="5")
    await get(http, tags_path(*biggest(small_registry)))
    _, stats, _ = await get(http, "/_fake/stats")
    assert (stats["requests"], stats["list_requests"]) == (2, 1)
    _, answer, _ = await get(http, "/_fake/fingerprint")
    assert answer == {
        "tags": small_registry.tag_count(),
        "fingerprint": fingerprint(registry_rows(small_registry)),
    }


@pytest.mark.parametrize(
    ("ms", "status", "latency"),
    [
        pytest.param("25", 200, 25.0, id="answers-come-25-ms-late"),
        pytest.param("x", 400, 0.0, id="not-a-number-is-400"),
        pytest.param("-1", 400, 0.0, id="negative-is-400"),
        pytest.param("nan", 400, 0.0, id="nan-is-400"),
    ],
)
async def test_the_pace_changes_while_serving(
    http: aiohttp.ClientSession, fake: FakeSwr, ms: str, status: int, latency: float
) -> None:
    async with http.post("/_fake/latency", params={"ms": ms}) as resp:
        assert resp.status == status
    assert fake.options.latency_ms == latency
