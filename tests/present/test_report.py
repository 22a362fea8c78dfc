"""`swr-etl report` and `swr-etl diff` as people and scripts read them (`etl.present.report`)."""

from __future__ import annotations

import json

import pytest

from etl.present.defaults import STALE_DAYS
from etl.present.formats import Section, human_bytes
from etl.present.report import RunRef, diff_plan_lines, summarise_report
from etl.store import warehouse
from tests.present.two_days import BROKEN, CHANGED, GONE, TwoDays

# The report's sections, in order, with their columns: the stable shape JSON and CSV carry.
REPORT_SECTIONS = {
    "totals": ["runs", "repositories", "tags", "total_size", "unique_size"],
    "namespaces": [
        "endpoint",
        "namespace",
        "repositories",
        "tags",
        "total_size",
        "unique_size",
        "last_push",
    ],
    "repositories": [
        "endpoint",
        "namespace",
        "repository",
        "tags",
        "total_size",
        "unique_size",
        "last_push",
    ],
    "staleness": ["bucket", "tags", "total_size"],
    "stale": ["tags", "total_size", "reclaimable_size"],
    "unpulled": [
        "namespace",
        "repository",
        "tags",
        "unique_size",
        "num_download",
        "unpulled_days",
        "last_push",
    ],
    "last_run": [
        "run_id",
        "started_at",
        "status",
        "targets",
        "ok",
        "not_found",
        "failed",
        "tags",
        "retries",
    ],
    "failures": [
        "endpoint",
        "namespace",
        "repository",
        "status",
        "http_status",
        "error_code",
        "error_message",
        "request_id",
    ],
}


def report_json(two_days: TwoDays, *args: str) -> dict[str, list[dict[str, object]]]:
    result = two_days.cli("report", "--format", "json", *args)
    assert result.exit_code == 0, result.output
    parsed: dict[str, list[dict[str, object]]] = json.loads(result.output)
    return parsed


def unique_sizes(two_days: TwoDays) -> dict[tuple[str, str], int]:
    """Each repository's bytes, each image once, as the registry holds them after day two
    (the broken repository as on day one)."""
    return {
        key: sum({t.digest: t.size for t in two_days.current(key)}.values())
        for key in two_days.day2.repositories
    }


def test_the_report_has_its_sections_in_order_each_with_its_columns(two_days: TwoDays) -> None:
    with warehouse.connect(two_days.db, read_only=True) as con:
        sections = summarise_report(con)
    assert {s.name: s.columns for s in sections} == REPORT_SECTIONS
    assert list(REPORT_SECTIONS) == [s.name for s in sections]
    assert list(report_json(two_days)) == list(REPORT_SECTIONS)


def test_the_report_says_what_the_registry_holds_and_what_failed(two_days: TwoDays) -> None:
    report = report_json(two_days)
    tags = two_days.current()
    assert report["totals"] == [
        {
            "runs": 2,
            "repositories": 3,  # the gone one is not
            "tags": len(tags),
            "total_size": sum(t.size for t in tags),
            "unique_size": sum({t.digest: t.size for t in tags}.values()),
        }
    ]
    last = report["last_run"][0]
    assert (last["run_id"], last["status"]) == (two_days.outcomes[1].run_id, "partial")
    assert (last["targets"], last["ok"], last["not_found"], last["failed"]) == (4, 2, 1, 1)
    [failed] = report["failures"]  # the gone repository synced: SWR said it is gone
    assert (failed["namespace"], failed["repository"], failed["status"]) == (*BROKEN, "failed")
    assert (failed["http_status"], failed["error_code"]) == (500, "SVCSTG.SWR.5000001")
    assert failed["request_id"]


def test_the_top_repositories_are_the_biggest_each_image_once(two_days: TwoDays) -> None:
    biggest = sorted(unique_sizes(two_days).items(), key=lambda kv: -kv[1])
    report = report_json(two_days, "--top", "3")
    shown = [((r["namespace"], r["repository"]), r["unique_size"]) for r in report["repositories"]]
    assert shown == biggest[:3]
    assert len(report["namespaces"]) == 1  # one namespace: platform
    assert GONE not in [key for key, _ in shown]


@pytest.mark.parametrize(
    ("days", "stale"),
    [
        pytest.param("0", "every", id="stale-after-0-days-is-every-tag"),
        pytest.param("36500", "none", id="stale-after-a-century-is-none"),
    ],
)
def test_stale_days_choose_what_the_report_calls_stale(
    two_days: TwoDays, days: str, stale: str
) -> None:
    [row] = report_json(two_days, "--stale-days", days)["stale"]
    assert row["tags"] == (len(two_days.current()) if stale == "every" else 0)
    assert 0 <= int(str(row["reclaimable_size"])) <= int(str(row["total_size"]))


def test_the_report_as_a_table_titles_its_sections_in_order(two_days: TwoDays) -> None:
    result = two_days.cli("report", "--top", "2")
    assert result.exit_code == 0, result.output
    titles = [
        "Totals",
        "Top 2 namespaces by unique size",
        "Top 2 repositories by unique size",
        "Tags by time since last push",
        f"Not pushed for {STALE_DAYS} days",
        "Never pulled, never pushed: 30 days of observation",
        "Last run",
        "Targets of the last run that did not sync",
    ]
    lines = result.output.splitlines()
    assert [line for line in lines if line in titles] == titles


