"""One truth: every figure means one thing on every surface.

"Unique size" is each image once within the group a row stands for, wherever it is shown;
`diff` is `tag_changes` for a chosen pair of runs; `run_at` answers in UTC whatever the
reader's time zone.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from etl.config_file import load_config
from etl.fakeswr import Registry, ServerThread, generate_registry, next_day
from etl.job import run_sync
from etl.results import SyncOutcome
from etl.store import queries, warehouse
from tests import configs
from tests.commands import invoke
from tests.configs import Discovering, editing
from tests.stored import query, reading

# A failing repository here is about what it leaves, not how long its retries wait.
pytestmark = pytest.mark.usefixtures("quick_retries")

REGISTRY = generate_registry(repos=60, seed=11)  # 20 images tagged in two repositories or more


def unique_bytes(registry: Registry, group: Any) -> dict[Any, int]:
    """Each image once within each group that `group(namespace, repository)` names."""
    images: dict[Any, dict[str, int]] = {}
    for (ns, name), repo in registry.repositories.items():
        held = images.setdefault(group(ns, name), {})  # an empty repository holds 0 bytes
        for tag in repo.tags:
            held[tag.digest] = tag.size
    return {g: sum(sizes.values()) for g, sizes in images.items()}


@dataclass
class Runs:
    """Syncs of a registry over days: a config change, churn, and the outcomes."""

    config: Path
    db: Path
    outcomes: list[SyncOutcome]
    metrics: Path

    def cli(self, *args: str) -> Any:
        return invoke(args[0], "-c", str(self.config), *args[1:])


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    directory = tmp_path_factory.mktemp("figures")
    day1 = next_day(REGISTRY, churn=0.05, seed=3)
    day2 = next_day(day1, churn=0.05, seed=4)
    with ServerThread(copy.deepcopy(REGISTRY)) as server, pytest.MonkeyPatch.context() as env:
        two = [{"namespace": ns, "repositories": ["*"]} for ns in ("platform", "data-eng")]
        config = configs.discovering(directory, server, two, env=env)
        with editing(config) as data:
            data["output"]["metrics"] = "./swr.prom"
        outcomes = [run_sync(load_config(config))]
        server.serve(day1)
        outcomes.append(run_sync(load_config(config)))
        # A namespace newly added to the config: a baseline, in tag_changes and in diff alike.
        data["endpoints"][0]["targets"].append({"namespace": "ml.models", "repositories": ["*"]})
        config.write_text(yaml.safe_dump(data))
        outcomes.append(run_sync(load_config(config)))
        server.serve(day2)
        outcomes.append(run_sync(load_config(config)))
    yield Runs(config, directory / "swr.duckdb", outcomes, directory / "swr.prom")


def test_unique_size_is_each_image_once_within_its_group_on_every_surface(runs: Runs) -> None:
    day2 = next_day(next_day(REGISTRY, churn=0.05, seed=3), churn=0.05, seed=4)
    endpoint = unique_bytes(day2, lambda ns, name: "local")["local"]
    per_repository = unique_bytes(day2, lambda ns, name: (ns, name))
    per_namespace = unique_bytes(day2, lambda ns, name: ns)
    assert endpoint < sum(per_namespace.values()) < sum(per_repository.values())  # sharing

    db = runs.db
    assert query(db, "SELECT unique_size FROM warehouse_totals") == [(endpoint,)]
    endpoint_row = "SELECT unique_size FROM namespace_summary WHERE level = 'endpoint'"
    assert query(db, endpoint_row) == [(endpoint,)]
    namespaces = "SELECT namespace, unique_size FROM namespace_summary WHERE level = 'namespace'"
    assert dict(query(db, namespaces)) == per_namespace
    repositories = "SELECT namespace, repository, unique_size FROM repo_summary"
    assert {(n, r): u for n, r, u in query(db, repositories)} == per_repository
    assert runs.outcomes[-1].summary.current[0].unique_size == endpoint
    assert f'swr_etl_current_bytes{{endpoint="local",kind="unique"}} {float(endpoint)}' in (
        runs.metrics.read_text()
    )
    with warehouse.connect(db, read_only=True) as con:
        headline = con.execute(queries.sql("storage/headline")).fetchall()[0]
        growth = con.execute(queries.sql("growth/per_run")).fetchall()
    assert headline[3] == endpoint
    assert growth[-1][3] == endpoint  # snapshot_at, run, total_size, unique_size
    report = orjson.loads(runs.cli("report", "--format", "json").output)
    assert report["totals"][0]["unique_size"] == endpoint


def test_diff_of_consecutive_runs_is_exactly_their_tag_changes(runs: Runs) -> None:
    for to_seq in range(2, len(runs.outcomes) + 1):
        fields = "endpoint, namespace, repository, tag, change, old_digest, new_digest"
        diffed = query(
            runs.db, f"SELECT {fields} FROM tag_diff($f, $t) ORDER BY ALL", f=to_seq - 1, t=to_seq
        )
        changed = query(
            runs.db, f"SELECT {fields} FROM tag_changes WHERE to_seq = $t ORDER BY ALL", t=to_seq
        )
        assert diffed == changed, to_seq
    summary = runs.outcomes[2].summary.changes
    assert "added" not in summary  # the namespace newly added to the config is a baseline
    printed = runs.cli("diff", "--to", runs.outcomes[2].run_id)
    assert printed.exit_code == 0, printed.output
    assert not [line for line in printed.output.splitlines() if line.startswith("+ ")]


def test_diff_to_a_run_alone_compares_it_with_the_run_before_it(runs: Runs) -> None:
    result = runs.cli("diff", "--to", runs.outcomes[1].run_id, "--format", "json")
    assert result.exit_code == 0, result.output
    body = orjson.loads(result.output)
    assert body["from"]["run_id"] == runs.outcomes[0].run_id
    assert body["to"]["run_id"] == runs.outcomes[1].run_id
    assert (
        len(body["changes"])
        == query(runs.db, "SELECT count(*) FROM tag_changes WHERE to_seq = 2")[0][0]
    )


def test_diff_over_several_runs_nets_the_changes_between(runs: Runs) -> None:
    key = "endpoint, namespace, repository, tag"
    netted = {
        row[:4]: row[4] for row in query(runs.db, f"SELECT {key}, change FROM tag_diff(1, 4)")
    }
    steps: dict[tuple[Any, ...], list[str]] = {}
    for *tag, change in query(
        runs.db, f"SELECT {key}, change FROM tag_changes WHERE to_seq > 1 ORDER BY to_seq"
    ):
        steps.setdefault(tuple(tag), []).append(change)
    assert netted and set(netted) <= set(steps)
    once = {tag: kinds[0] for tag, kinds in steps.items() if len(kinds) == 1}
    assert {tag: netted[tag] for tag in once if tag in netted} == once
    baseline = {tag for tag in netted if tag[1] == "ml.models"}
    assert baseline == {tag for tag in once if tag[1] == "ml.models"}  # run 4's churn alone


@pytest.mark.parametrize(
    ("reference", "picks"),
    [
        pytest.param(lambda started: started[1].isoformat(), 1, id="an-instant-with-its-zone"),
        pytest.param(
            lambda started: (started[1] - timedelta(microseconds=1)).strftime(
                "%Y-%m-%d %H:%M:%S.%f"
            ),
            0,
            id="an-instant-before-a-run-names-the-run-before-it",
        ),
        pytest.param(lambda started: started[0].date().isoformat(), None, id="a-date-its-last-run"),
    ],
)
def test_diff_takes_a_run_id_a_date_or_an_instant(
    runs: Runs, reference: Any, picks: int | None
) -> None:
    started = [r[0] for r in query(runs.db, "SELECT started_at FROM runs ORDER BY seq")]
    result = runs.cli("diff", "--from", reference(started), "--format", "json")
    assert result.exit_code == 0, result.output
    chosen = orjson.loads(result.output)["from"]["run_id"]
    if picks is None:  # every run of the fixture starts the same UTC day, or the day after
        same_day = [
            o for o, s in zip(runs.outcomes, started, strict=True) if s.date() == started[0].date()
        ]
        assert chosen == same_day[-1].run_id
    else:
        assert chosen == runs.outcomes[picks].run_id


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["--from", "nonsense"], id="not-a-run-a-date-or-an-instant"),
        pytest.param(["--to", "2027-02-30"], id="no-such-date"),
        pytest.param(["--from", "1999-01-01"], id="before-the-first-run"),
    ],
)
def test_a_diff_reference_that_names_no_run_is_a_usage_error(runs: Runs, args: list[str]) -> None:
    result = runs.cli("diff", *args)
    assert result.exit_code == 2, result.output
    assert result.output.count("\n") == 1 and result.output.startswith("error: ")


@pytest.mark.parametrize("zone", ["UTC", "America/Los_Angeles", "Asia/Tokyo"])
def test_run_at_answers_in_utc_whatever_the_session_time_zone(tmp_path: Path, zone: str) -> None:
    db = tmp_path / "swr.duckdb"
    starts = ["2027-02-01 03:00:00+00", "2027-02-01 20:00:00+00", "2027-02-02 05:00:00+00"]
    with warehouse.connect(db) as con:
        for seq, start in enumerate(starts, start=1):
            con.execute(
                "INSERT INTO runs (run_id, seq, started_at, status) VALUES ($r, $s, $t, 'ok')",
                {"r": f"run-{seq}", "s": seq, "t": start},
            )
    with reading(db) as con:  # a notebook, in its own time zone
        con.execute(f"SET TimeZone = '{zone}'")
        asked = {
            ref: con.execute("SELECT run_at($r)", {"r": ref}).fetchall()[0][0]
            for ref in ("2027-02-01", "2027-02-01T19:59:59Z", "2027-02-01 20:00", "run-3")
        }
    assert asked == {"2027-02-01": 2, "2027-02-01T19:59:59Z": 1, "2027-02-01 20:00": 2, "run-3": 3}


def test_the_growth_curve_has_what_each_run_left_current(runs: Runs) -> None:
    totals = query(runs.db, "SELECT seq, sum(tags) FROM run_totals GROUP BY seq ORDER BY seq")
    assert [seq for seq, _ in totals] == [1, 2, 3, 4]
    assert totals[-1][1] == query(runs.db, "SELECT tags FROM warehouse_totals")[0][0]


@pytest.mark.parametrize(
    "args",
    [
        pytest.param(["report", "--top", "-1"], id="report-top-below-one"),
        pytest.param(["report", "--stale-days", "x"], id="report-days-not-a-number"),
        pytest.param(["query", ""], id="query-empty"),
        pytest.param(["query", "  \n "], id="query-blank"),
    ],
)
def test_a_usage_mistake_is_one_line_and_exit_2(runs: Runs, args: list[str]) -> None:
    result = runs.cli(*args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_query_passes_duckdbs_whole_message_through(runs: Runs) -> None:
    result = runs.cli("query", "SELECT * FROM repo_sumary")
    assert result.exit_code == 2, result.output
    assert 'Did you mean "repo_summary"' in result.output
    assert "LINE 1: SELECT * FROM repo_sumary" in result.output and "^" in result.output


def test_repositories_and_did_not_sync_mean_one_thing_on_every_surface(
    discovering: Discovering, tmp_path: Path
) -> None:
    # Twelve repositories, one of them empty; then one is deleted (not_found: it synced, and
    # is gone) and one fails (it did not sync: what was known of it stands).
    registry = generate_registry(repos=12, seed=5)
    empty, gone, failing, *_ = sorted(registry.repositories)
    registry.repositories[empty].tags.clear()
    with ServerThread(copy.deepcopy(registry)) as server:
        config = discovering(tmp_path, server, [{"namespace": "*", "repositories": ["*"]}])
        counted = [run_sync(load_config(config))]
        assert counted[0].run.ok == 12
        later = copy.deepcopy(registry)
        del later.repositories[gone]
        server.serve(later)
        server.options.broken_repositories = {failing}
        counted.append(run_sync(load_config(config)))
    assert [o.run.not_found for o in counted] == [0, 1]
    assert [o.run.failed for o in counted] == [0, 1]
    db = tmp_path / "swr.duckdb"
    assert [o.summary.current[0].repositories for o in counted] == [12, 11]
    report = orjson.loads(invoke("report", "-c", str(config), "--format", "json").output)
    endpoint_row = "SELECT repositories FROM namespace_summary WHERE level = 'endpoint'"
    with warehouse.connect(db, read_only=True) as con:
        headline = con.execute(queries.sql("storage/headline")).fetchall()[0]
        on_page = con.execute(queries.sql("runs/failures_top")).fetchall()
    assert report["totals"][0]["repositories"] == headline[0] == 11
    assert query(db, endpoint_row) == [(11,)]
    assert query(db, "SELECT count(*) FROM repo_summary") == [(11,)]
    assert query(db, "SELECT tags FROM repo_summary WHERE repository = $r", r=empty[1]) == [(0,)]
    failed = f"local:{failing[0]}/{failing[1]}"
    in_report = [f"local:{r['namespace']}/{r['repository']}" for r in report["failures"]]
    in_summary = [f.target for f in counted[-1].summary.failures]
    assert in_report == [row[0] for row in on_page] == in_summary == [failed]
