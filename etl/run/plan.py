"""`swr-etl plan`: what a sync would fetch and write, checked against each endpoint, written
nowhere. Literal names cost one 1-tag request per endpoint (the credentials check); patterns
are resolved through the organization and repository lists, as a sync would."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from etl.config import CrawlConfig, EndpointConfig
from etl.errors import (
    ApiError,
    EndpointError,
    EtlError,
    NewerLakeFormat,
    NotFoundError,
    StorageError,
)
from etl.results import LITERAL, Key, Target, TargetResult
from etl.run import unchanged
from etl.run.discovery import (
    Discovery,
    EndpointDiscovery,
    Listing,
    Members,
    Selection,
    discovers,
    endpoint_api,
)
from etl.run.endpoints import client_for
from etl.run.identity import known_writer_id
from etl.run.listings import delta_targets
from etl.run.start import refused_before_run, wall_clock
from etl.store import commits, known, warehouse
from etl.store.known import CurrentRepository, LastCrawl
from etl.store.storage import LakeStore
from etl.swr.auth import Auth
from etl.swr.client import RetryPolicy, SwrClient
from etl.swr.lists import Api, tag_list_of
from etl.swr.wire import UNKNOWN_PATH_CODE

SHOWN_PER_TARGET = 25  # repositories listed under a target before "… and N more"


@dataclass
class EndpointPlan:
    """What one endpoint would do: its check and what each configured target resolved to."""

    endpoint: EndpointConfig
    error: ApiError | None = None
    selections: list[Selection] = field(default_factory=list)
    api: Api = "v3"
    unknown: list[str] = field(default_factory=list)  # literal names SWR does not know
    listings: list[Listing] = field(default_factory=list)  # the repository lists read


@dataclass(frozen=True)
class KnownScope:
    """What the database knows of the scope: each pattern's earlier members (what a sync
    re-checks) and what this config tracks (what it would record as untracked)."""

    members: Members = field(default_factory=dict)
    tracked: dict[Key, str] = field(default_factory=dict)
    shared_names: dict[str, int] = field(default_factory=dict)  # writer name -> writers
    loaded: set[str] = field(default_factory=set)  # the runs it holds
    current: dict[Key, CurrentRepository] = field(default_factory=dict)
    crawls: dict[Key, LastCrawl] = field(default_factory=dict)  # (crawl.skip_unchanged)
    writer_id: str | None = None
    missing_manifests: set[Key] = field(default_factory=set)  # (with crawl.with_manifest)


def known_scope(duckdb_path: Path, writer: str) -> KnownScope:
    """Return what the database at `duckdb_path` knows of the scope of `writer` (nothing when
    there is no database yet, or another process holds it)."""
    identity = known_writer_id(duckdb_path)  # a FIFO or a folder there: said as a sync says it
    if not duckdb_path.exists():
        return KnownScope()
    try:
        with warehouse.connect(duckdb_path, read_only=True) as con:
            return KnownScope(
                known.scope_members(con),
                known.tracked(con, writer, identity),
                known.shared_names(con),
                known.loaded_run_ids(con),
                known.current_repositories(con),
                known.last_crawls(con),
                identity,
                known.manifests_missing(con),
            )
    except (EtlError, duckdb.Error):
        return KnownScope()


def check_unloaded_runs(store: LakeStore, loaded: set[str]) -> None:
    """Raise NewerLakeFormat, as a sync would before it crawls, if a committed run of the lake
    the database lacks (not in `loaded`) is one this release cannot read; read only their
    commit records, write nothing. A record that cannot be read is the sync's to name."""
    for date, run_id in commits.listed_runs(store):
        if run_id in loaded:
            continue
        try:
            commits.read_commit(store, date, run_id)
        except NewerLakeFormat as exc:
            raise refused_before_run(exc) from None
        except StorageError:
            continue


