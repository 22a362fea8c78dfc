"""Readers: `query` can only read the database, and a dashboard holding the DuckDB file open
neither loses a sync's run nor stops `report` and `query` (they read the read-only copy), nor
does a sync holding it stop them."""

from __future__ import annotations

import base64
import json
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest

from etl.errors import Interrupted
from etl.fakeswr import FakeSwr, Registry, next_day
from etl.store import commits
from etl.store.storage import local_store
from tests.commands import invoke, paused_sync, stopped
from tests.configs import WriteConfig, editing
from tests.registries import expected_rows
from tests.stored import stored_rows


@pytest.fixture
def synced(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> Path:
    """A config whose outputs hold one run, with a read-only copy for dashboards."""
    path = write_config(tmp_path, served, list(small_registry.repositories)[:6])
    with editing(path) as data:
        data["output"]["readonly_copy"] = "./dashboard/swr.duckdb"
    assert invoke("sync", "-c", str(path), "--no-progress").exit_code == 0
    return path


@pytest.mark.parametrize(
    "sql",
    [
        pytest.param("COPY (SELECT 1 AS x) TO '{runs}'", id="copy-over-a-committed-run-refused"),
        pytest.param("COPY runs TO '{tmp}/out.csv'", id="copy-to-a-new-file-refused"),
        pytest.param("SELECT * FROM read_csv('/etc/passwd')", id="reading-files-refused"),
        pytest.param("SELECT * FROM glob('/etc/*')", id="listing-files-refused"),
        pytest.param("INSTALL httpfs", id="installing-extensions-refused"),
        pytest.param("LOAD httpfs", id="loading-extensions-refused"),
        pytest.param("ATTACH '{tmp}/other.duckdb' AS other", id="attaching-refused"),
        pytest.param("SET enable_external_access = true", id="changing-settings-refused"),
        pytest.param("CREATE TABLE mine AS SELECT 1", id="creating-tables-refused"),
        pytest.param("DELETE FROM runs", id="deleting-rows-refused"),
    ],
)
def test_query_refuses_anything_but_reading(tmp_path: Path, synced: Path, sql: str) -> None:
    (runs_file,) = (tmp_path / "lake" / "runs").glob("*/*/runs.parquet")
    files_before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = invoke("query", "-c", str(synced), sql.format(runs=runs_file, tmp=tmp_path))
    assert result.exit_code == 2, result.output
    assert result.output.startswith("error: refused: query only reads the database (")
    assert result.output.count("\n") == 1
    files_after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert files_after == files_before
    assert invoke("rebuild", "-c", str(synced)).exit_code == 0


@pytest.fixture
def holder() -> Iterator[Callable[[Path], subprocess.Popen[str]]]:
    """Hold a DuckDB file open from another process, as a dashboard or a notebook does."""
    held: list[subprocess.Popen[str]] = []

    def hold(db: Path) -> subprocess.Popen[str]:
        code = (
            "import duckdb, sys, time\n"
            f"con = duckdb.connect({str(db)!r})\n"
            "print('holding', flush=True)\n"
            "time.sleep(120)\n"
        )
        process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
        assert process.stdout is not None and process.stdout.readline() == "holding\n"
        held.append(process)
        return process

    yield hold
    for process in held:
        process.kill()
        process.wait()
        if process.stdout is not None:
            process.stdout.close()


def test_report_and_query_read_the_copy_while_the_database_is_held(
    tmp_path: Path, synced: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    expected = invoke(
        "query", "-c", str(synced), "SELECT count(*) FROM tags_current", "--format", "csv"
    )
    process = holder(tmp_path / "swr.duckdb")
    query = invoke(
        "query", "-c", str(synced), "SELECT count(*) FROM tags_current", "--format", "csv"
    )
    assert query.exit_code == 0, query.output
    assert f"is in use by another process (pid {process.pid}" in query.output
    assert f"reading the read-only copy {tmp_path / 'dashboard' / 'swr.duckdb'}" in query.output
    assert query.output.splitlines()[-1] == expected.output.splitlines()[-1]
    report = invoke("report", "-c", str(synced))
    assert report.exit_code == 0, report.output


def test_without_a_copy_a_held_database_is_one_line(
    tmp_path: Path, synced: Path, holder: Callable[[Path], subprocess.Popen[str]]
) -> None:
    with editing(synced) as data:
        del data["output"]["readonly_copy"]
    holder(tmp_path / "swr.duckdb")
    result = invoke("report", "-c", str(synced))
    assert result.exit_code == 4, result.output
    assert "is in use by another process" in result.output
    assert "set output.readonly_copy" in result.output and result.output.count("\n") == 1


def test_a_sync_finding_the_database_held_crawls_nothing(
    tmp_path: Path,
    synced: Path,
    served: FakeSwr,
    holder: Callable[[Path], subprocess.Popen[str]],
) -> None:
    holder(tmp_path / "swr.duckdb")
    requests = served.state.stats.requests
    result = invoke("sync", "-c", str(synced), "--no-progress")
    assert result.exit_code == 4, result.output
    assert "nothing was crawled" in result.output and result.output.count("\n") == 1
    assert served.state.stats.requests == requests


@pytest.mark.parametrize(
    "failpoint",
    [
        pytest.param("page-staged:STOP", id="while-it-crawls"),
        pytest.param("lake-published:STOP", id="between-the-lake-and-the-load"),
    ],
)
def test_a_reader_during_a_sync_reads_the_copy_and_the_run_loads(
    tmp_path: Path, synced: Path, served: FakeSwr, small_registry: Registry, failpoint: str
) -> None:
    # A sync holds the database from its start to its load (it versions tags while it
    # crawls, in one transaction committed after the lake): a reader that comes meanwhile is
    # told so and reads the copy; the sync goes on undisturbed.
    tomorrow = next_day(small_registry)
    served.serve(tomorrow)
    expected = invoke("query", "-c", str(synced), "SELECT count(*) FROM runs", "--format", "csv")
    paused = paused_sync(synced, failpoint)
    reader = invoke("query", "-c", str(synced), "SELECT count(*) FROM runs", "--format", "csv")
    assert reader.exit_code == 0, reader.output
    assert f"is in use by another process (pid {paused.pid}" in reader.output
    assert "reading the read-only copy" in reader.output
    assert reader.output.splitlines()[-1] == expected.output.splitlines()[-1]
    while paused.poll() is None:  # a failpoint in the crawl stops it at every page
        if stopped(paused.pid):
            paused.send_signal(signal.SIGCONT)
        time.sleep(0.01)
    _, err = paused.communicate(timeout=60)
    assert paused.returncode == 0, err.decode()
    repositories = list(small_registry.repositories)[:6]
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(tomorrow, repositories)
    assert len(commits.listed_runs(local_store(tmp_path / "lake"))) == 2


def test_a_reader_right_after_the_load_leaves_a_loaded_run_loaded(
    tmp_path: Path,
    synced: Path,
    served: FakeSwr,
    small_registry: Registry,
    holder: Callable[[Path], subprocess.Popen[str]],
) -> None:
    with editing(synced) as data:
        data["output"]["dashboard"] = "./site/swr.html"
        data["output"]["metrics"] = "./swr.prom"
    served.serve(next_day(small_registry))
    paused = paused_sync(synced, "warehouse-loaded:STOP")
    held = holder(tmp_path / "swr.duckdb")  # a polling notebook opens the file just then
    paused.send_signal(signal.SIGCONT)
    out, err = paused.communicate(timeout=60)
    held.kill()
    held.wait()
    assert paused.returncode == 0, err.decode()
    assert "the dashboard" in err.decode() and "was not refreshed" in err.decode()
    assert "the next sync or `swr-etl load` refreshes it" in err.decode()
    assert out.decode().startswith("run ") and ": ok - " in out.decode()  # the summary
    assert 'swr_etl_last_run_status{status="ok"} 1.0' in (tmp_path / "swr.prom").read_text()
    assert invoke("sync", "-c", str(synced), "--no-progress").exit_code == 0
    assert (tmp_path / "site" / "swr.html").exists()  # the next sync drew it


def raising(exc: BaseException) -> Callable[..., None]:
    def write(*args: object) -> None:
        raise exc

    return write


PAGE = "etl.present.dashboard.write_dashboard"
COPY = "etl.store.warehouse.publish_copy"


@pytest.mark.parametrize(
    ("writer", "exc", "what"),
    [
        pytest.param(
            PAGE,
            ValueError("Invalid value of type 'str' for 'x'"),
            "the dashboard",
            id="plotly-valueerror-page",
        ),
        pytest.param(
            PAGE, duckdb.CatalogException("no view"), "the dashboard", id="duckdb-error-page"
        ),
        pytest.param(PAGE, MemoryError(), "the dashboard", id="memoryerror-page"),
        pytest.param(
            COPY, duckdb.IOException("cannot copy"), "the read-only copy", id="duckdb-error-copy"
        ),
        pytest.param(COPY, RuntimeError("surprise"), "the read-only copy", id="runtimeerror-copy"),
    ],
)
def test_an_output_that_fails_after_a_commit_is_a_warning_and_the_run_stands(
    tmp_path: Path,
    synced: Path,
    served: FakeSwr,
    small_registry: Registry,
    monkeypatch: pytest.MonkeyPatch,
    writer: str,
    exc: BaseException,
    what: str,
) -> None:
    with editing(synced) as data:
        data["output"]["dashboard"] = "./site/swr.html"
        # A name SWR does not know on its first sync: the run is partial, exit 1, as its targets say.
        data["endpoints"][0]["targets"].append({"namespace": "nobody", "repositories": ["nothing"]})
    tomorrow = next_day(small_registry)
    served.serve(tomorrow)
    monkeypatch.setattr(writer, raising(exc))
    result = invoke("sync", "-c", str(synced), "--no-progress")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output and "error:" not in result.output
    warnings = [line for line in result.stderr.splitlines() if "was not refreshed" in line]
    assert len(warnings) == 1 and what in warnings[0] and type(exc).__name__ in warnings[0]
    assert "the next sync or `swr-etl load` refreshes it" in warnings[0]
    assert result.stdout.startswith("run ") and ": partial - " in result.stdout  # the summary
    (written,) = [line for line in result.stdout.splitlines() if "written to: " in line]
    names = {"the dashboard": "dashboard", "the read-only copy": "read-only copy"}
    for output, name in names.items():  # the one not refreshed is not said to be written
        assert (f"; {name} " in written) == (output != what), written
    repositories = list(small_registry.repositories)[:6]
    assert stored_rows(tmp_path / "swr.duckdb") == expected_rows(
        next_day(small_registry), repositories
    )


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        pytest.param(KeyboardInterrupt(), 130, id="ctrl-c-stops"),
        pytest.param(Interrupted(signal.SIGTERM), 143, id="sigterm-stops"),
    ],
)
def test_an_interrupt_while_the_page_is_written_still_stops_the_sync(
    synced: Path, monkeypatch: pytest.MonkeyPatch, exc: BaseException, code: int
) -> None:
    with editing(synced) as data:
        data["output"]["dashboard"] = "./site/swr.html"
    monkeypatch.setattr(PAGE, raising(exc))
    result = invoke("sync", "-c", str(synced), "--no-progress")
    assert result.exit_code == code, result.output
    assert result.stderr.splitlines()[-1].startswith("error: interrupted by SIG")


