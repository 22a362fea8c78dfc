"""The removal guard: a run that would erase most of what is known about an endpoint is refused.

A wrong URL, a proxy that answers every path with an empty page, a token scoped to another
project: each looks like "every repository is empty" and would close every current tag. Sync
tools that mirror state learn to ask for confirmation first; this is ours. The tags a
`cleanup apply` deleted are removals the next sync expects: they do not count.
"""

from __future__ import annotations

from collections import Counter

from etl.errors import LimitError
from etl.results import Key, TargetResult
from etl.status import TargetStatus
from etl.store.known import CurrentRepository


def tags_lost(result: TargetResult, current: dict[Key, CurrentRepository]) -> int:
    """Return how many of a target's current tags its result would remove (net), but those a
    cleanup deleted (expected gone); none under a tag filter other than its last sync's (a
    new scope, not removals)."""
    if result.status not in (TargetStatus.OK, TargetStatus.NOT_FOUND):
        return 0  # a failed target changes nothing
    target = result.target
    held = current.get(target.key, CurrentRepository(0, None))
    if held.tag_filter != target.tag and held.tags:
        return 0
    after = result.tags if result.status == TargetStatus.OK else 0
    return max(0, held.tags - held.cleaned - after)


def refuse_mass_removals(
    results: list[TargetResult], current: dict[Key, CurrentRepository], max_share: float
) -> list[str]:
    """Fail every synced target of each endpoint whose run would remove more than `max_share`
    of the endpoint's current tags; return those endpoints."""
    held = Counter[str]()
    for (endpoint, _, _), holding in current.items():
        held[endpoint] += holding.tags
    lost = Counter[str]()
    for result in results:
        lost[result.target.endpoint] += tags_lost(result, current)
    refused = [e for e, gone in lost.items() if held[e] and gone > max_share * held[e]]
    for result in results:
        endpoint = result.target.endpoint
        if endpoint in refused and result.status in (TargetStatus.OK, TargetStatus.NOT_FOUND):
            result.status = TargetStatus.FAILED
            result.error = LimitError(
                f"refused: this run would remove {lost[endpoint]} of the endpoint's "
                f"{held[endpoint]} current tags ({lost[endpoint] / held[endpoint]:.0%}), more "
                f"than crawl.max_removed_share ({max_share:.0%}); nothing of the endpoint was "
                "committed. If the removals are real, run `swr-etl sync --accept-removals` once",
                error_code="ETL.MAX_REMOVED_SHARE",
                endpoint=endpoint,
                target=result.target.path,
            )
    return refused
