"""Discovery: which repositories a run crawls, found through SWR's own lists.

Literal names need no request. A pattern (`*`, `?` or `[`, fnmatch: `*` also matches `/`) on the
organization is matched against the organization list; on the repository, against each
organization's repository list; `exclude` then drops `namespace/repository` globs. A repository
matched by two targets is crawled once, as the first target says.

A list is read as a set: a repository it repeats counts once, a row naming another organization
than the one asked for is ignored (both with a warning), and a v2 list whose total moves while
it is read is read again.

Discovery is complete or it counts for nothing, per organization. When an organization's list
fails (after retries), every repository the same pattern selected in earlier runs in that
organization is `failed` for this run — nothing closes; when the organization list fails, so is
every repository the pattern selected anywhere. Silence closes nothing either: a repository the
pattern selected before that a list no longer shows (or whose organization it no longer shows)
is crawled as usual, and only its own tag list answering SWR's "not found" makes it `not_found`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

import pyarrow as pa

from etl.config import EndpointConfig, TargetConfig, is_glob
from etl.errors import ApiError, NotFoundError, ResponseError
from etl.results import LITERAL, RequestStats, Target, TargetResult
from etl.schemas import REPOSITORY_SCHEMA
from etl.status import TargetStatus
from etl.swr.client import SwrClient
from etl.swr.list_pages import RepositoryPage
from etl.swr.lists import Api, namespace_list, offered_api, repository_list_of, v3_probe
from etl.swr.names import NAMESPACE, REPOSITORY, broken_rule
from etl.swr.paging import OffsetPaginator, SwrList

log = logging.getLogger("etl.run.discovery")
Members = dict[tuple[str, str], set[tuple[str, str]]]  # (endpoint, pattern) -> {(ns, repo)}


@dataclass
class Listing:
    """What one organization's repository list said this run: its repositories, or the error."""

    endpoint: str
    namespace: str
    columns: pa.Table | None = None
    error: ApiError | None = None
    warnings: int = 0

    @property
    def names(self) -> set[str]:
        return set() if self.columns is None else set(self.columns.column("name").to_pylist())


@dataclass
class Selection:
    """What one configured target resolved to, for `plan` and the logs."""

    endpoint: str
    spec: str  # "namespace: repositories" as configured
    organizations: list[str] = field(default_factory=list)
    targets: list[Target] = field(default_factory=list)
    excluded: list[str] = field(default_factory=list)
    taken_earlier: list[str] = field(default_factory=list)  # matched, but by an earlier target
    error: ApiError | None = None


@dataclass
class Discovery:
    """A run's resolved targets, and what discovery alone decided."""

    targets: list[Target] = field(default_factory=list)
    decided: list[TargetResult] = field(default_factory=list)  # not_found or failed, no crawl
    listings: list[Listing] = field(default_factory=list)
    organization_lists: dict[str, ApiError | None] = field(default_factory=dict)
    selections: list[Selection] = field(default_factory=list)
    stats: RequestStats = field(default_factory=RequestStats)
    empty: list[ApiError] = field(default_factory=list)  # patterns that selected nothing

    def failures(self) -> list[ApiError]:
        """Return the error of every list that failed (organization lists, then repositories),
        then of every pattern that selected nothing: each fails the run."""
        lists = [e for e in self.organization_lists.values() if e is not None]
        return lists + [x.error for x in self.listings if x.error is not None] + self.empty


async def discover(
    endpoints: list[EndpointConfig],
    clients: dict[str, SwrClient],
    members: Members,
    apis: dict[str, Api],
    page_size: int,
) -> Discovery:
    """Return the targets of a run: literal names as configured, patterns resolved through the
    organization and repository lists of each endpoint's API (each fetched at most once, in
    pages of `page_size`)."""
    found = Discovery()
    for endpoint in endpoints:
        client, api = clients[endpoint.name], apis[endpoint.name]
        await EndpointDiscovery(endpoint, client, members, found, page_size, api).run()
    return found


async def endpoint_apis(
    endpoints: list[EndpointConfig], clients: dict[str, SwrClient]
) -> dict[str, Api]:
    """Return the API each endpoint is crawled with (see `endpoint_api`)."""
    return {e.name: await endpoint_api(e, clients[e.name]) for e in endpoints}


async def endpoint_api(endpoint: EndpointConfig, client: SwrClient) -> Api:
    """Return the API an endpoint is crawled with: as configured, or (`auto`) what its answer
    to the run's first list request shows; a switch to v2 is logged."""
    if endpoint.api != "auto":
        return endpoint.api
    first = next(iter(endpoint.named_targets()), None)
    literal = first is not None and not discovers(endpoint)
    probe = (
        v3_probe(first.namespace, first.repository) if first and literal else v3_probe(None, None)
    )
    api = await offered_api(client, probe)
    if api == "v2":
        log.info("endpoint %s offers no v3 lists (APIGW.0101): using v2 this run", endpoint.name)
    return api


def discovers(endpoint: EndpointConfig) -> bool:
    """Return True if any target of the endpoint needs its repository list."""
    return any(spec.discovers for spec in endpoint.targets)