def test_a_failed_run_does_not_say_it_wrote_the_page_it_left_as_it_was(
    tmp_path: Path, synced: Path
) -> None:
    with editing(synced) as data:
        data["output"]["dashboard"] = "./site/swr.html"
        data["endpoints"][0]["targets"] = [{"namespace": "nobody", "repositories": ["nothing"]}]
    result = invoke("sync", "-c", str(synced), "--no-progress")
    assert result.exit_code == 3, result.output
    (written,) = [line for line in result.stdout.splitlines() if "written to: " in line]
    assert "; read-only copy " in written and "; dashboard " not in written
    assert not (tmp_path / "site" / "swr.html").exists()


@pytest.mark.parametrize("sql", [";", "/* a comment */", " ;\n; -- a comment"])
def test_query_without_a_statement_is_one_line_exit_2(synced: Path, sql: str) -> None:
    result = invoke("query", "-c", str(synced), sql)
    assert result.exit_code == 2, result.output
    assert result.output == (
        "error: the SQL holds no statement (only comments or ';'): give a query, e.g. "
        "'SELECT * FROM repo_summary'\n"
    )


def test_query_as_json_carries_what_json_has_no_type_for(synced: Path) -> None:
    sql = (
        "SELECT '\\x00\\xFFswr'::BLOB AS blob, 'nan'::DOUBLE AS nan, '-inf'::FLOAT AS minus, "
        "INTERVAL 3 DAY + INTERVAL 90 MINUTE AS span, TIME '12:30:00' AS at, "
        "'0b8c3a0e-4f1a-4c2e-9d5b-0c6a1e2f3a4b'::UUID AS id, MAP([1], ['one']) AS map, "
        "[1, 2]::INTEGER[2] AS pair, {'b': 'z'::BLOB} AS nested"
    )
    result = invoke("query", "-c", str(synced), sql, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "rows": [
            {
                "blob": base64.b64encode(b"\x00\xffswr").decode(),
                "nan": "NaN",
                "minus": "-Infinity",
                "span": "P3DT5400S",
                "at": "12:30:00",
                "id": "0b8c3a0e-4f1a-4c2e-9d5b-0c6a1e2f3a4b",
                "map": {"1": "one"},
                "pair": [1, 2],
                "nested": {"b": "eg=="},
            }
        ]
    }


def test_query_as_json_asks_for_a_name_per_column_and_csv_keeps_both(synced: Path) -> None:
    sql = "SELECT 1 AS a, 2 AS a"
    result = invoke("query", "-c", str(synced), sql, "--format", "json")
    assert result.exit_code == 2, result.output
    assert result.output == (
        "error: --format json needs a name per column, and the answer names 'a' 2 times: give "
        "each column its own name with AS (SELECT 1 AS a, 2 AS b)\n"
    )
    csv = invoke("query", "-c", str(synced), sql, "--format", "csv")
    assert csv.exit_code == 0 and csv.output == "a,a\n1,2\n"
