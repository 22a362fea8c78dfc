"""`swr-etl cleanup plan` → `cleanup apply` → the audit, against the local SWR API: a plan is
the rule computed independently from the registry; an apply deletes exactly what is still as
planned, refuses what it must, and records every attempt where the next sync links it."""

from __future__ import annotations

import asyncio
import copy
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import click
import duckdb
import pytest
from aiohttp import web
from click.testing import Result

from etl.cli.cleanup import cleanup
from etl.config_file import load_config
from etl.failpoints import ENV
from etl.fakeswr import FakeSwr, FaultPlan, Options, Registry, ServerThread, generate_registry
from etl.fakeswr.registry import format_time
from etl.fakeswr.server import InThread, make_app, start_app, stop
from etl.fakeswr.state import STATE
from etl.job import run_sync
from etl.run.start import output_lock
from tests import configs
from tests.commands import invoke
from tests.configs import WriteConfig, editing
from tests.registries import expected_rows, parse_time
from tests.stored import docs_sql, query, reading, stored_rows

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

Key = tuple[str, str, str]  # namespace, repository, tag
NOW = datetime.now(UTC)
RESCUED = "retagged-today"  # a fresh tag of an old image: that image must never be planned


def staged_registry() -> Registry:
    """A registry pushed over four years before now, with the cases a plan must get right: an
    old image re-tagged today (its old tags stay), and a stale tag named `latest`."""
    registry = generate_registry(repos=6, seed=3, now=NOW)
    repos = list(registry.repositories.values())
    oldest = min(repos[0].tags, key=lambda t: t.updated)
    fresh = format_time(NOW - timedelta(hours=1), 3)
    repos[0].tags.append(replace(oldest, tag=RESCUED, id=10**9, created=fresh, updated=fresh))
    without = next(r for r in repos[1:] if "latest" not in {t.tag for t in r.tags})
    min(without.tags, key=lambda t: t.updated).tag = "latest"
    return registry


@dataclass
class World:
    """A registry served locally, synced once into a warehouse, and a config for it."""

    directory: Path
    fake: FakeSwr
    registry: Registry
    config: Path

    @property
    def db(self) -> Path:
        return self.directory / "swr.duckdb"

    def swr(self, *command: str) -> Result:
        """Run `swr-etl COMMAND… -c CONFIG` (the options after the config)."""
        words = [w for w in command if not w.startswith("-")][:2]
        rest = list(command[len(words) :])
        return invoke(*words, "-c", str(self.config), *rest)

    def plan(self, *rule: str) -> tuple[Path, dict[str, Any]]:
        out = self.directory / "plan.json"
        result = self.swr("cleanup", "plan", "--older-than", *rule, "--out", str(out))
        assert result.exit_code == 0, result.output
        return out, json.loads(out.read_text())

    def apply(self, plan: Path, *extra: str) -> Result:
        limit = [] if "--max-deletions" in extra else ["--max-deletions", "1000"]
        return invoke(
            "cleanup", "apply", "-c", str(self.config), str(plan), "--yes", *limit, *extra
        )

    def dry_run(self, plan: Path, *extra: str) -> Result:
        return invoke("cleanup", "apply", "-c", str(self.config), str(plan), *extra)

    def tags(self) -> dict[Key, str]:
        """Every tag the registry holds now, with its digest."""
        return {
            (ns, repo, t.tag): t.digest
            for (ns, repo), r in self.registry.repositories.items()
            for t in r.tags
        }

    def audit(self, column: str = "result") -> dict[Key, Any]:
        """What cleanup_deletions says of each tag (its result, or another column)."""
        rows = query(self.db, f"SELECT namespace, repository, tag, {column} FROM cleanup_deletions")
        return {(ns, repo, tag): value for ns, repo, tag, value in rows}


def tag_of(repository: Any, name: str) -> Any:
    return next(t for t in repository.tags if t.tag == name)


@dataclass(frozen=True)
class Synced:
    """The registry, and a folder with its lake and warehouse after one sync (the template
    each test copies: its registry and its outputs are its own)."""

    registry: Registry
    directory: Path


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    registry = staged_registry()
    directory = tmp_path_factory.mktemp("synced")
    env = pytest.MonkeyPatch()
    with ServerThread(copy.deepcopy(registry)) as fake:
        config = configs.write_config(directory, fake, list(registry.repositories), env=env)
        assert run_sync(load_config(config)).exit_code == 0
    yield Synced(registry, directory)
    env.undo()


def world_of(
    write_config: WriteConfig, synced: Synced, tmp_path: Path, fake: FakeSwr, **crawl: Any
) -> World:
    """The synced outputs, copied for one test, with a config that reaches `fake`."""
    shutil.copytree(synced.directory, tmp_path, dirs_exist_ok=True)
    config = write_config(tmp_path, fake, list(synced.registry.repositories), **crawl)
    return World(tmp_path, fake, fake.state.registry, config)


@pytest.fixture
def world(write_config: WriteConfig, tmp_path: Path, synced: Synced) -> Iterator[World]:
    with ServerThread(copy.deepcopy(synced.registry)) as fake:
        yield world_of(write_config, synced, tmp_path, fake)


def images_of(plan: dict[str, Any], count: int) -> dict[str, Any]:
    """Return the plan cut to the tags of its first `count` images (each image's planned
    tags all kept: a plan cut elsewhere keeps a tag of the image, and rightly deletes none)."""
    digests = list(dict.fromkeys(t["digest"] for t in plan["tags"]))[:count]
    return {**plan, "tags": [t for t in plan["tags"] if t["digest"] in digests]}


def planned_keys(plan: dict[str, Any]) -> set[Key]:
    return {(t["namespace"], t["repository"], t["tag"]) for t in plan["tags"]}


# --- the plan ----------------------------------------------------------------------------------