class EndpointDiscovery:
    """Discovery on one endpoint: its targets in config order, lists fetched once each."""

    def __init__(
        self,
        endpoint: EndpointConfig,
        client: SwrClient,
        members: Members,
        into: Discovery,
        page_size: int,
        api: Api = "v3",
    ):
        self.endpoint = endpoint
        self.page_size = page_size
        self.api = api
        self.client = client
        self.members = members
        self.found = into
        self.organizations: list[str] | ApiError | None = None
        self.listings: dict[str, Listing] = {}
        self.chosen: dict[tuple[str, str], Target] = {}
        self.pending: list[TargetResult] = []  # decided results, kept if not chosen elsewhere

    async def run(self) -> None:
        for spec in self.endpoint.targets:
            self.found.selections.append(await self.resolve(spec))
        self.found.targets += self.chosen.values()
        decided: set[tuple[str, str]] = set()
        for result in self.pending:
            key = (result.target.namespace, result.target.repository)
            if key not in self.chosen and key not in decided:
                decided.add(key)
                self.found.decided.append(result)
        self.found.listings += self.listings.values()
        if self.organizations is not None:
            error = self.organizations if isinstance(self.organizations, ApiError) else None
            self.found.organization_lists[self.endpoint.name] = error

    async def resolve(self, spec: TargetConfig) -> Selection:
        name = self.endpoint.name
        selection = Selection(name, f"{spec.namespace}: {', '.join(spec.repositories)}")
        namespaces = [spec.namespace]
        if is_glob(spec.namespace):
            organizations = await self.organization_names()
            if isinstance(organizations, ApiError):
                selection.error = organizations
                for pattern in spec.repositories:
                    self.fail_members(spec, pattern, None, organizations)
                return selection
            namespaces = self.valid_organizations(
                [o for o in organizations if fnmatchcase(o, spec.namespace)]
            )
        selection.organizations = namespaces
        if spec.discover_metadata:
            await self.list_all(namespaces)
        for pattern in spec.repositories:
            scope = pattern_of(spec, pattern)
            if is_glob(pattern):
                await self.list_all(namespaces)
            for namespace in namespaces:
                for repository in self.matches(spec, pattern, namespace, selection):
                    target = Target(name, namespace, repository, spec.tag, scope)
                    self.choose(spec, target, selection)
            if scope != LITERAL:
                self.recheck_vanished(spec, pattern, namespaces, selection)
        if spec.discovers and selection.error is None and not selected_anything(selection):
            # A pattern that matches nothing is a misconfiguration, not a run with no work.
            selection.error = ResponseError(
                f"target {selection.spec!r} selects no repository: is the pattern right?",
                error_code="ETL.EMPTY_SELECTION",
                endpoint=name,
            )
            self.found.empty.append(selection.error)
        return selection

    def valid_organizations(self, names: list[str]) -> list[str]:
        """Return the listed organizations whose names keep the API page's rules; say which
        do not (a registry's list is checked like a config's names)."""
        for organization in names:
            rule = broken_rule(organization, NAMESPACE)
            if rule is not None:
                log.warning(
                    "the organization list of %s names %r, which breaks the API page's rule for "
                    "namespaces (%s): not listed",
                    self.endpoint.name,
                    organization,
                    rule,
                )
        return [n for n in names if broken_rule(n, NAMESPACE) is None]

    def matches(
        self, spec: TargetConfig, pattern: str, namespace: str, selection: Selection
    ) -> list[str]:
        """Return the repositories of an organization a pattern names: a literal names itself;
        a pattern, what the organization's list shows (nothing, its earlier members failed,
        when the list failed)."""
        if not is_glob(pattern):
            return [pattern]
        listing = self.listings[namespace]
        if listing.error is not None:
            selection.error = listing.error
            self.fail_members(spec, pattern, namespace, listing.error)
            return []
        found = sorted(n for n in listing.names if fnmatchcase(n, pattern))
        for name in found:
            rule = broken_rule(name, REPOSITORY)
            if rule is not None:  # a registry's list is checked like a config's names
                self.fail_invalid(spec, pattern, namespace, name, rule)
        return [n for n in found if broken_rule(n, REPOSITORY) is None]

    def fail_invalid(
        self, spec: TargetConfig, pattern: str, namespace: str, name: str, rule: str
    ) -> None:
        """Record a listed repository whose name breaks the API page's rules as failed."""
        target = Target(self.endpoint.name, namespace, name, spec.tag, pattern_of(spec, pattern))
        error = ResponseError(
            f"the repository list of {namespace} names {name!r}, which breaks the API page's "
            f"rule for repositories: {rule}; it is not crawled",
            endpoint=self.endpoint.name,
            target=target.path,
        )
        self.pending.append(TargetResult(target, status=TargetStatus.FAILED, error=error))

    def choose(self, spec: TargetConfig, target: Target, selection: Selection) -> None:
        path = target.path
        if any(fnmatchcase(path, glob) for glob in spec.exclude):
            selection.excluded.append(path)
        elif (target.namespace, target.repository) in self.chosen:
            selection.taken_earlier.append(path)
        else:
            self.chosen[(target.namespace, target.repository)] = target
            selection.targets.append(target)

    async def organization_names(self) -> list[str] | ApiError:
        if self.organizations is None:
            try:
                self.organizations = [
                    name
                    async for answer in self.client.iter_pages(namespace_list(), self.found.stats)
                    for name in answer.body.names
                ]
            except ApiError as exc:
                self.organizations = exc.at(endpoint=self.endpoint.name)
        return self.organizations

    async def list_all(self, namespaces: Iterable[str]) -> None:
        wanted = [ns for ns in namespaces if ns not in self.listings]
        for listing in await asyncio.gather(*(self.list_one(ns) for ns in wanted)):
            self.listings[listing.namespace] = listing

    async def list_one(self, namespace: str) -> Listing:
        listing = Listing(self.endpoint.name, namespace)
        swr_list = repository_list_of(self.api, namespace, self.page_size)
        try:
            table, moved = await self.read_list(swr_list)
            if moved:  # a v2 list shifts while someone creates or deletes: read it once more
                log.info("the repository list of %s changed while it was read: again", namespace)
                table, moved = await self.read_list(swr_list)
                listing.warnings += moved
        except NotFoundError:
            table = REPOSITORY_SCHEMA.empty_table()  # the organization is gone: nothing in it
        except ApiError as exc:
            listing.error = exc.at(endpoint=self.endpoint.name, target=namespace)
            return listing
        listing.columns, dropped = repository_set(table, namespace)
        listing.warnings += dropped
        return listing

    async def read_list(self, swr_list: SwrList[RepositoryPage]) -> tuple[pa.Table, bool]:
        """Return every row of one organization's repository list, and whether an offset-paged
        list reported another total at its last page than at its first."""
        parts, paginator = [], swr_list.paginator()
        async for answer in self.client.iter_pages(swr_list, self.found.stats, paginator):
            parts.append(answer.body.columns)
        moved = isinstance(paginator, OffsetPaginator) and (
            paginator.first_total != paginator.last_total
        )
        return pa.Table.from_batches(parts, REPOSITORY_SCHEMA), moved

    def fail_members(
        self, spec: TargetConfig, pattern: str, namespace: str | None, error: ApiError
    ) -> None:
        """Record every earlier member of a pattern (in one organization, or all) as failed."""
        scope = pattern_of(spec, pattern)
        for ns, repository in sorted(self.members.get((self.endpoint.name, scope), set())):
            if namespace is None or ns == namespace:
                target = Target(self.endpoint.name, ns, repository, spec.tag, scope)
                self.pending.append(TargetResult(target, status=TargetStatus.FAILED, error=error))

    def recheck_vanished(
        self, spec: TargetConfig, pattern: str, namespaces: list[str], selection: Selection
    ) -> None:
        """Crawl every earlier member of a pattern that a complete list no longer shows, or
        whose organization it no longer shows: silence closes nothing, and only its own tag
        list answering SWR's "not found" makes it `not_found`."""
        scope = pattern_of(spec, pattern)
        for ns, repository in sorted(self.members.get((self.endpoint.name, scope), set())):
            listing = self.listings.get(ns)
            if ns in namespaces:
                if not is_glob(pattern) or listing is None or listing.error is not None:
                    continue
                if repository in listing.names:
                    continue
                why = f"the repository list of {ns} no longer shows it"
            else:
                why = f"the organization list no longer shows {ns}"
            target = Target(self.endpoint.name, ns, repository, spec.tag, scope)
            log.info("%s: %s; its own tag list decides whether it is gone", target, why)
            self.choose(spec, target, selection)


