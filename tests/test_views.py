"""Every dashboard view against figures computed in plain Python from the generator's data.

A seeded registry is synced, mutated by a "next day", and synced again. The expected numbers
below never go through the views: they are computed from `Registry` objects directly.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest

from etl.config_file import load_config
from etl.fakeswr import Registry, ServerThread, generate_registry, next_day
from etl.fakeswr.registry import Repository, Tag
from etl.job import run_sync
from etl.store import queries
from tests import configs
from tests.commands import invoke
from tests.configs import WriteConfig, editing
from tests.registries import parse_time
from tests.stored import reading

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

Key = tuple[str, str]  # namespace, repository


@dataclass
class Synced:
    """Two syncs of a registry a day apart, and everything needed to check the views."""

    config: Path
    db: Path
    day0: Registry
    day1: Registry
    as_of: datetime
    runs: list[str]

    def query(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        with reading(self.db, utc=True) as con:
            return con.execute(sql, params).fetchall()


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    # Pushed up to yesterday, so every age bucket down to "<7d" is filled.
    day0 = generate_registry(repos=40, seed=21, now=datetime.now(UTC) - timedelta(days=1))
    day1 = next_day(day0, churn=0.05, seed=1)
    assert set(day0.repositories) - set(day1.repositories)  # a repository is deleted
    assert set(day1.repositories) - set(day0.repositories)  # and one created
    directory = tmp_path_factory.mktemp("views")
    with ServerThread(day0) as server, pytest.MonkeyPatch.context() as env:
        config = configs.write_config(
            directory, server, list(day0.repositories), env=env, with_manifest=True
        )
        # Every repository, found by discovery: day 1 deletes some and creates others.
        with editing(config) as data:
            data["endpoints"][0]["targets"] = [{"namespace": "*", "repositories": ["*"]}]
        first = run_sync(load_config(config))
        server.serve(day1)
        second = run_sync(load_config(config))
    setup = Synced(
        config, directory / "swr.duckdb", day0, day1, datetime.min, [first.run_id, second.run_id]
    )
    setup.as_of = setup.query("SELECT started_at FROM runs WHERE run_id = $r", r=second.run_id)[0][
        0
    ]
    yield setup


def current(registry: Registry) -> Iterator[tuple[str, str, Tag]]:
    for (namespace, repository), repo in registry.repositories.items():
        for tag in repo.tags:
            yield namespace, repository, tag


def days(start: str, as_of: datetime) -> float:
    delta = as_of - parse_time(start)
    return (
        delta.days * 86_400_000_000 + delta.seconds * 1_000_000 + delta.microseconds
    ) / 86_400_000_000


def unique_size(tags: list[Tag]) -> int:
    return sum({t.digest: t.size for t in tags}.values())


def bucket(value: float) -> str:
    for limit, name in (
        (7, "<7d"),
        (30, "<30d"),
        (90, "<90d"),
        (180, "<180d"),
        (365, "<1y"),
        (730, "<2y"),
    ):
        if value < limit:
            return name
    return ">=2y"


def by_repository(registry: Registry) -> dict[Key, list[Tag]]:
    return {key: list(repo.tags) for key, repo in registry.repositories.items() if repo.tags}


def test_repo_summary(synced: Synced) -> None:
    expected = []
    # Every repository, an empty one too: one meaning of "repositories" on every surface.
    for (ns, repo), found in synced.day1.repositories.items():
        tags = list(found.tags)
        expected.append(
            (
                "local",
                ns,
                repo,
                len(tags),
                sum(t.size for t in tags),
                unique_size(tags),
                len({t.digest for t in tags}),
                sum(t.tag_type == 1 for t in tags),
                min((parse_time(t.created) for t in tags), default=None),
                max((parse_time(t.created) for t in tags), default=None),
                max((parse_time(t.updated) for t in tags), default=None),
            )
        )
    rows = synced.query(
        "SELECT endpoint, namespace, repository, tags, total_size, unique_size, digests, manifest_lists, "
        "oldest_created, newest_created, last_push FROM repo_summary"
    )
    assert sorted(rows) == sorted(expected)
    medians = dict(
        ((r[0], r[1]), r[2])
        for r in synced.query("SELECT namespace, repository, median_age_days FROM repo_summary")
    )
    for key, tags in by_repository(synced.day1).items():
        assert medians[key] == pytest.approx(
            statistics.median(days(t.created, synced.as_of) for t in tags)
        )


def test_sums_do_not_overflow_int64(synced: Synced) -> None:
    total = sum(t.size for _, _, t in current(synced.day1))
    assert total > 2**63  # the generator put an int64-maximum image in the registry
    assert synced.query("SELECT total_size FROM warehouse_totals")[0][0] == total


def test_namespace_summary(synced: Synced) -> None:
    groups: dict[tuple[str, str | None], list[tuple[str, Tag]]] = defaultdict(list)
    repositories: dict[tuple[str, str | None], set[str]] = defaultdict(set)
    for ns, repo in synced.day1.repositories:  # an empty repository counts
        repositories[("namespace", ns)].add(repo)
        repositories[("endpoint", None)].add(f"{ns}/{repo}")
    for ns, repo, tag in current(synced.day1):
        groups[("namespace", ns)].append((repo, tag))
        groups[("endpoint", None)].append((repo, tag))
    expected = sorted(
        (
            level,
            "local",
            ns,
            len(names),
            len(groups[(level, ns)]),
            sum(t.size for _, t in groups[(level, ns)]),
            unique_size([t for _, t in groups[(level, ns)]]),
        )
        for (level, ns), names in repositories.items()
    )
    rows = synced.query(
        "SELECT level, endpoint, namespace, repositories, tags, total_size, unique_size FROM namespace_summary"
    )
    assert sorted(rows, key=repr) == sorted(expected, key=repr)


def test_tag_age_buckets(synced: Synced) -> None:
    expected = {
        (ns, repo, t.tag): (
            bucket(days(t.created, synced.as_of)),
            bucket(days(t.updated, synced.as_of)),
        )
        for ns, repo, t in current(synced.day1)
    }
    rows = synced.query(
        "SELECT namespace, repository, tag, age_bucket, staleness_bucket FROM tag_age"
    )
    assert {(r[0], r[1], r[2]): (r[3], r[4]) for r in rows} == expected
    assert len({b for pair in expected.values() for b in pair}) == 7  # every bucket is exercised


@pytest.mark.parametrize("stale_days", [30, 365, 730])
def test_stale_tags_and_the_bytes_deleting_them_frees(synced: Synced, stale_days: int) -> None:
    stale, kept = set(), set()
    sizes: dict[tuple[str, str, str], int] = {}
    for ns, repo, t in current(synced.day1):
        is_stale = days(t.updated, synced.as_of) >= stale_days
        (stale if is_stale else kept).add((ns, repo, t.tag) if is_stale else (ns, repo, t.digest))
        if is_stale:
            sizes[(ns, repo, t.digest)] = t.size
    freed = sum(size for key, size in sizes.items() if key not in kept)
    rows = synced.query("SELECT namespace, repository, tag, size FROM stale_tags($d)", d=stale_days)
    assert {r[:3] for r in rows} == stale
    assert [r[3] for r in rows] == sorted((r[3] for r in rows), reverse=True)  # largest first
    assert (
        synced.query("SELECT coalesce(sum(reclaimable_size), 0) FROM stale_tags($d)", d=stale_days)[
            0
        ][0]
        == freed
    )


def test_largest_tags(synced: Synced) -> None:
    ordered = sorted(current(synced.day1), key=lambda x: (-x[2].size, x[0], x[1], x[2].tag))
    rows = synced.query("SELECT rank, namespace, repository, tag, size FROM largest_tags LIMIT 20")
    assert rows == [
        (i, ns, repo, t.tag, t.size) for i, (ns, repo, t) in enumerate(ordered[:20], start=1)
    ]


def test_digest_reuse(synced: Synced) -> None:
    refs: dict[str, list[str]] = defaultdict(list)
    for ns, repo, t in current(synced.day1):
        refs[t.digest].append(f"local:{ns}/{repo}:{t.tag}")
    expected = {
        digest: (len(r), len({x.rsplit(":", 1)[0] for x in r}), sorted(r))
        for digest, r in refs.items()
        if len(r) > 1
    }
    rows = synced.query(
        "SELECT digest, tags, repositories, tag_refs, across_repositories FROM digest_reuse"
    )
    assert {r[0]: (r[1], r[2], sorted(r[3])) for r in rows} == expected
    assert any(r[4] for r in rows) and not all(r[4] for r in rows)


def test_size_history(synced: Synced) -> None:
    expected = []
    for run_id, registry in zip(synced.runs, (synced.day0, synced.day1), strict=True):
        for (ns, repo), r in registry.repositories.items():
            expected.append(
                (run_id, ns, repo, len(r.tags), sum(t.size for t in r.tags), unique_size(r.tags))
            )
    rows = synced.query(
        "SELECT run_id, namespace, repository, tags, total_size, unique_size FROM size_history"
    )
    assert sorted(rows) == sorted(expected)


def expected_changes(old: Registry, new: Registry) -> set[tuple[str, str, str, str]]:
    before = {(ns, repo, t.tag): t for ns, repo, t in current(old)}
    after = {(ns, repo, t.tag): t for ns, repo, t in current(new)}
    changes = {(*k, "added") for k in after.keys() - before.keys()}
    changes |= {(*k, "removed") for k in before.keys() - after.keys()}
    for key in before.keys() & after.keys():
        a, b = before[key], after[key]
        if a.digest != b.digest:
            changes.add((*key, "retagged"))
        elif parse_time(b.updated) > parse_time(a.updated):
            changes.add((*key, "repushed"))
        elif a != b:
            changes.add((*key, "modified"))
    return changes


def test_tag_changes_are_exactly_the_generators_mutations(synced: Synced) -> None:
    expected = expected_changes(synced.day0, synced.day1)
    assert {c[3] for c in expected} == {"added", "removed", "retagged", "repushed"}
    rows = synced.query(
        "SELECT namespace, repository, tag, change, from_run, to_run FROM tag_changes"
    )
    assert {r[:4] for r in rows} == expected
    assert {r[4:] for r in rows} == {tuple(synced.runs)}
    moved = synced.query(
        "SELECT old_digest <> new_digest FROM tag_changes WHERE change = 'retagged'"
    )
    assert all(r[0] for r in moved)


def test_tag_diff_equals_tag_changes_for_consecutive_runs(synced: Synced) -> None:
    diff = synced.query("SELECT namespace, repository, tag, change FROM tag_diff(1, 2)")
    assert set(diff) == expected_changes(synced.day0, synced.day1)


@pytest.mark.parametrize(("keep_last", "keep_days"), [(5, 90), (10, None), (None, 365)])
def test_retention_preview(synced: Synced, keep_last: int | None, keep_days: int | None) -> None:
    deleted, freed = set(), 0
    for (ns, repo), tags in by_repository(synced.day1).items():
        ranked = sorted(tags, key=lambda t: (-parse_time(t.updated).timestamp(), t.tag))
        kept_digests, gone = set(), []
        for rank, t in enumerate(ranked, start=1):
            keep = (keep_last is not None and rank <= keep_last) or (
                keep_days is not None and days(t.updated, synced.as_of) < keep_days
            )
            (kept_digests.add(t.digest) if keep else gone.append(t))
        deleted |= {(ns, repo, t.tag) for t in gone}
        freed += sum({t.digest: t.size for t in gone if t.digest not in kept_digests}.values())
    rows = synced.query(
        "SELECT namespace, repository, tag FROM retention_preview($k, $d)", k=keep_last, d=keep_days
    )
    assert set(rows) == deleted and deleted
    total = synced.query(
        "SELECT sum(freed_size) FROM retention_preview($k, $d)", k=keep_last, d=keep_days
    )[0][0]
    assert total == freed


def test_layer_storage(synced: Synced) -> None:
    per_repo: dict[Key, tuple[dict[str, int], dict[str, int]]] = defaultdict(lambda: ({}, {}))
    per_ns: dict[str, tuple[dict[tuple[str, str], int], dict[str, int]]] = defaultdict(
        lambda: ({}, {})
    )
    per_endpoint: tuple[dict[tuple[str, str, str], int], dict[str, int]] = ({}, {})
    for ns, repo, t in current(synced.day1):
        doc = orjson.loads(synced.day1.manifests[t.digest])
        if "layers" not in doc:
            continue  # schema 1 and manifest lists carry no layer sizes
        blobs = {b["digest"]: b["size"] for b in [*doc["layers"], doc["config"]]}
        per_repo[(ns, repo)][0][t.digest] = t.size
        per_repo[(ns, repo)][1].update(blobs)
        per_ns[ns][0][(repo, t.digest)] = t.size
        per_ns[ns][1].update(blobs)
        per_endpoint[0][(ns, repo, t.digest)] = t.size
        per_endpoint[1].update(blobs)
    expected = {
        ("repository", ns, repo): (len(i), sum(i.values()), len(b), sum(b.values()))
        for (ns, repo), (i, b) in per_repo.items()
    }
    expected |= {
        ("namespace", ns, None): (len(i), sum(i.values()), len(b), sum(b.values()))
        for ns, (i, b) in per_ns.items()
    }
    images, blobs = per_endpoint  # layers shared across namespaces count once
    expected[("endpoint", None, None)] = (
        len(images), sum(images.values()), len(blobs), sum(blobs.values())
    )  # fmt: skip
    rows = synced.query(
        "SELECT level, namespace, repository, images, image_size, layers, layer_bytes FROM layer_storage"
    )
    assert {r[:3]: r[3:] for r in rows} == expected
    shared = synced.query("SELECT sum(shared_bytes) FROM layer_storage WHERE level = 'namespace'")[
        0
    ][0]
    assert shared > 0  # layers shared between images are counted once


def test_a_failed_target_shows_no_false_removals_or_size_drop(
    write_config: WriteConfig, tmp_path: Path
) -> None:
    day0 = generate_registry(repos=8, seed=4)
    day1 = next_day(day0, churn=0.2)
    broken = max(day0.repositories, key=lambda k: len(day0.tags(*k)))
    with ServerThread(day0) as server:
        path = write_config(tmp_path, server, list(day0.repositories), max_attempts=1)
        run_sync(load_config(path))
        server.serve(day1)
        server.options.broken_repositories.add(broken)
        assert run_sync(load_config(path)).exit_code == 1
    with reading(tmp_path / "swr.duckdb") as con:
        where = {"ns": broken[0], "repo": broken[1]}
        history = con.execute(
            "SELECT seq, total_size FROM size_history WHERE namespace = $ns AND repository = $repo",
            where,
        ).fetchall()
        changes = con.execute(
            "SELECT count(*) FROM tag_changes WHERE namespace = $ns AND repository = $repo", where
        ).fetchall()
        diffs = con.execute(
            "SELECT count(*) FROM tag_diff(1, 2) WHERE namespace = $ns AND repository = $repo",
            where,
        ).fetchall()
        summary = con.execute(
            "SELECT tags, total_size FROM repo_summary WHERE namespace = $ns AND repository = $repo",
            where,
        ).fetchall()
    tags = day0.tags(*broken)
    assert history == [(1, sum(t.size for t in tags))]  # a gap in run 2, not a drop to zero
    assert changes == diffs == [(0,)]
    assert summary == [(len(tags), sum(t.size for t in tags))]


def test_every_view_and_table_macro_returns_rows(synced: Synced) -> None:
    views = {
        r[0] for r in synced.query("SELECT view_name FROM duckdb_views() WHERE NOT internal")
    }  # the catalog's list: a view added later is checked without touching this test
    assert views == {f.stem for f in (queries.sql_dir() / "views").glob("*.sql")}
    for name in sorted(views - {"cleanup_history"}):  # that one: after a cleanup (test_cleanup)
        assert synced.query(f"SELECT count(*) FROM {name}")[0][0] > 0, name
    for call in ("stale_tags(90)", "retention_preview(10, 90)", "cleanup_candidates(90)",
                 "cleanup_plan(90, NULL, ['latest'])",
                 "tag_diff(1, 2)", "tag_state(1)", "top_storage('namespace', 1)",
                 "top_storage('repository', 1)"):  # fmt: skip
        assert synced.query(f"SELECT count(*) FROM {call}")[0][0] > 0, call


@pytest.mark.parametrize("fmt", ["table", "markdown", "json", "csv"])
def test_report_in_every_format(synced: Synced, fmt: str) -> None:
    result = invoke("report", "-c", str(synced.config), "--format", fmt, "--top", "3")
    assert result.exit_code == 0, result.output
    if fmt == "json":
        body = orjson.loads(result.output)
        assert set(body) == {
            "totals",
            "namespaces",
            "repositories",
            "staleness",
            "stale",
            "unpulled",
            "last_run",
            "failures",
        }
        assert body["totals"][0]["tags"] == synced.day1.tag_count()
        assert body["totals"][0]["total_size"] == sum(t.size for _, _, t in current(synced.day1))
        assert len(body["repositories"]) == 3
    elif fmt == "csv":
        assert result.output.startswith("section,row,field,value\n")
        assert f"totals,1,tags,{synced.day1.tag_count()}\n" in result.output
    else:
        assert "Top 3 repositories" in result.output


def test_diff_reads_like_a_plan(synced: Synced) -> None:
    result = invoke("diff", "-c", str(synced.config))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    marks = {line.split(" ", 1)[0] for line in lines if line[:2] in ("+ ", "- ", "~ ", "* ")}
    assert marks == {"+", "-", "~", "*"}
    expected = expected_changes(synced.day0, synced.day1)
    assert f"{len(expected)} change(s)" in result.output
    moved = next(line for line in lines if line.startswith("~ "))
    assert " -> sha256:" in moved
    gone = set(synced.day0.repositories) - set(synced.day1.repositories)
    new = set(synced.day1.repositories) - set(synced.day0.repositories)
    shown = {line for line in lines if " repository " in line}
    assert shown == {f"- repository local:{ns}/{r}" for ns, r in gone} | {
        f"+ repository local:{ns}/{r}" for ns, r in new
    }


def test_diff_by_date_and_in_json(synced: Synced) -> None:
    day = synced.as_of.date().isoformat()
    result = invoke(
        "diff",
        "-c",
        str(synced.config),
        "--from",
        synced.runs[0],
        "--to",
        day,
        "--format",
        "json",
    )
    assert result.exit_code == 0, result.output
    body = orjson.loads(result.output)
    assert body["from"]["run_id"] == synced.runs[0] and body["to"]["run_id"] == synced.runs[1]
    assert len(body["changes"]) == len(expected_changes(synced.day0, synced.day1))


def test_query_prints_csv_and_refuses_writes(synced: Synced, tmp_path: Path) -> None:
    result = invoke(
        "query",
        "-c",
        str(synced.config),
        "SELECT count(*) AS n FROM tags_current",
        "--format",
        "csv",
    )
    assert result.exit_code == 0 and result.output == f"n\n{synced.day1.tag_count()}\n"
    sql_file = tmp_path / "q.sql"
    sql_file.write_text("SELECT tag FROM largest_tags LIMIT 1")
    assert invoke("query", "-c", str(synced.config), "-f", str(sql_file)).exit_code == 0
    refused = invoke("query", "-c", str(synced.config), "DELETE FROM runs")
    assert refused.exit_code == 2 and "read-only" in refused.output


def stamp(days_ago: float) -> str:
    moment = datetime.now(UTC) - timedelta(days=days_ago)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# (tag, digest, size, pushed days ago: None is a push time the API gave unreadably)
RETENTION_CASES = [
    ("fresh", "sha256:shared", 1000, 1),  # kept: it keeps the shared digest's bytes
    ("old-shared", "sha256:shared", 1000, 800),  # deleted, frees nothing: "fresh" uses it
    ("old-alone", "sha256:alone", 100, 800),  # deleted, frees 100
    ("old-dup-a", "sha256:dup", 50, 800),  # two deleted tags of one digest: 50 freed once
    ("old-dup-b", "sha256:dup", 50, 800),
    ("unknown", "sha256:unknown", 70, None),  # unknown age: never stale, never freed
    ("old-of-unknown", "sha256:unknown", 70, 800),  # deleted, but "unknown" may still use it
    ("no-digest", None, 40, 800),  # deleted; an unknown digest frees nothing it cannot prove
]


@pytest.fixture(scope="module")
def judged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    tags = [
        Tag(
            i,
            1,
            name,
            "img",
            digest,
            2,
            f"p/{name}",
            f"i/{name}",
            size,
            False,
            stamp(900),
            stamp(ago) if ago is not None else "sometime last spring",
            "d",
            0,
        )  # fmt: skip
        for i, (name, digest, size, ago) in enumerate(RETENTION_CASES)
    ]
    registry = Registry(0, 0, {("ns", "repo"): Repository("ns", "repo", 1, tags)}, {}, 100)
    directory = tmp_path_factory.mktemp("retention")
    with ServerThread(registry) as server, pytest.MonkeyPatch.context() as env:
        config = configs.write_config(directory, server, [("ns", "repo")], env=env)
        run_sync(load_config(config))
    yield Synced(config, directory / "swr.duckdb", registry, registry, datetime.min, [])


def test_stale_tags_never_counts_unknown_age_nor_bytes_a_kept_tag_uses(judged: Synced) -> None:
    rows = judged.query("SELECT tag, reclaimable_size FROM stale_tags(365) ORDER BY tag")
    assert rows == [
        ("no-digest", 0),
        ("old-alone", 100),
        ("old-dup-a", 50),
        ("old-dup-b", 0),
        ("old-of-unknown", 0),
        ("old-shared", 0),
    ]


@pytest.mark.parametrize(
    ("keep_last", "keep_days"),
    [
        pytest.param(None, 365, id="days-only"),
        pytest.param(1, None, id="last-only-unknown-age-ranked-last-is-kept"),
        pytest.param(1, 365, id="both"),
    ],
)
def test_retention_preview_keeps_unknown_age_and_agrees_with_stale_tags(
    judged: Synced, keep_last: int | None, keep_days: int | None
) -> None:
    rows = judged.query(
        "SELECT tag, unknown_age, freed_size FROM retention_preview($k, $d) ORDER BY tag",
        k=keep_last,
        d=keep_days,
    )
    assert ("unknown", True, 0) in rows  # reported, kept, nothing promised
    deleted = {tag: freed for tag, unknown, freed in rows if not unknown}
    assert deleted == {
        "no-digest": 0,
        "old-alone": 100,
        "old-dup-a": 50,
        "old-dup-b": 0,
        "old-of-unknown": 0,
        "old-shared": 0,
    }
    stale = dict(judged.query("SELECT tag, reclaimable_size FROM stale_tags(365)"))
    assert deleted == stale  # one rule: the same tags, the same bytes