def rule_from_registry(
    registry: Registry, as_of: datetime, days: float, keep_last: int | None, protect: list[str]
) -> tuple[set[tuple[str, str, str, str, int]], int]:
    """The plan's rule, computed here from the registry itself: a tag goes when it is not
    among the newest `keep_last`, not pushed within `days`, matches no `protect` glob, and no
    tag that stays has its digest; it frees each of its repository's images once."""
    planned, freed = set(), {}
    for (ns, repo), r in registry.repositories.items():
        newest_first = sorted(r.tags, key=lambda t: t.tag)
        newest_first.sort(key=lambda t: parse_time(t.updated), reverse=True)
        kept = {
            t.tag
            for rank, t in enumerate(newest_first, start=1)
            if (keep_last is not None and rank <= keep_last)
            or (as_of - parse_time(t.updated)) / timedelta(days=1) < days
            or any(fnmatchcase(t.tag, p) for p in protect)
        }
        staying = {t.digest for t in r.tags if t.tag in kept}
        for t in r.tags:
            if t.tag not in kept and t.digest not in staying:
                planned.add((ns, repo, t.tag, t.digest, t.size))
                freed[(ns, repo, t.digest)] = t.size
    return planned, sum(freed.values())


@pytest.mark.parametrize(
    ("rule", "days", "keep_last", "protect"),
    [
        pytest.param(["365d"], 365, None, ["latest"], id="a-year-latest-protected-by-default"),
        pytest.param(
            ["180d", "--keep-last", "5", "--protect", "latest", "--protect", "v*"],
            180,
            5,
            ["latest", "v*"],
            id="half-a-year-newest-5-and-v-tags-kept",
        ),
        pytest.param(["30d", "--no-protect"], 30, None, [], id="a-month-nothing-protected"),
        pytest.param(
            ["365d", "--protect", "v*"], 365, None, ["latest", "v*"], id="protect-adds-to-latest"
        ),
        pytest.param(
            ["365d", "--no-protect", "--protect", "v*"],
            365,
            None,
            ["v*"],
            id="no-protect-drops-latest-only",
        ),
    ],
)
def test_a_plan_equals_the_rule_computed_from_the_registry(
    world: World, rule: list[str], days: float, keep_last: int | None, protect: list[str]
) -> None:
    _, plan = world.plan(*rule)
    as_of = datetime.fromisoformat(plan["run"]["started_at"])
    expected, frees = rule_from_registry(world.registry, as_of, days, keep_last, protect)
    got = {
        (t["namespace"], t["repository"], t["tag"], t["digest"], t["size"]) for t in plan["tags"]
    }
    assert got == expected and plan["frees"] == frees
    assert 0 < len(got) < len(world.tags()) and plan["rule"]["protect"] == protect
    rescued = next(r for r in world.registry.repositories.values() if r.tags[-1].tag == RESCUED)
    image = rescued.tags[-1].digest
    shared = {(rescued.namespace, rescued.name, t.tag) for t in rescued.tags if t.digest == image}
    assert len(shared) > 1 and not shared & {key[:3] for key in got}  # its image stays whole
    assert world.fake.state.stats.deletes == 0


def test_the_dashboard_names_the_plan_that_frees_what_it_shows(world: World) -> None:
    from etl.present.dashboard import render_dashboard

    with reading(world.db) as con:
        page = render_dashboard(con)
        reclaimable = dict(
            ((ns, repo), int(size))
            for ns, repo, size in con.execute(
                "SELECT namespace, repository, reclaimable_size FROM cleanup_candidates(365) "
                "WHERE reclaimable_size > 0"
            ).fetchall()
        )
    command = "swr-etl cleanup plan -c config.yaml --older-than 365d --no-protect"
    assert command in page
    _, plan = world.plan("365d", "--no-protect")
    freed: dict[tuple[str, str], int] = {}
    for t in plan["tags"]:
        key = (t["namespace"], t["repository"])
        freed[key] = freed.get(key, 0) + t["freed_size"]
    assert {k: v for k, v in freed.items() if v} == reclaimable


# --- applying it -------------------------------------------------------------------------------


def test_a_dry_run_sends_no_request(world: World) -> None:
    path, plan = world.plan("365d")
    before = world.tags()
    result = world.dry_run(path, "--max-deletions", "1000")
    assert result.exit_code == 0, result.output
    assert "dry run: nothing was deleted and no request was sent" in result.stderr
    assert f"{len(plan['tags'])} tag(s)" in result.stdout
    assert world.fake.state.stats.requests == 0 and world.tags() == before


def test_every_planned_tag_goes_and_no_other(world: World) -> None:
    path, plan = world.plan("365d")
    before = world.tags()
    result = world.apply(path)
    assert result.exit_code == 0, result.output
    planned = planned_keys(plan)
    assert set(world.fake.state.deleted) == planned  # what SWR deleted, siblings included
    assert world.tags() == {k: v for k, v in before.items() if k not in planned}
    deletes = world.fake.state.stats.deletes
    assert 0 < deletes < len(planned)  # a sibling of a deleted image is found gone, not sent


def test_a_region_without_v3_reads_its_tags_from_the_v2_list(
    write_config: WriteConfig, tmp_path: Path, synced: Synced
) -> None:
    options = Options(api="v2")
    with serving(copy.deepcopy(synced.registry), options=options) as fake:
        world = world_of(write_config, synced, tmp_path, fake)
        path, plan = world.plan("365d")
        result = world.apply(path)
        assert result.exit_code == 0, result.output
        assert set(world.fake.state.deleted) == planned_keys(plan)
        assert world.fake.state.stats.v2_requests > 0


def test_a_tag_that_moved_since_the_plan_is_skipped_and_kept(world: World) -> None:
    path, plan = world.plan("365d")
    by_key = {(t["namespace"], t["repository"], t["tag"]): t for t in plan["tags"]}
    repos = world.registry.repositories
    digests = [t["digest"] for t in plan["tags"]]
    shared = next(d for d in digests if digests.count(d) > 1)  # an image with two planned tags
    repushed = next(t for t in plan["tags"] if t["digest"] == shared)
    moved = next(t for t in plan["tags"] if t["digest"] != shared)
    fresh = format_time(datetime.now(UTC), 6)
    for planned, change in (
        (repushed, {"updated": fresh}),
        (moved, {"digest": "sha256:" + "e" * 64}),
    ):
        tag = tag_of(repos[(planned["namespace"], planned["repository"])], planned["tag"])
        for name, value in change.items():
            setattr(tag, name, value)
    result = world.apply(path)
    assert result.exit_code == 5, result.output
    kept = {k for k, t in by_key.items() if t["digest"] == shared} | {
        (moved["namespace"], moved["repository"], moved["tag"])
    }
    assert kept <= set(world.tags())
    assert {k: v for k, v in world.audit().items() if k in kept} == dict.fromkeys(kept, "changed")
    gone = set(by_key) - kept
    assert not gone & set(world.tags()) and set(world.fake.state.deleted) == gone
    assert (
        "skipped (changed since the plan)" in result.stderr and "pushed again at" in result.stderr
    )


