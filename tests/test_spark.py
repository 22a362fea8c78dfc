"""An existing distributed engine reads the lake: Spark (local mode, on 127.0.0.1), through
hive partitioning and the documented query (the last whole listing of each repository, then its
changes, joined on `runs`), agrees with DuckDB exactly — and does not count a run a crash left
uncommitted."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from etl.fakeswr import FakeSwr, Registry, next_day
from etl.store import commits
from etl.store.storage import local_store
from tests.commands import sync, sync_process
from tests.configs import WriteConfig
from tests.stored import docs_sql, reading

pyspark = pytest.importorskip("pyspark")
pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a JVM")

# The documented views for Spark SQL and query of the registry's state, word for word.
SPARK_VIEWS = docs_sql("other-engines.md", "Spark SQL").split(";\n")
STATE_SQL = docs_sql(
    "other-engines.md", "`target_runs`, `tag_snapshots` and `tag_deltas`, and is the same text"
)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession

    os.environ["SPARK_LOCAL_IP"] = "127.0.0.1"
    session = (
        SparkSession.builder.master("local[2]")
        .appName("swr-etl-test")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "2")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_reads_the_committed_lake_as_duckdb_does(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry, spark: Any
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    tomorrow = next_day(small_registry)
    for day in (small_registry, tomorrow):
        served.serve(day)
        assert sync(path).exit_code == 0
    # A third run dies between its partitions and its commit record: its tags are in the
    # lake's folders, and no reader that joins on `runs` may count them.
    served.serve(next_day(tomorrow))
    crashed = sync_process(path, failpoint="lake-half-published")
    crashed.communicate(timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    lake = tmp_path / "lake"
    assert len(commits.listed_runs(local_store(lake))) == 2
    written = {p.name for p in lake.glob("tag_*/*/run_id=*")}  # whole listings and changes
    assert len(written) == 3

    assert list((lake / "tag_deltas").glob("*/run_id=*"))  # the second run stored changes
    for view in SPARK_VIEWS:
        spark.sql(view.replace("s3a://swr-analytics/lake", str(lake)))
    state = spark.sql(
        f"SELECT endpoint, namespace, repository, tag, digest, size FROM ({STATE_SQL})"
    )
    from_spark = sorted(tuple(row) for row in state.collect())

    with reading(tmp_path / "swr.duckdb") as con:
        from_duckdb = con.execute(
            "SELECT endpoint, namespace, repository, tag, digest, size FROM tags_current"
        ).fetchall()
    assert from_spark == sorted(from_duckdb)
    kept = {key for key in small_registry.repositories if key in tomorrow.repositories}
    assert {(n, r) for _, n, r, *_ in from_spark} == kept
