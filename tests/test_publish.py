"""After a run is committed (etl.run.publish): an output readers open that cannot be refreshed
is one warning naming it and when it will be, never a failed run, while an interrupt still
stops; and every failure after the commit says where the run is safe."""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from pathlib import Path

import duckdb
import pytest

from etl.errors import Interrupted, StorageError
from etl.run.publish import Committed, checkpoint, refreshing

COPY = Path("/srv/dashboards/swr.duckdb")


def raising(error: BaseException) -> Callable[[], None]:
    def refresh() -> None:
        raise error

    return refresh


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        pytest.param(
            OSError(28, "No space left on device"), "No space left on device", id="disk-full"
        ),
        pytest.param(
            StorageError("cannot write the copy"), "cannot write the copy", id="storage-error"
        ),
        pytest.param(KeyError("plotly"), "KeyError: 'plotly'", id="a-bug-names-its-type"),
    ],
)
def test_an_output_that_cannot_be_refreshed_is_one_warning_naming_it_and_when(
    caplog: pytest.LogCaptureFixture, error: Exception, reason: str
) -> None:
    with caplog.at_level(logging.WARNING, logger="etl.run.publish"):
        refreshing("the read-only copy", COPY, raising(error))  # returns: the run stands
    (record,) = caplog.records
    line = record.getMessage()
    assert line.startswith(f"the read-only copy {COPY} was not refreshed (")
    assert reason in line
    assert line.endswith("the next sync or `swr-etl load` refreshes it")


def test_an_interrupt_while_refreshing_still_stops_the_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(Interrupted) as stopped:
        refreshing("the dashboard", COPY, raising(Interrupted(signal.SIGTERM)))
    assert stopped.value.exit_code == 128 + signal.SIGTERM
    assert not caplog.records


def test_an_output_refreshed_says_nothing(caplog: pytest.LogCaptureFixture) -> None:
    done: list[bool] = []
    refreshing("the dashboard", COPY, lambda: done.append(True))
    assert done == [True] and not caplog.records


def test_a_checkpoint_that_fails_says_the_run_is_loaded_and_committed(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "swr.duckdb"))
    con.close()  # a connection DuckDB can no longer use
    with pytest.raises(StorageError) as failed:
        checkpoint(con, tmp_path / "swr.duckdb", "run-1")
    line = str(failed.value)
    assert line.startswith(f"DuckDB could not checkpoint {tmp_path / 'swr.duckdb'}: ")
    assert line.endswith(
        "run run-1 is loaded (in DuckDB's write-ahead log) and committed to the lake"
    )
    assert "\n" not in line


def test_every_message_after_the_commit_names_the_run_and_where_it_is_safe() -> None:
    where = Committed("run-1", "s3://bucket/lake", Path("/var/lib/swr-etl/swr.duckdb"))
    assert where.in_lake() == "run run-1 is committed to the lake at s3://bucket/lake"
    assert where.loaded() == (
        "run run-1 is committed to the lake and loaded into /var/lib/swr-etl/swr.duckdb"
    )