def test_an_image_tagged_again_since_the_plan_is_kept_whole(world: World) -> None:
    path, plan = world.plan("365d")
    target = plan["tags"][0]
    repo = world.registry.repositories[(target["namespace"], target["repository"])]
    old = tag_of(repo, target["tag"])
    repo.tags.append(replace(old, tag="restored", id=10**9 + 1))  # someone tags the image again
    siblings = {t.tag for t in repo.tags if t.digest == old.digest}
    result = world.apply(path)
    assert result.exit_code == 5, result.output
    assert {(repo.namespace, repo.name, s) for s in siblings} <= set(world.tags())
    assert "its image is also tagged restored, which stays" in result.stderr


@pytest.mark.parametrize(
    ("edit", "options", "says"),
    [
        pytest.param(
            {"computed_at": -timedelta(hours=25)},
            [],
            "older than --max-age",
            id="a-day-old-refused",
        ),
        pytest.param(
            {"computed_at": timedelta(hours=1)},
            [],
            "after this machine's time",
            id="from-the-future-refused",
        ),
        pytest.param(
            {}, ["--max-deletions", "1"], "more than --max-deletions", id="too-large-refused"
        ),
        pytest.param(
            {"endpoint": "other"}, [], "computed for another config", id="another-configs-refused"
        ),
    ],
)
def test_a_stale_foreign_or_large_plan_is_refused_before_any_request(
    world: World, edit: dict[str, Any], options: list[str], says: str
) -> None:
    path, plan = world.plan("365d")
    if "computed_at" in edit:
        plan["computed_at"] = (datetime.now(UTC) + edit["computed_at"]).isoformat()
        path.write_text(json.dumps(plan))
    if "endpoint" in edit:
        with editing(world.config) as data:
            data["endpoints"][0]["name"] = edit["endpoint"]
    before = world.tags()
    result = world.apply(path, *options)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert says in result.stderr
    assert world.fake.state.stats.requests == 0 and world.tags() == before


def test_a_plan_a_day_old_applies_with_a_longer_max_age(world: World) -> None:
    path, plan = world.plan("365d")
    plan["computed_at"] = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    path.write_text(json.dumps(plan))
    assert world.apply(path, "--max-age", "2d").exit_code == 0


@pytest.mark.parametrize(
    ("text_of", "says"),
    [
        pytest.param(lambda p: "{", "Invalid JSON", id="not-json"),
        pytest.param(lambda p: b"\x00\xff garbage", "Invalid JSON", id="binary-garbage"),
        pytest.param(lambda p: json.dumps([p]), "Input should be an object", id="a-list"),
        pytest.param(
            lambda p: json.dumps(with_tag(p, size="12")),
            "tags[0].size: Input should be a valid integer",
            id="size-as-text",
        ),
        pytest.param(
            lambda p: json.dumps(with_tag(p, updated="2024-01-01T00:00:00")),
            "tags[0].updated",
            id="time-without-zone",
        ),
        pytest.param(
            lambda p: json.dumps(with_tag(p, repository="../../etc")),
            "invalid repository",
            id="repository-breaks-the-rules",
        ),
        pytest.param(
            lambda p: json.dumps(with_tag(p, endpoint="elsewhere")),
            "is not the plan's",
            id="tag-of-another-endpoint",
        ),
        pytest.param(
            lambda p: json.dumps({**p, "tags": p["tags"][:1] * 2}),
            "a tag is listed twice",
            id="a-tag-twice",
        ),
        pytest.param(
            lambda p: json.dumps({**p, "extra": 1}), "extra: unknown field", id="unknown-field"
        ),
        pytest.param(
            lambda p: json.dumps({k: v for k, v in p.items() if k != "tags"}),
            "tags: Field required",
            id="no-tags",
        ),
        pytest.param(lambda p: json.dumps({**p, "version": 2}), "version", id="a-later-version"),
        # What passed before and crashed after deleting (exit 70, no record):
        pytest.param(
            lambda p: json.dumps(with_tag(p, freed_size=10**30)),
            "tags[0].freed_size: Input should be less than or equal to 9223372036854775807",
            id="a-size-beyond-int64",
        ),
        pytest.param(
            lambda p: json.dumps(with_tag(p, size=-1)),
            "tags[0].size: Input should be greater than or equal to 0",
            id="a-negative-size",
        ),
        pytest.param(
            lambda p: json.dumps({**p, "run": {**p["run"], "seq": 2**63}}),
            "run.seq: Input should be less than or equal to",
            id="a-seq-beyond-int64",
        ),
        pytest.param(
            lambda p: json.dumps(with_tag(p, updated="0001-01-01T00:00:00+14:00")),
            "tags[0].updated: is outside the years 1 to 9999 in UTC",
            id="a-time-with-no-utc-form",
        ),
        pytest.param(
            lambda p: json.dumps(with_endpoint(with_tag(p, endpoint="evil"), "evil")),
            "config: the fingerprint is not that of the endpoints listed",
            id="an-endpoint-added-to-the-plan",
        ),
        pytest.param(
            lambda p: json.dumps(with_tag(p, tag="..")),
            "tags[0]: invalid tag '..': must be 1 to 128 letters, digits, _ . or -",
            id="a-dot-segment-tag",
        ),
        pytest.param(
            lambda p: json.dumps(with_tag(p, tag="UPPER sp")),
            "invalid tag 'UPPER sp'",
            id="a-tag-with-a-space",
        ),
    ],
)
def test_a_plan_edited_by_hand_into_nonsense_is_one_line(
    world: World, text_of: Any, says: str
) -> None:
    path, plan = world.plan("365d")
    text = text_of(plan)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    for result in (world.apply(path), world.dry_run(path, "--max-deletions", "1000")):
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"error: {path}: ") and result.stderr.count("\n") == 1
        assert says in result.stderr
    assert world.fake.state.stats.requests == 0


def with_endpoint(plan: dict[str, Any], name: str) -> dict[str, Any]:
    """The plan with one more endpoint listed in its config, its fingerprint left alone."""
    config = plan["config"]
    endpoints = [*config["endpoints"], {"name": name, "url": "http://127.0.0.1:1"}]
    return {**plan, "config": {**config, "endpoints": endpoints}}


