"""Registry text is data: control sequences in tag names and error messages never reach a
terminal raw, a CSV cell never starts a spreadsheet formula, and a discovered name that breaks
the API page's rules fails that repository alone.

JSON, Parquet and DuckDB keep the exact text for scripts.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from etl.config_file import load_config
from etl.fakeswr import Registry, ServerThread
from etl.fakeswr.registry import Repository
from etl.job import run_sync
from tests.commands import invoke
from tests.configs import Discovering
from tests.reliability.hostile import Script, page, raw, tag, write_hostile_config
from tests.stored import query, reading

# A screen clear, a hidden-text switch, a window title (OSC … BEL), a CSI in its C1 form, and a
# bidi override: each would act on a terminal.
CONTROLS = "\x1b[2J\x1b[8mhidden\x1b]0;pwned\x07\x9b31m\u202eevil"
RAW = ("\x1b", "\x07", "\x9b", "\u202e")
FORMULA = '=HYPERLINK("http://example.invalid","click")'


def printed(*args: str) -> str:
    """What `swr-etl ARGS...` printed, having checked that no traceback was."""
    result = invoke(*args)
    assert "Traceback" not in result.output
    return result.output


def test_control_sequences_from_the_registry_never_reach_the_terminal(
    tmp_path: Path, hostile: Callable[[dict[str, Script]], str]
) -> None:
    failing = json.dumps({"error_code": "SVCSTG.SWR.5000001", "error_msg": f"boom {CONTROLS}"})
    url = hostile(
        {
            "ns/hostile": Script([raw(500, failing.encode())]),
            "ns/normal": Script(
                [page([tag(f"v2{CONTROLS}")])], first=[page([tag(f"v1{CONTROLS}")])]
            ),
        }
    )
    path = str(write_hostile_config(tmp_path, url, max_attempts=1))
    outputs = [
        printed("sync", "-c", path, "--no-progress", "-v"),
        printed("sync", "-c", path, "--no-progress"),
        printed("diff", "-c", path),
        printed("report", "-c", path),
        printed("report", "-c", path, "--format", "markdown"),
        printed("query", "-c", path, "SELECT tag FROM tags_current"),
    ]
    for output in outputs:
        assert not [c for c in RAW if c in output], output
    assert "\\x1b[2J" in outputs[0] and "\\u202e" in outputs[2] and "\\x1b" in outputs[3]
    # Scripts get the exact value.
    exact = printed("query", "-c", path, "SELECT tag FROM tags_current", "--format", "json")
    assert json.loads(exact)["rows"][0]["tag"] == f"v2{CONTROLS}"


def test_a_csv_cell_never_starts_a_spreadsheet_formula(
    tmp_path: Path, hostile: Callable[[dict[str, Script]], str]
) -> None:
    failing = json.dumps({"error_code": "SVCSTG.SWR.5000001", "error_msg": FORMULA})
    url = hostile(
        {
            "ns/hostile": Script([raw(500, failing.encode())]),
            "ns/normal": Script([page([tag(FORMULA), tag("@SUM(1+1)"), tag("-2+3"), tag("+cmd")])]),
        }
    )
    path = str(write_hostile_config(tmp_path, url, max_attempts=1))
    printed("sync", "-c", path, "--no-progress")
    cells = [
        cell
        for output in (
            printed("report", "-c", path, "--format", "csv"),
            printed("query", "-c", path, "SELECT tag, size FROM tags_current", "--format", "csv"),
            printed("query", "-c", path, "SELECT * FROM target_runs", "--format", "csv"),
        )
        for row in csv.reader(io.StringIO(output))
        for cell in row
    ]
    assert f"'{FORMULA}" in cells and "'@SUM(1+1)" in cells and "'-2+3" in cells
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r")]
    assert not [c for c in cells if c.startswith("-") and not c.lstrip("-").isdigit()]
    with reading(tmp_path / "swr.duckdb") as con:
        kept = {t for (t,) in con.execute("SELECT tag FROM tags_current").fetchall()}
    assert FORMULA in kept  # the database keeps the exact value


def test_a_discovered_name_that_breaks_the_api_rules_fails_that_repository_alone(
    discovering: Discovering, tmp_path: Path, small_registry: Registry
) -> None:
    registry = copy.deepcopy(small_registry)
    bad = f"Evil{CONTROLS}"
    registry.repositories[("platform", bad)] = Repository("platform", bad, 999_999)
    with ServerThread(registry) as server:
        path = discovering(tmp_path, server, [{"namespace": "platform", "repositories": ["*"]}])
        outcome = run_sync(load_config(path))
    assert outcome.exit_code == 1
    db = tmp_path / "swr.duckdb"
    failed = query(db, "SELECT repository, error_message FROM target_runs WHERE status = 'failed'")
    assert [name for name, _ in failed] == [bad]
    assert "breaks the API page's rule for repositories" in failed[0][1]
    synced = query(db, "SELECT count(*) FROM target_runs WHERE status = 'ok'")[0][0]
    assert synced == len([k for k in small_registry.repositories if k[0] == "platform"])