def test_the_diff_prints_each_change_like_a_plan(two_days: TwoDays) -> None:
    result = two_days.cli("diff")
    assert result.exit_code == 0, result.output
    gone, where = (f"local:{ns}/{name}" for ns, name in (GONE, CHANGED))
    gone_tags = sorted(two_days.day1.tags(*GONE), key=lambda t: t.tag)
    before, after = two_days.moved
    added, deleted = two_days.pushed, two_days.deleted
    changes = sorted(
        [
            (added.tag, f"+ {where}:{added.tag}  {added.digest} ({human_bytes(added.size)})"),
            (
                deleted.tag,
                f"- {where}:{deleted.tag}  {deleted.digest} ({human_bytes(deleted.size)})",
            ),
            (before.tag, f"~ {where}:{before.tag}  {before.digest} -> {after.digest}"),
        ]
    )
    first, second = (o.run_id for o in two_days.outcomes)
    assert result.output.splitlines() == [
        f"from {first} to {second}",
        f"- repository {gone}",
        f"  {gone}: {len(gone_tags)} removed",
        f"  {where}: 1 added, 1 removed, 1 retagged",
        "",
        *(f"- {gone}:{t.tag}  {t.digest} ({human_bytes(t.size)})" for t in gone_tags),
        *(line for _, line in changes),
        "",
        f"{len(gone_tags) + 3} change(s) in 2 repositories; "
        "1 repositories added, removed or untracked",
    ]


def test_the_diff_as_json_names_its_runs_and_sections(two_days: TwoDays) -> None:
    result = two_days.cli("diff", "--format", "json")
    assert result.exit_code == 0, result.output
    diff = json.loads(result.output)
    first, second = two_days.outcomes
    assert diff["from"] == {"run_id": first.run_id, "seq": 1}
    assert diff["to"] == {"run_id": second.run_id, "seq": 2}
    assert list(diff) == ["from", "to", "repositories", "changes", "repository_changes"]
    assert diff["repository_changes"] == [
        {"endpoint": "local", "namespace": GONE[0], "repository": GONE[1], "change": "removed"}
    ]
    changed = [c for c in diff["changes"] if (c["namespace"], c["repository"]) == CHANGED]
    assert [(c["change"], c["tag"]) for c in changed] == sorted(
        [
            ("added", two_days.pushed.tag),
            ("removed", two_days.deleted.tag),
            ("retagged", two_days.moved[0].tag),
        ],
        key=lambda c: c[1],
    )


@pytest.mark.parametrize(
    ("args", "says"),
    [
        pytest.param(
            ["--to", "nonsense"],
            "error: --to 'nonsense': not a run id, a date (2026-11-27: its last run, UTC) or an "
            "instant (2026-11-27T10:00Z)",
            id="a-reference-that-is-no-run-is-a-usage-error",
        ),
        pytest.param(
            ["--from", "2001-01-01"],
            "error: --from '2001-01-01': no run started at or before it",
            id="a-date-before-every-run-is-a-usage-error",
        ),
        pytest.param(
            ["--to", "FIRST"],
            "error: run FIRST is the first run: there is nothing before it to diff",
            id="the-first-run-has-nothing-before-it",
        ),
    ],
)
def test_a_diff_of_runs_that_are_not_there_is_one_line(
    two_days: TwoDays, args: list[str], says: str
) -> None:
    first = two_days.outcomes[0].run_id
    result = two_days.cli("diff", *(first if a == "FIRST" else a for a in args))
    assert result.exit_code == 2
    assert result.output == says.replace("FIRST", first) + "\n"


@pytest.mark.parametrize(
    ("change", "line"),
    [
        pytest.param("added", "+ e:n/r:t  sha256:new (2.0 KiB)", id="added-shows-the-new-image"),
        pytest.param("removed", "- e:n/r:t  sha256:old (1.0 KiB)", id="removed-shows-the-old"),
        pytest.param("untracked", "x e:n/r:t  sha256:old (1.0 KiB)", id="untracked-the-old"),
        pytest.param("retagged", "~ e:n/r:t  sha256:old -> sha256:new", id="retagged-both"),
        pytest.param("repushed", "* e:n/r:t  repushed sha256:new", id="repushed-the-digest"),
        pytest.param("modified", "! e:n/r:t  modified sha256:new", id="modified-the-digest"),
    ],
)
def test_every_kind_of_change_has_its_mark(change: str, line: str) -> None:
    kinds = ["added", "removed", "retagged", "repushed", "modified", "untracked"]
    names = ["endpoint", "namespace", "repository"]
    counts = Section(
        [*names, *kinds], [("e", "n", "r", *(int(k == change) for k in kinds))], name="c"
    )
    changed = Section(
        [*names, "tag", "change", "old_digest", "new_digest", "old_size", "new_size"],
        [("e", "n", "r", "t", change, "sha256:old", "sha256:new", 1024, 2048)],
        name="changes",
    )
    repositories = Section([*names, "change"], [], name="repository_changes")
    lines = list(diff_plan_lines(RunRef(1, "a"), RunRef(2, "b"), [counts, changed, repositories]))
    assert lines == [
        "from a to b",
        f"  e:n/r: 1 {change}",
        "",
        line,
        "",
        "1 change(s) in 1 repositories; 0 repositories added, removed or untracked",
    ]