def with_tag(plan: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {**plan, "tags": [{**plan["tags"][0], **fields}, *plan["tags"][1:]]}


def test_refused_credentials_fail_the_endpoints_tags_unsent(world: World) -> None:
    path, plan = world.plan("365d")
    world.fake.credentials.token = "rotated"
    result = world.apply(path)
    assert result.exit_code == 5
    failures = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failures) == len(plan["tags"]) and all("HTTP 401" in f for f in failures)
    assert world.fake.state.stats.deletes == 0 and world.fake.state.stats.requests <= 2
    assert set(world.audit().values()) == {"failed"}


def test_a_plan_in_json_is_the_summary_and_the_plan_for_scripts(world: World) -> None:
    out = world.directory / "plan.json"
    result = world.swr(
        "cleanup", "plan", "--older-than", "365d", "--out", str(out), "--format", "json"
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    plan = json.loads(out.read_text())
    assert body["plan"]["id"] == plan["id"] and body["plan"]["frees"] == plan["frees"]
    assert sum(r["tags"] for r in body["repositories"]) == len(plan["tags"])
    assert sum(r["freed_size"] for r in body["repositories"]) == plan["frees"]


@pytest.mark.parametrize(
    ("given", "says"),
    [
        pytest.param("365", "has no unit", id="a-bare-number-is-refused-not-seconds"),
        pytest.param("0d", "more than 0", id="zero-is-refused"),
        pytest.param("a year", "not a duration", id="words-are-refused"),
    ],
)
def test_an_age_that_would_plan_everything_is_refused(
    world: World, given: str, says: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(world.directory)  # where a plan would go by default
    result = world.swr("cleanup", "plan", "--older-than", given)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1 and says in result.stderr
    assert not list(world.directory.glob("cleanup-plan-*.json"))


def test_a_plan_is_written_here_by_default_and_named_by_its_id(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(world.directory)
    result = world.swr("cleanup", "plan", "--older-than", "365d")
    assert result.exit_code == 0, result.output
    (written,) = world.directory.glob("cleanup-plan-*.json")
    plan_id = json.loads(written.read_text())["id"]
    assert written.name == f"cleanup-plan-{plan_id}.json" and f"to {written.name}" in result.stderr


def test_a_plan_that_cannot_be_written_is_one_line(world: World) -> None:
    (world.directory / "file").write_text("")
    out = world.directory / "file" / "plan.json"  # a folder that is a file
    result = world.swr("cleanup", "plan", "--older-than", "365d", "--out", str(out))
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert "Invalid value for '--out'" in result.stderr and "Not a directory" in result.stderr


def test_a_missing_plan_file_is_one_line(world: World) -> None:
    result = world.apply(world.directory / "nowhere.json")
    assert result.exit_code == 2 and "cannot read the plan" in result.stderr


def test_apply_waits_for_no_sync_it_exits_75_while_one_runs(world: World) -> None:
    path, _ = world.plan("365d")
    with output_lock(load_config(world.config, secrets_needed=False).output):
        result = world.apply(path)
    assert result.exit_code == 75 and "another sync holds" in result.stderr
    assert world.fake.state.stats.deletes == 0


# --- the audit ---------------------------------------------------------------------------------


def test_the_audit_equals_what_the_api_deleted_and_the_next_sync_links_it(world: World) -> None:
    path, plan = world.plan("365d")
    result = world.apply(path)
    assert result.exit_code == 0, result.output
    audit = world.audit()
    assert {k for k, r in audit.items() if r in ("deleted", "gone")} == set(
        world.fake.state.deleted
    )
    assert len(audit) == len(plan["tags"])
    files = list((world.directory / "lake" / "cleanups").glob("applied_date=*/*.parquet"))
    assert len(files) == 1
    # More than crawl.max_removed_share of the endpoint went: the guard expects these removals.
    assert len(audit) > 0.5 * len(world.tags() | dict.fromkeys(audit))
    assert run_sync(load_config(world.config)).exit_code == 0
    assert stored_rows(world.db) == expected_rows(world.registry)
    (latest,) = query(world.db, "SELECT run_id FROM runs ORDER BY seq DESC LIMIT 1")[0]
    history = query(
        world.db,
        "SELECT tag, plan_id, applied_by, removed_in_run FROM cleanup_history WHERE done",
    )
    assert {(tag, plan_id, run) for tag, plan_id, _, run in history} == {
        (key[2], plan["id"], latest) for key in audit
    }
    assert all(who for _, _, who, _ in history)


def test_rebuild_and_load_bring_the_audit_back_from_the_lake(world: World) -> None:
    path, _ = world.plan("365d")
    assert world.apply(path).exit_code == 0
    audit = world.audit()
    result = world.swr("rebuild")
    assert result.exit_code == 0, result.output
    assert world.audit() == audit
    with duckdb.connect(str(world.db)) as con:
        con.execute("DELETE FROM cleanup_deletions")
    result = world.swr("load")
    assert result.exit_code == 0, result.output
    assert world.audit() == audit


# --- a hostile network -------------------------------------------------------------------------


def hostile_deletes(status: int, body: bytes, content_type: str) -> Any:
    @web.middleware
    async def answer(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method != "DELETE":
            return await handler(request)
        request.app[STATE].stats.deletes += 1
        return web.Response(status=status, body=body, content_type=content_type)

    return answer


def serving(registry: Registry, middleware: Any = None, options: Options | None = None) -> Any:
    async def up() -> FakeSwr:
        app = make_app(registry, options=options)
        if middleware is not None:
            app.middlewares.append(middleware)
        running = await start_app(app)
        app[STATE].server = running.runner.server
        return FakeSwr(running.url, running.runner, app)

    return InThread(up, stop)


SWR_500 = b'{"errors": [{"errorCode": "SVCSTG.SWR.5000001", "errorMessage": "Internal error"}]}'
THROTTLED = (
    b'{"error_code": "APIGW.0308", "error_msg": "The throttling threshold has been reached"}'
)
HTML = b"<html><body>Proxy login required</body></html>"


@pytest.mark.parametrize(
    ("status", "body", "kind", "says"),
    [
        pytest.param(
            500, SWR_500, "application/json", "HTTP 500 SVCSTG.SWR.5000001", id="500-tag-fails-kept"
        ),
        pytest.param(
            429, THROTTLED, "application/json", "HTTP 429 APIGW.0308", id="429-tag-fails-kept"
        ),
        pytest.param(200, HTML, "text/html", "not JSON", id="html-200-tag-fails-kept"),
        pytest.param(
            502, HTML, "text/html", "HTTP 502: non-JSON response body", id="html-502-tag-fails-kept"
        ),
    ],
)
def test_a_delete_answered_badly_fails_its_tag_and_says_so(
    write_config: WriteConfig,
    tmp_path: Path,
    synced: Synced,
    status: int,
    body: bytes,
    kind: str,
    says: str,
) -> None:
    registry = copy.deepcopy(synced.registry)
    with serving(registry, hostile_deletes(status, body, kind)) as fake:
        world = world_of(write_config, synced, tmp_path, fake, max_attempts=2)
        path, plan = world.plan("365d")
        plan = images_of(plan, 1)
        path.write_text(json.dumps(plan))
        before = world.tags()
        result = world.apply(path)
    assert result.exit_code == 5, result.output
    assert world.tags() == before
    tried = len(plan["tags"])
    failures = [line for line in result.stderr.splitlines() if line.startswith("FAILED")]
    assert len(failures) == tried and all(says in line for line in failures)
    assert all("request id" in line for line in failures)
    rows = query(
        world.db, "SELECT result, http_status, request_id IS NOT NULL FROM cleanup_deletions"
    )
    assert rows == [("failed", None if status == 200 else status, True)] * tried
    assert "0 deleted" in result.stdout and f"{tried} failed" in result.stdout


def test_a_delete_whose_answer_is_lost_is_deleted_when_the_list_read_after_lacks_it(
    write_config: WriteConfig, tmp_path: Path, synced: Synced
) -> None:
    options = Options()
    with serving(copy.deepcopy(synced.registry), options=options) as fake:
        world = world_of(write_config, synced, tmp_path, fake)
        path, plan = world.plan("365d")
        plan = images_of(plan, 2)
        path.write_text(json.dumps(plan))
        options.faults = FaultPlan(rate=1.0, kinds=("reset", "truncated"), seed=5)
        result = world.apply(path)
    assert result.exit_code == 0, result.output
    assert not planned_keys(plan) & set(world.tags())
    lost = "its DELETE failed, yet the list read after it lacks the tag"
    assert ("deleted", lost) in set(world.audit("(result, detail)").values())


def test_the_documented_audit_query_answers_after_an_apply(world: World) -> None:
    path, plan = world.plan("365d")
    assert world.apply(path).exit_code == 0
    rows = query(world.db, docs_sql("cleanup.md", "## Audit"))
    assert len(rows) == len(plan["tags"]) and {r[2] for r in rows} == {plan["id"]}


@pytest.mark.parametrize("name", sorted(cleanup.commands))
def test_every_cleanup_command_has_help(name: str) -> None:
    command = cleanup.commands[name]
    assert command.help and len(command.help) > 20
    assert invoke("cleanup", name, "--help").exit_code == 0
    for param in command.params:
        if isinstance(param, click.Option) and param.name != "help":
            assert param.help, f"cleanup {name} {param.opts} has no help text"


@pytest.mark.slow
def test_an_apply_stopped_by_sigterm_records_what_it_deleted(world: World) -> None:
    path, plan = world.plan("365d")
    env = {**os.environ, ENV: "cleanup-deleted:TERM"}
    command = ["cleanup", "apply", "-c", str(world.config), str(path), "--yes"]
    done = subprocess.run(
        [sys.executable, "-m", "etl", *command, "--max-deletions", "1000"],
        capture_output=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 143, done.stderr
    last = done.stderr.decode().splitlines()[-1]
    assert re.fullmatch(
        r"error: interrupted by SIGTERM: \d+ attempted delete\(s\) recorded in .+", last
    )
    audit = world.audit()
    assert 0 < len(audit) < len(plan["tags"]) and "deleted" in audit.values()
    # What SWR deleted: the tags recorded done, and the other tags of the images they took.
    digests = {(t["namespace"], t["repository"], t["tag"]): t["digest"] for t in plan["tags"]}
    taken = {digests[k] for k, r in audit.items() if r == "deleted"}
    done = {k for k, r in audit.items() if r in ("deleted", "gone")}
    assert done <= set(world.fake.state.deleted)
    assert all(digests[k] in taken for k in set(world.fake.state.deleted) - done)


# --- what a hostile pass found (issue 37's attack) ---------------------------------------------


def listing_of(request: web.Request) -> tuple[str, str] | None:
    """The repository whose whole tag list a request reads (no `tag` filter), or None."""
    if request.method != "GET" or not request.path.endswith("/tags") or "tag" in request.query:
        return None
    info = request.match_info
    return (info["namespace"], info["repository"].replace("$", "/"))


def image_pushed_after_first_list(when: dict[str, Any]) -> Any:
    """Right after the first whole list of `when['repository']` is served, tag the image of
    `when['like']` again as `prod` (someone pushes during the apply)."""

    @web.middleware
    async def push(request: web.Request, handler: Any) -> web.StreamResponse:
        response = await handler(request)
        if when and listing_of(request) == when["repository"]:
            repo = request.app[STATE].registry.repositories[when.pop("repository")]
            fresh = format_time(datetime.now(UTC), 6)
            like = tag_of(repo, when.pop("like"))
            repo.tags.append(replace(like, tag="prod", id=10**9 + 7, updated=fresh))
        return response

    return push


def test_a_tag_pushed_onto_a_planned_image_during_the_apply_is_kept_with_it(
    write_config: WriteConfig, tmp_path: Path, synced: Synced
) -> None:
    when: dict[str, Any] = {}
    with serving(copy.deepcopy(synced.registry), image_pushed_after_first_list(when)) as fake:
        world = world_of(write_config, synced, tmp_path, fake)
        path, plan = world.plan("365d")
        by_repository: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for t in sorted(plan["tags"], key=lambda t: t["tag"]):
            by_repository.setdefault((t["namespace"], t["repository"]), []).append(t)
        repository, tags = next(
            (k, v) for k, v in by_repository.items() if len({t["digest"] for t in v}) > 1
        )
        # Not the repository's first planned tag: the push comes after that one's own read.
        target = next(t for t in tags if t["digest"] != tags[0]["digest"])
        when.update(repository=repository, like=target["tag"])
        result = world.apply(path)
    assert result.exit_code == 5, result.output
    assert not when  # the push happened, mid-apply
    image = {(*repository, t["tag"]) for t in tags if t["digest"] == target["digest"]}
    assert {(*repository, "prod"), *image} <= set(world.tags())
    assert set(world.fake.state.deleted) <= planned_keys(plan)  # nothing outside the plan
    assert "its image is also tagged prod, which stays" in result.stderr


def slow_lists(seconds: float) -> Any:
    @web.middleware
    async def slow(request: web.Request, handler: Any) -> web.StreamResponse:
        if listing_of(request) is not None:
            await asyncio.sleep(seconds)
        return await handler(request)

    return slow


def test_a_delete_never_follows_a_read_slower_than_its_window(
    write_config: WriteConfig, tmp_path: Path, synced: Synced, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("etl.run.cleanup_deletes.READ_TO_DELETE_S", 0.05)
    with serving(copy.deepcopy(synced.registry), slow_lists(0.1)) as fake:
        world = world_of(write_config, synced, tmp_path, fake)
        path, plan = world.plan("365d")
        path.write_text(json.dumps(images_of(plan, 3)))
        before = world.tags()
        result = world.apply(path)
    assert result.exit_code == 5, result.output
    assert world.fake.state.stats.deletes == 0 and world.tags() == before
    assert set(world.audit().values()) == {"failed"}
    assert "longer than the 0s a DELETE may follow the read that allows it" in result.stderr


def test_a_tag_the_filtered_read_misses_is_still_deleted_not_called_gone(
    write_config: WriteConfig, tmp_path: Path, synced: Synced
) -> None:
    @web.middleware
    async def filter_finds_nothing(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "GET" and "tag" in request.query:
            return web.json_response({"tags": []})
        return await handler(request)

    with serving(copy.deepcopy(synced.registry), filter_finds_nothing) as fake:
        world = world_of(write_config, synced, tmp_path, fake)
        path, plan = world.plan("365d")
        result = world.apply(path)
    assert result.exit_code == 0, result.output
    assert set(world.fake.state.deleted) == planned_keys(plan)
    assert "deleted" in world.audit().values() and world.fake.state.stats.deletes > 0


def deletes_that_delete_nothing(
    hidden: set[str] | None = None, empty: dict[str, bool] | None = None
) -> Any:
    """DELETE answers 204 and deletes nothing; with `hidden`, the tags it was asked for are
    left out of the lists (a list that lags behind, or lies) until the set is cleared; with
    `empty['lists']` set, every tag list is empty."""

    @web.middleware
    async def noop(request: web.Request, handler: Any) -> web.StreamResponse:
        state = request.app[STATE]
        if request.method == "DELETE":
            state.stats.deletes += 1
            if hidden is not None:
                hidden.add(request.match_info["tag"])
            return web.Response(status=204)
        key = listing_of(request)
        if key is not None and empty and empty["lists"]:
            return web.json_response({"tags": []})
        if key is None or not hidden:
            return await handler(request)
        repo = state.registry.repositories[key]
        kept = repo.tags
        repo.tags = [t for t in kept if t.tag not in hidden]
        try:
            return await handler(request)
        finally:
            repo.tags = kept

    return noop


def test_a_delete_answered_204_that_removed_nothing_is_failed_not_deleted(
    write_config: WriteConfig, tmp_path: Path, synced: Synced
) -> None:
    with serving(copy.deepcopy(synced.registry), deletes_that_delete_nothing()) as fake:
        world = world_of(write_config, synced, tmp_path, fake)
        path, plan = world.plan("365d")
        before = world.tags()
        result = world.apply(path)
    assert result.exit_code == 5, result.output
    assert world.tags() == before and set(world.audit().values()) == {"failed"}
    assert "answered its DELETE with HTTP 2xx but still lists it" in result.stderr


def test_the_removal_guard_expects_no_removal_a_later_sync_saw_undone(
    write_config: WriteConfig, tmp_path: Path, synced: Synced
) -> None:
    hidden: set[str] = set()
    empty = {"lists": False}
    registry = copy.deepcopy(synced.registry)
    with serving(registry, deletes_that_delete_nothing(hidden, empty)) as fake:
        world = world_of(write_config, synced, tmp_path, fake)
        path, plan = world.plan("365d")
        result = world.apply(path)
        assert result.exit_code == 0, result.output  # the lying lists confirmed every delete
        hidden.clear()
        assert world.swr("sync", "--no-progress").exit_code == 0  # every tag is still there
        empty["lists"] = True
        refused = world.swr("sync", "--no-progress")
    assert refused.exit_code == 3, refused.output
    assert "crawl.max_removed_share" in refused.output


def test_a_bug_after_a_delete_still_records_what_was_attempted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(name: str) -> None:
        if name == "cleanup-deleted":
            raise RuntimeError("a bug after the delete")

    monkeypatch.setattr("etl.run.cleanup_deletes.failpoint", broken)
    path, plan = world.plan("365d")
    result = world.apply(path)
    assert result.exit_code == 70, result.output
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: unexpected RuntimeError in swr-etl cleanup apply")
    audit = world.audit("(result, detail)")
    stopped = [k for k, (r, d) in audit.items() if "stopped by an unexpected RuntimeError" in d]
    assert len(stopped) == 1 and audit[stopped[0]][0] == "failed"
    digests = {(t["namespace"], t["repository"], t["tag"]): t["digest"] for t in plan["tags"]}
    recorded = {digests[k] for k in audit}
    assert world.fake.state.deleted  # SWR deleted an image, and the record names its tag
    assert all(digests[k] in recorded for k in world.fake.state.deleted)


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(lambda p: os.mkfifo(p), "is a FIFO (named pipe)", id="a-fifo-is-left-alone"),
        pytest.param(lambda p: p.mkdir(), "is a directory", id="a-folder-is-left-alone"),
        pytest.param(
            lambda p: p.symlink_to("/dev/null"),
            "is a character device",
            id="a-link-to-a-device-is-left-alone",
        ),
        pytest.param(
            lambda p: p.symlink_to(p.parent / "nowhere"),
            "is a symbolic link to nothing",
            id="a-dangling-link-is-left-alone",
        ),
    ],
)
def test_a_plan_is_never_written_over_what_is_not_a_regular_file(
    world: World, make: Any, says: str
) -> None:
    out = world.directory / "plan.json"
    make(out)
    before = os.lstat(out).st_mode if out.is_symlink() or out.exists() else None
    result = world.swr("cleanup", "plan", "--older-than", "365d", "--out", str(out))
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and says in result.stderr
    assert "Invalid value for '--out'" in result.stderr
    assert os.lstat(out).st_mode == before  # still what it was
    assert not list(world.directory.glob(".plan.json.*"))


@pytest.mark.parametrize(
    ("given", "says"),
    [
        pytest.param("", "is empty", id="empty-is-refused"),
        pytest.param("no/such/folder/plan.json", "does not exist", id="no-folder-is-made"),
    ],
)
def test_a_plan_path_without_a_place_is_one_line(world: World, given: str, says: str) -> None:
    result = invoke(
        "cleanup", "plan", "-c", str(world.config), "--older-than", "365d", "--out", given
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and says in result.stderr
    assert not (Path.cwd() / "no").exists()


def test_a_plan_written_through_a_link_replaces_the_file_it_names(world: World) -> None:
    real = world.directory / "real.json"
    real.write_text("old")
    link = world.directory / "plan.json"
    link.symlink_to(real)
    result = world.swr("cleanup", "plan", "--older-than", "365d", "--out", str(link))
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and json.loads(real.read_text())["format"] == "swr-etl cleanup plan"


@pytest.mark.parametrize(
    ("make", "says"),
    [
        pytest.param(lambda p: Path("/dev/zero"), "is a character device", id="dev-zero"),
        pytest.param(lambda p: (os.mkfifo(p), p)[1], "is a FIFO", id="a-fifo-no-writer-no-hang"),
        pytest.param(
            lambda p: (os.truncate(p.write_bytes(b"") or p, 64 * 2**20 + 1), p)[1],
            "is larger than 64 MiB",
            id="a-huge-file",
        ),
    ],
)
def test_a_plan_file_is_read_bounded_and_regular(world: World, make: Any, says: str) -> None:
    path = make(world.directory / "plan.json")
    result = world.apply(path)
    assert result.exit_code == 2, result.output
    assert result.stderr.count("\n") == 1 and says in result.stderr
    assert result.stderr.startswith(f"error: {path}: cannot read the plan: it ")
    assert world.fake.state.stats.requests == 0


def registry_tag(world: World, key: Key) -> dict[str, Any]:
    """A tag of the registry as a plan lists it (its real digest, push time and size)."""
    repo = world.registry.repositories[key[:2]]
    t = tag_of(repo, key[2])
    return {
        "endpoint": "local",
        "namespace": key[0],
        "repository": key[1],
        "tag": t.tag,
        "digest": t.digest,
        "updated": parse_time(t.updated).isoformat(),
        "size": t.size,
        "freed_size": t.size,
    }


def test_a_tag_added_against_the_plans_own_rule_is_kept(world: World) -> None:
    path, plan = world.plan("365d")
    as_of = datetime.fromisoformat(plan["run"]["started_at"])
    planned = planned_keys(plan)
    stale_latest = next(k for k in world.tags() if k[2] == "latest" and k not in planned)
    fresh = next(
        k
        for k in world.tags()
        if k[2] not in ("latest", RESCUED)
        and as_of - parse_time(tag_of(world.registry.repositories[k[:2]], k[2]).updated)
        < timedelta(days=30)
    )
    added = [registry_tag(world, stale_latest), registry_tag(world, fresh)]
    path.write_text(json.dumps({**plan, "tags": [*plan["tags"], *added]}))
    dry = world.dry_run(path, "--max-deletions", "1000")
    assert dry.exit_code == 0, dry.output
    assert dry.stderr.count("skipped (the plan's own rule keeps it)") == 2
    result = world.apply(path)
    assert result.exit_code == 5, result.output
    assert {stale_latest, fresh} <= set(world.tags())
    audit = world.audit("(result, detail)")
    assert audit[stale_latest] == (
        "refused",
        "the plan's rule keeps it: its name matches the plan's protect glob 'latest'",
    )
    assert audit[fresh][0] == "refused" and "less than its rule's 365d" in audit[fresh][1]
    assert {k for k, (r, _) in audit.items() if r in ("deleted", "gone")} == planned


def test_what_a_plan_frees_is_computed_never_read_from_the_file(world: World) -> None:
    path, plan = world.plan("365d")
    frees = plan["frees"]
    inflated = [{**t, "freed_size": 10**15} for t in plan["tags"]]
    path.write_text(json.dumps({**plan, "frees": 10**20, "tags": inflated}))
    dry = world.dry_run(path, "--max-deletions", "1000", "--format", "json")
    assert dry.exit_code == 0, dry.output
    body = json.loads(dry.stdout)
    assert body["plan"]["frees"] == frees
    assert sum(r["freed_size"] for r in body["repositories"]) == frees
    assert world.apply(path).exit_code == 0
    (freed,) = query(world.db, "SELECT sum(freed_size) FROM cleanup_deletions")[0]
    assert freed == frees  # what the DELETEs freed, each image once, as SWR sized it


def test_an_image_freed_by_a_sibling_is_recorded_once_where_it_went(world: World) -> None:
    path, plan = world.plan("365d")
    digests = [t["digest"] for t in plan["tags"]]
    shared = next(d for d in digests if digests.count(d) > 1)
    tags = sorted((t for t in plan["tags"] if t["digest"] == shared), key=lambda t: t["tag"])
    first = tags[0]  # the one the plan counts the image's size on
    assert first["freed_size"] == first["size"] and all(t["freed_size"] == 0 for t in tags[1:])
    repo = world.registry.repositories[(first["namespace"], first["repository"])]
    tag_of(repo, first["tag"]).digest = "sha256:" + "f" * 64  # moved: it stays, elsewhere
    result = world.apply(path)
    assert result.exit_code == 5, result.output
    freed = world.audit("freed_size")
    keys = [(t["namespace"], t["repository"], t["tag"]) for t in tags]
    assert freed[keys[0]] == 0 and sum(freed[k] for k in keys[1:]) == first["size"]


def test_only_an_attempt_that_removed_its_tag_is_linked_to_the_sync_that_saw_it_go(
    write_config: WriteConfig, tmp_path: Path, synced: Synced
) -> None:
    failing = {"deletes": True}

    @web.middleware
    async def fail_then_work(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method == "DELETE" and failing["deletes"]:
            return web.json_response({"errors": [{"errorCode": "SVCSTG.SWR.5000001"}]}, status=500)
        return await handler(request)

    with serving(copy.deepcopy(synced.registry), fail_then_work) as fake:
        world = world_of(write_config, synced, tmp_path, fake, max_attempts=1)
        path, plan = world.plan("365d")
        path.write_text(json.dumps(images_of(plan, 2)))
        assert world.apply(path).exit_code == 5
        failing["deletes"] = False
        second = world.apply(path)
        assert second.exit_code == 0, second.output
        assert world.swr("sync", "--no-progress").exit_code == 0
    (latest,) = query(world.db, "SELECT run_id FROM runs ORDER BY seq DESC LIMIT 1")[0]
    rows = query(world.db, "SELECT result, removed_in_run FROM cleanup_history")
    assert {r for r, _ in rows} == {"failed", "deleted", "gone"}
    assert all((run == latest) == (result != "failed") for result, run in rows)


def test_a_tag_outside_the_registrys_grammar_is_never_planned_nor_its_image(
    write_config: WriteConfig,
    tmp_path: Path,
) -> None:
    registry = generate_registry(repos=2, seed=5, now=NOW)
    repo = next(iter(registry.repositories.values()))
    old = min(repo.tags, key=lambda t: t.updated)
    lone = max(repo.tags, key=lambda t: t.updated)
    stale = format_time(NOW - timedelta(days=900), 3)
    repo.tags += [
        replace(old, tag="..", id=10**9 + 1),  # shares the oldest image
        replace(lone, tag="UPPER sp", id=10**9 + 2, digest="sha256:" + "d" * 64, updated=stale),
    ]
    with ServerThread(registry) as fake:
        config = write_config(tmp_path, fake, list(registry.repositories))
        assert run_sync(load_config(config)).exit_code == 0
        world = World(tmp_path, fake, fake.state.registry, config)
        path, plan = world.plan("365d", "--no-protect")
        assert world.apply(path).exit_code == 0
    names = {t["tag"] for t in plan["tags"]}
    assert plan["tags"] and not names & {"..", "UPPER sp", old.tag}
    assert not any(".." in p or " " in p or "%20" in p for p in fake.state.stats.delete_paths)


def test_rebuild_loads_each_apply_once_whatever_a_copy_is_named(world: World) -> None:
    path, plan = world.plan("365d")
    assert world.apply(path).exit_code == 0
    (original,) = (world.directory / "lake" / "cleanups").glob("applied_date=*/*.parquet")
    elsewhere = original.parent.with_name("applied_date=2001-01-01")
    elsewhere.mkdir()
    shutil.copy(original, elsewhere / original.name)
    shutil.copy(original, original.with_name("copy-of-it.parquet"))
    for command in ("rebuild", "load"):
        result = world.swr(command)
        assert result.exit_code == 0, result.output
        (rows,) = query(world.db, "SELECT count(*) FROM cleanup_deletions")[0]
        assert rows == len(plan["tags"])


def apply_process(
    world: World, path: Path, failpoint: str | None = None
) -> subprocess.Popen[bytes]:
    """`swr-etl cleanup apply --yes` as a process of its own (signals reach it alone)."""
    env = {**os.environ, **({ENV: failpoint} if failpoint else {})}
    command = ["cleanup", "apply", "-c", str(world.config), str(path), "--yes"]
    return subprocess.Popen(
        [sys.executable, "-m", "etl", *command, "--max-deletions", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def stopped_in_one_line(process: subprocess.Popen[bytes], code: int) -> str:
    """Wait for a signalled apply: its exit code, its last line (returned), no traceback."""
    _, err = process.communicate(timeout=120)
    stderr = err.decode()
    assert process.returncode == code, stderr
    assert "Traceback" not in stderr and "Unclosed" not in stderr
    last = stderr.splitlines()[-1]
    name = signal.Signals(code - 128).name
    assert re.fullmatch(
        rf"error: interrupted by {name}: \d+ attempted delete\(s\) recorded in .+", last
    )
    assert sum(line.startswith("error:") for line in stderr.splitlines()) == 1
    return last


@pytest.mark.slow
@pytest.mark.parametrize(
    ("point", "says"),
    [
        pytest.param(
            "cleanup-answered",
            "interrupted by SIGTERM: SWR answered its DELETE; no list read confirmed it yet",
            id="answered-not-confirmed-recorded-as-such",
        ),
        pytest.param("cleanup-recording", None, id="while-recording-all-recorded"),
    ],
)
def test_sigterm_at_any_step_of_an_apply_leaves_its_record_and_one_line(
    world: World, point: str, says: str | None
) -> None:
    path, plan = world.plan("365d")
    stopped_in_one_line(apply_process(world, path, f"{point}:TERM"), 143)
    audit = world.audit("(result, detail)")
    if says is None:
        assert len(audit) == len(plan["tags"])
        assert {r for r, _ in audit.values()} == {"deleted", "gone"}
    else:
        assert [r for r, d in audit.values() if d == says] == ["failed"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("signals", "code"),
    [
        pytest.param([signal.SIGTERM, signal.SIGTERM], 143, id="two-sigterms-one-line-143"),
        pytest.param([signal.SIGINT], 130, id="ctrl-c-one-line-130"),
    ],
)
def test_a_signal_during_a_hung_delete_records_it_in_flight(
    write_config: WriteConfig,
    tmp_path: Path,
    synced: Synced,
    signals: list[signal.Signals],
    code: int,
) -> None:
    arrived = threading.Event()

    @web.middleware
    async def hang(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.method != "DELETE":
            return await handler(request)
        arrived.set()
        await asyncio.sleep(60)
        return web.Response(status=204)

    with serving(copy.deepcopy(synced.registry), hang) as fake:
        world = world_of(write_config, synced, tmp_path, fake)
        path, plan = world.plan("365d")
        process = apply_process(world, path)
        assert arrived.wait(60)
        for signum in signals:
            process.send_signal(signum)
            time.sleep(0.05)
        stopped_in_one_line(process, code)
    audit = world.audit("(result, detail)")
    name = signal.Signals(signals[0]).name
    (detail,) = (d for r, d in audit.values() if r == "failed")
    assert detail == f"interrupted by {name}: its DELETE was in flight: it may be deleted"
