"""`swr-etl cleanup plan` → `cleanup apply` → the audit, against the local SWR API: a plan is
the rule computed independently from the registry; an apply deletes exactly what is still as
planned, refuses what it must, and records every attempt where the next sync links it."""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
import sys
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
    assert 0 < len(got) < len(world.tags())
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
    ],
)
def test_a_plan_edited_by_hand_into_nonsense_is_one_line(
    world: World, text_of: Any, says: str
) -> None:
    path, plan = world.plan("365d")
    text = text_of(plan)
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = world.apply(path)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith(f"error: {path}: ") and result.stderr.count("\n") == 1
    assert says in result.stderr
    assert world.fake.state.stats.requests == 0


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
    assert result.exit_code == 2 and result.stderr.startswith("error: cannot write the plan")


def test_a_missing_plan_file_is_one_line(world: World) -> None:
    result = world.apply(world.directory / "nowhere.json")
    assert result.exit_code == 2 and "cannot read the plan" in result.stderr


def test_apply_waits_for_no_sync_it_exits_75_while_one_runs(world: World) -> None:
    path, _ = world.plan("365d")
    with output_lock(load_config(world.config, secrets_needed=False)):
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


def test_a_delete_whose_answer_is_lost_is_done_when_its_retry_finds_the_tag_gone(
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
    assert "the DELETE found it gone" in set(world.audit("detail").values())


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
