"""The local SWR API's own routes under `/_fake/`, for benchmarks that run it in another
process: move the served registry on by a day, an hour or a mass re-push; change its pace;
say what it holds (a fingerprint of every tag) and what it saw (requests, when the first and
last came).

The `/_fake/` routes are not SWR's: they are not counted as requests, throttled or faulted.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from aiohttp import web

from etl.fakeswr.days import next_day, next_hour, repush_everything
from etl.fakeswr.registry import Registry
from etl.fakeswr.state import STATE, Stats, SwrState, json_response

# A tag as a row of the warehouse's `tags_current`: namespace, repository, the 14 tag fields
# (etl.schemas.TAG_FIELDS), times as microseconds since the epoch (parse_time's truncation).
Row = tuple[object, ...]


async def advance_day(request: web.Request) -> web.Response:
    """POST /_fake/next-day?churn=0.01: serve the registry a day later (for benchmarks)."""
    state: SwrState = request.app[STATE]
    churn = float(request.query.get("churn", "0.02"))
    state.registry = next_day(state.registry, churn=churn)
    return moved_on(state.registry)


async def advance_hour(request: web.Request) -> web.Response:
    """POST /_fake/next-hour?share=0.1 (&turnover=1: one repository deleted, one created;
    &seed=N): serve the registry an hour later, `share` of its repositories touched."""
    state: SwrState = request.app[STATE]
    try:
        share = float(request.query.get("share", "0.1"))
        seed = int(request.query["seed"]) if "seed" in request.query else None
        turnover = request.query.get("turnover", "0") not in ("0", "false", "")
        state.registry = next_hour(state.registry, share, seed, turnover)
    except ValueError as exc:
        return json_response({"error_msg": str(exc)}, 400)
    return moved_on(state.registry)


async def repush(request: web.Request) -> web.Response:
    """POST /_fake/repush-everything: serve the registry an hour later with every tag pushed
    again and renumbered (nearly every tag's version changes)."""
    state: SwrState = request.app[STATE]
    state.registry = repush_everything(state.registry)
    return moved_on(state.registry)


async def set_latency(request: web.Request) -> web.Response:
    """POST /_fake/latency?ms=50: answer every later request `ms` milliseconds late (one
    server, paced and then not, spares a benchmark generating its registry twice)."""
    state: SwrState = request.app[STATE]
    try:
        latency = float(request.query["ms"])
    except (KeyError, ValueError):
        return json_response({"error_msg": "ms: a number of milliseconds"}, 400)
    if not 0 <= latency <= 60_000:
        return json_response({"error_msg": "ms: between 0 and 60000"}, 400)
    state.options.latency_ms = latency
    return json_response({"latency_ms": latency})


def moved_on(registry: Registry) -> web.Response:
    """Return where the served registry now stands: its day, hour and size."""
    return json_response(
        {
            "day": registry.day,
            "hours": registry.hours,
            "repositories": len(registry.repositories),
            "tags": registry.tag_count(),
        }
    )


async def stats_report(request: web.Request) -> web.Response:
    """GET /_fake/stats (?reset=1 to start counting afresh): requests served (and how many of
    them were organization and repository lists), and when the first and last arrived (wall
    clock), for a benchmark that runs the client elsewhere."""
    state: SwrState = request.app[STATE]
    stats = state.stats
    report = {
        "requests": stats.requests,
        "list_requests": stats.list_requests,
        "first_at": stats.first_at,
        "last_at": stats.last_at,
    }
    if request.query.get("reset"):
        state.stats = Stats()
    return json_response(report)


async def fingerprint_report(request: web.Request) -> web.Response:
    """GET /_fake/fingerprint: the served registry's tag count and `fingerprint` of its rows,
    for a benchmark to compare with the warehouse's."""
    registry = request.app[STATE].registry
    summary = fingerprint(registry_rows(registry))
    return json_response({"tags": registry.tag_count(), "fingerprint": summary})


def registry_rows(registry: Registry) -> Iterator[Row]:
    """Yield every tag of `registry` as the warehouse's `tags_current` holds it (see `Row`)."""
    for (namespace, repository), repo in registry.repositories.items():
        for t in repo.tags:
            yield (
                namespace,
                repository,
                t.tag,
                t.id,
                t.repo_id,
                t.image_id,
                t.digest,
                t.schema,
                t.path,
                t.internal_path,
                t.size,
                t.is_trusted,
                epoch_us(t.created),
                epoch_us(t.updated),
                t.domain_id,
                t.tag_type,
            )


def epoch_us(stamp: str) -> int:
    """Return an API timestamp (`format_time`'s form) as microseconds since the epoch,
    truncated as the warehouse stores it."""
    seconds = int(datetime.fromisoformat(stamp[:19] + "+00:00").timestamp())
    fraction = stamp[20:-1]
    return seconds * 1_000_000 + int((fraction + "000000")[:6])


def fingerprint(rows: Iterable[Row]) -> str:
    """Return a hash of `rows` as a multiset: each row's fields as text, hashed, the hashes
    summed. Any order gives the same, and neither side holds or sorts its rows (a million
    tags: the benchmark's own RSS would count in its child's peak, which `wait4` reports)."""
    total = 0
    for row in rows:
        line = "\t".join(map(str, row)).encode()
        total += int.from_bytes(hashlib.sha256(line).digest(), "big")
    return f"{total % 2**256:064x}"


def add_admin_routes(app: web.Application) -> None:
    """Add the `/_fake/` routes to the local API `app`."""
    app.router.add_post("/_fake/next-day", advance_day)
    app.router.add_post("/_fake/next-hour", advance_hour)
    app.router.add_post("/_fake/repush-everything", repush)
    app.router.add_post("/_fake/latency", set_latency)
    app.router.add_get("/_fake/stats", stats_report)
    app.router.add_get("/_fake/fingerprint", fingerprint_report)
