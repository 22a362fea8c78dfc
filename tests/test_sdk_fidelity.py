"""Fidelity of the local API, checked by a client nobody here wrote: the official SDK
(`huaweicloudsdkswr`, AK/SK signing) reads exactly the generated registry through it —
organizations, repositories with every field, every tag of a repository over several pages —
and deletes a tag with the request our client sends."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from huaweicloudsdkcore.auth.credentials import BasicCredentials
from huaweicloudsdkswr.v2 import (
    DeleteRepoTagRequest,
    ListNamespacesRequest,
    ListRepoDetailsRequest,
    ListRepositoryTagRequest,
)
from huaweicloudsdkswr.v2 import SwrClient as SdkClient

from etl.fakeswr import FakeSwr, ServerThread, generate_registry
from etl.swr.auth import AkSkAuth
from etl.swr.client import SwrClient
from etl.swr.tags import delete_tag, tag_path

REGISTRY = generate_registry(repos=45, seed=19)


@pytest.fixture(scope="module")
def sdk() -> Iterator[tuple[SdkClient, FakeSwr]]:
    with ServerThread(REGISTRY) as server:
        creds = server.credentials
        client = (
            SdkClient.new_builder()
            .with_credentials(BasicCredentials(creds.ak, creds.sk, creds.project_id))
            .with_endpoint(server.url)
            .build()
        )
        yield client, server


def test_the_sdk_lists_every_organization(sdk: tuple[SdkClient, FakeSwr]) -> None:
    client, _ = sdk
    names = [n.name for n in client.list_namespaces(ListNamespacesRequest()).namespaces]
    assert sorted(names) == sorted(REGISTRY.namespaces)


def test_the_sdk_reads_every_repository_with_every_field(sdk: tuple[SdkClient, FakeSwr]) -> None:
    client, _ = sdk
    got: dict[tuple[str, str], Any] = {}
    for namespace in sorted(REGISTRY.namespaces):
        marker, pages = None, 0
        while True:
            request = ListRepoDetailsRequest(namespace=namespace, limit=4, marker=marker)
            response = client.list_repo_details(request)
            pages += 1
            got.update({(namespace, repo.name): repo for repo in response.repos})
            marker = response.next_marker
            if marker is None:
                break
        assert pages > 2  # the SDK followed the integer marker over several pages
    assert set(got) == set(REGISTRY.repositories)
    for key, repo in REGISTRY.repositories.items():
        shown = got[key]
        assert (shown.id, shown.namespace_name, shown.category, shown.description) == (
            repo.repo_id,
            repo.namespace,
            repo.category,
            repo.description,
        )
        assert (shown.size, shown.num_images, shown.num_download) == (
            repo.size(),
            len(repo.tags),
            repo.num_download,
        )
        assert (shown.is_public, shown.created_at, shown.updated_at) == (
            repo.is_public,
            repo.created_at,
            repo.updated_at(),
        )
        assert (shown.domain_name, shown.status) == ("acme", True)


def test_the_sdk_reads_every_tag_of_a_repository_over_several_pages(
    sdk: tuple[SdkClient, FakeSwr],
) -> None:
    client, _ = sdk
    (namespace, repository), repo = max(
        REGISTRY.repositories.items(), key=lambda item: len(item[1].tags)
    )
    tags, marker, pages = [], None, 0
    while True:
        request = ListRepositoryTagRequest(
            namespace=namespace,
            repository=repository.replace("/", "$"),
            limit=17,
            marker=marker,
        )
        response = client.list_repository_tag(request)
        pages += 1
        tags += response.tags or []
        marker = response.next_marker
        if not marker or response.has_more is False:
            break
    assert pages == -(-len(repo.tags) // 17) > 2
    fields = ("id", "repo_id", "tag", "image_id", "digest", "schema", "path", "internal_path")
    more = ("size", "is_trusted", "created", "updated", "domain_id", "tag_type")
    assert [tuple(getattr(t, f) for f in fields + more) for t in tags] == [
        tuple(getattr(t, f) for f in fields + more) for t in repo.tags
    ]


def test_our_tag_delete_is_the_sdks_delete_repo_tag() -> None:
    registry = generate_registry(repos=12, seed=23)
    (namespace, repository), repo = next(
        (key, r)
        for key, r in registry.repositories.items()
        if "/" in key[1] and len({t.digest for t in r.tags}) > 2
    )
    first = repo.tags[0]
    second = next(t for t in repo.tags if t.digest != first.digest)
    gone = {t.tag for t in repo.tags if t.digest in (first.digest, second.digest)}
    with ServerThread(registry) as server:
        creds = server.credentials
        client = (
            SdkClient.new_builder()
            .with_credentials(BasicCredentials(creds.ak, creds.sk, creds.project_id))
            .with_endpoint(server.url)
            .build()
        )
        request = DeleteRepoTagRequest(
            namespace=namespace, repository=repository.replace("/", "$"), tag=first.tag
        )
        assert client.delete_repo_tag(request).status_code == 204

        async def ours() -> bool:
            auth = AkSkAuth(creds.ak, creds.sk, creds.project_id)
            async with SwrClient(server.url, auth) as swr:
                return await delete_tag(swr, namespace, repository, second.tag)

        assert asyncio.run(ours())
        sent = server.state.stats.delete_paths
        left = {t.tag for t in registry.tags(namespace, repository)}
    # The SDK's request and ours: the same path ('/' as '$', sent as %24), both signed and let in.
    assert sent == [
        tag_path(namespace, repository, first.tag),
        tag_path(namespace, repository, second.tag),
    ]
    assert "%24" in sent[0] and not gone & left  # each took its image's every tag
