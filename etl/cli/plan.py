"""How `swr-etl plan` prints its answer: each endpoint with its check and what each target
resolved to, the crawl settings, the outputs, and what a sync would leave out of the scope or
share with another writer. The plan itself is `etl.run.plan`'s."""

from __future__ import annotations

import click

from etl.config import Config
from etl.results import Target
from etl.run.discovery import Selection
from etl.run.plan import SHOWN_PER_TARGET, EndpointPlan, KnownScope, other_writers, would_carry


def print_plan(config: Config, plans: list[EndpointPlan], known: KnownScope | None = None) -> None:
    """Print each endpoint with its check and resolved targets, the crawl settings, the outputs,
    and what would leave the configured scope."""
    crawl = config.crawl
    click.echo(f"config {config.source}")
    total = 0
    for plan in plans:
        endpoint = plan.endpoint
        verdict = "credentials accepted" if plan.error is None else f"FAILED: {plan.error}"
        click.echo(
            f"endpoint {endpoint.name} {endpoint.url} (auth {endpoint.auth.type}): {verdict}"
        )
        for number, selection in enumerate(plan.selections, start=1):
            total += len(selection.targets)
            print_selection(number, selection)
        for path in plan.unknown:
            click.echo(f"  FAILED {path}: SWR does not know it (is the name right?)")
    click.echo(
        f"crawl: {total} repositories, page size {crawl.page_size}, "
        f"{crawl.concurrency} requests in flight, {crawl.requests_per_second:g} requests/s per "
        f"endpoint, manifests {'on' if crawl.with_manifest else 'off'}"
    )
    if crawl.skip_unchanged and known is not None:
        carried = would_carry(plans, known, crawl, config.output.full_listing_every)
        click.echo(
            f"skip_unchanged: {carried} of {total} repositories would be carried forward "
            "unchanged (their repository-list entry as at their last crawl), not crawled"
        )
    click.echo(f"lake:   {config.output.lake}")
    click.echo(f"duckdb: {config.output.duckdb}")
    targets = [t for plan in plans for s in plan.selections for t in s.targets]
    print_other_writers(config, targets)
    if known is not None and all(plan.error is None for plan in plans):
        print_leaving_scope(known, targets)
    for name, count in (known.shared_names if known else {}).items():
        click.echo(
            f"WARNING: {count} writers (machines) write under the name {name!r}; give each config "
            "its own output.writer"
        )


def print_leaving_scope(known: KnownScope, targets: list[Target]) -> None:
    """Say which repositories this config tracks and would no longer select: the sync records
    them as untracked (their tags leave tags_current, not as removals)."""
    selected = {t.key for t in targets}
    leaving = sorted(known.tracked.keys() - selected)
    if not leaving:
        return
    click.echo(
        f"scope: {len(leaving)} repositories this config tracked are no longer selected; the "
        "sync records them as untracked (their tags leave tags_current, not as removals):"
    )
    for endpoint, namespace, repository in leaving[:SHOWN_PER_TARGET]:
        click.echo(f"  {endpoint}:{namespace}/{repository}")
    if len(leaving) > SHOWN_PER_TARGET:
        click.echo(f"  … and {len(leaving) - SHOWN_PER_TARGET} more")


def print_other_writers(config: Config, targets: list[Target]) -> None:
    """Say which planned repositories another writer (config) sharing the lake synced last."""
    others = other_writers(config.output.duckdb, config.writer, targets)
    if others:
        click.echo(
            f"WARNING: {len(others)} of these repositories were last synced by another writer "
            f"sharing the lake (this config writes as {config.writer!r}); two configs must not "
            "sync the same repository:"
        )
        for line in others[:SHOWN_PER_TARGET]:
            click.echo(f"  {line}")


def print_selection(number: int, selection: Selection) -> None:
    """Print what one configured target resolved to."""
    organizations = ", ".join(selection.organizations) or "none"
    click.echo(
        f"  target {number} ({selection.spec}): organizations {organizations}; "
        f"{len(selection.targets)} repositories"
    )
    for target in selection.targets[:SHOWN_PER_TARGET]:
        suffix = f" (tags matching {target.tag!r})" if target.tag else ""
        click.echo(f"    {target.path}{suffix}")
    if len(selection.targets) > SHOWN_PER_TARGET:
        click.echo(f"    … and {len(selection.targets) - SHOWN_PER_TARGET} more")
    if selection.excluded:
        click.echo(f"    excluded: {', '.join(selection.excluded)}")
    if selection.taken_earlier:
        click.echo(f"    crawled for an earlier target: {', '.join(selection.taken_earlier)}")
    if selection.error is not None:
        click.echo(f"    discovery FAILED: {selection.error}")