async def plan_endpoint(
    endpoint: EndpointConfig,
    crawl: CrawlConfig,
    auth: Auth,
    members: Members | None = None,
    tracked: Collection[Key] | None = None,
) -> EndpointPlan:
    """Return an endpoint's plan: credentials checked, patterns resolved (nothing written)."""
    plan = EndpointPlan(endpoint)
    client = client_for(endpoint, crawl, auth, retry=RetryPolicy(max_attempts=2, base_delay_s=0.2))
    async with client:
        plan.api = "v2" if endpoint.api == "v2" else "v3"
        plan.error = await check_credentials(endpoint, client, plan.api)
        unknown = (
            isinstance(plan.error, EndpointError) and plan.error.error_code == UNKNOWN_PATH_CODE
        )
        if endpoint.api == "auto" and (unknown or discovers(endpoint)):
            # The 1-tag check was the probe; without a literal target, probe the repository list.
            plan.api = "v2" if unknown else await endpoint_api(endpoint, client)
            if unknown:
                plan.error = await check_credentials(endpoint, client, plan.api)
        if plan.error is None:
            found = Discovery()
            await EndpointDiscovery(
                endpoint, client, members or {}, found, crawl.page_size, plan.api
            ).run()
            plan.selections, plan.listings = found.selections, found.listings
            plan.error = next((s.error for s in found.selections if s.error), None)
            plan.unknown = await unknown_names(plan, client, tracked or {})
    return plan


async def unknown_names(
    plan: EndpointPlan, client: SwrClient, tracked: Collection[Key]
) -> list[str]:
    """Return the literal names of an endpoint that SWR does not know and that never synced
    (one 1-tag request each): a sync would fail them."""
    unknown = []
    for selection in plan.selections:
        for target in selection.targets:
            key = target.key
            if target.selected_by != LITERAL or key in tracked:
                continue
            listing = tag_list_of(
                plan.api,
                target.namespace,
                target.repository,
                page_size=1,
                tag=None,
                with_manifest=False,
            )
            try:
                await client.get_json(
                    listing.path, list(listing.query), target=target.path, decode=listing.decode
                )
            except NotFoundError:
                unknown.append(target.path)
            except ApiError:
                pass  # anything else shows in the sync, as it would without plan
    return unknown


async def check_credentials(
    endpoint: EndpointConfig, client: SwrClient, api: Api
) -> ApiError | None:
    """Return None if the endpoint accepts our credentials (one 1-tag request for a literal
    target; patterns are checked by their own list requests), else the error."""
    target = next(iter(endpoint.named_targets()), None)
    if target is None:
        return None
    listing = tag_list_of(
        api, target.namespace, target.repository, page_size=1, tag=None, with_manifest=False
    )
    try:
        await client.get_json(
            listing.path, list(listing.query), target=target.path, decode=listing.decode
        )
    except NotFoundError:
        return None  # the credentials passed; the repository itself is missing
    except ApiError as exc:
        return exc
    return None


async def plan_endpoints(
    endpoints: list[EndpointConfig],
    crawl: CrawlConfig,
    auths: dict[str, Auth],
    known: KnownScope | None = None,
) -> list[EndpointPlan]:
    """Return every endpoint's plan, in config order."""
    scope = known or KnownScope()
    return [
        await plan_endpoint(e, crawl, auths[e.name], scope.members, scope.tracked)
        for e in endpoints
    ]


def other_writers(duckdb_path: Path, writer: str, targets: list[Target]) -> list[str]:
    """Return the planned repositories another writer than `writer` sharing the lake synced
    last, as far as the database at `duckdb_path` knows (none when it does not exist or is
    busy), each with that writer and run."""
    if not duckdb_path.exists():
        return []
    try:
        with warehouse.connect(duckdb_path, read_only=True) as con:
            last = known.last_writers(con)
    except (EtlError, duckdb.Error):
        return []
    others = []
    for target in targets:
        other, run_id = last.get(target.key, ("", ""))
        if other and other != writer:
            others.append(f"{target.endpoint}/{target.path} (writer {other}, run {run_id})")
    return others


def would_carry(
    plans: list[EndpointPlan], scope: KnownScope, crawl: CrawlConfig, full_listing_every: float
) -> int:
    """Return how many planned repositories a sync would carry forward unchanged, not crawl
    (`crawl.skip_unchanged`, as `etl.run.unchanged` decides)."""
    if not crawl.skip_unchanged:
        return 0
    now = wall_clock()
    targets = [t for plan in plans for s in plan.selections for t in s.targets]
    results = [TargetResult(target) for target in targets]
    eligible = delta_targets(results, scope.current, now, full_listing_every, True, scope.writer_id)
    entries = unchanged.list_entries([x for plan in plans for x in plan.listings])
    missing = scope.missing_manifests if crawl.with_manifest else None
    facts = unchanged.Known(scope.current, scope.crawls, missing)
    window = unchanged.crawl_window(now, crawl.full_crawl_every)
    return len(unchanged.carried_forward(targets, entries, facts, eligible, window)[1])