def repository_set(table: pa.Table, namespace: str) -> tuple[pa.Table, int]:
    """Return one organization's listed repositories as a set — each name once, rows that name
    another organization dropped — and how many rows were dropped (each logged)."""
    names = table.column("name").to_pylist()
    owners = table.column("namespace_name").to_pylist()
    keep, seen = [], set()
    for position, (name, owner) in enumerate(zip(names, owners, strict=True)):
        if owner is not None and owner != namespace:
            log.warning(
                "the repository list of %s names %s/%s, of another organization: ignored",
                namespace,
                owner,
                name,
            )
        elif name in seen:
            log.warning("the repository list of %s shows %s twice: counted once", namespace, name)
        else:
            seen.add(name)
            keep.append(position)
    if len(keep) == table.num_rows:
        return table, 0
    return table.take(pa.array(keep, type=pa.int64())), table.num_rows - len(keep)


def selected_anything(selection: Selection) -> bool:
    """Return True if a target resolved to a repository, even one excluded or taken by an
    earlier target."""
    return bool(selection.targets or selection.excluded or selection.taken_earlier)


def pattern_of(spec: TargetConfig, repository: str) -> str:
    """Return how a target of `spec` is selected: `literal`, or `namespace/repository` pattern."""
    if is_glob(spec.namespace) or is_glob(repository):
        return f"{spec.namespace}/{repository}"
    return LITERAL
