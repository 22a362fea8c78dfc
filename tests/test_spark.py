"""An existing distributed engine reads the lake: Spark (local mode, on 127.0.0.1), through
hive partitioning and the join on `runs` the README documents, agrees with DuckDB exactly —
and does not count a run a crash left uncommitted."""

from __future__ import annotations

import os
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pytest
from click.testing import CliRunner

from etl.cli import cli
from etl.fakeswr import FakeSwr, Registry, next_day
from etl.store import commits
from etl.store.storage import local_store
from tests.conftest import readme_sql, write_config
from tests.reliability.conftest import sync_process

pyspark = pytest.importorskip("pyspark")
pytestmark = pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a JVM")

# The README's read for Spark SQL, word for word: the latest committed run of each target.
SPARK_SQL = readme_sql("Spark SQL").split(";\n\n", 1)[1]


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
    tmp_path: Path, served: FakeSwr, small_registry: Registry, spark: Any
) -> None:
    path = write_config(tmp_path, served, list(small_registry.repositories))
    tomorrow = next_day(small_registry)
    for day in (small_registry, tomorrow):
        served.serve(day)
        assert CliRunner().invoke(cli, ["sync", "-c", str(path), "--no-progress"]).exit_code == 0
    # A third run dies between its partitions and its commit record: its tags are in the
    # lake's folders, and no reader that joins on `runs` may count them.
    served.serve(next_day(tomorrow))
    crashed = sync_process(path, failpoint="lake-half-published")
    crashed.communicate(timeout=120)
    assert crashed.returncode == -signal.SIGKILL
    lake = tmp_path / "lake"
    assert len(commits.listed_runs(local_store(lake))) == 2
    assert len(list((lake / "tag_snapshots").glob("*/run_id=*"))) == 3

    for table in ("tag_snapshots", "target_runs", "runs"):
        spark.read.parquet(str(lake / table)).createOrReplaceTempView(table)
    from_spark = sorted((e, n, r, t, int(s)) for e, n, r, t, s in spark.sql(SPARK_SQL).collect())

    with duckdb.connect(str(tmp_path / "swr.duckdb"), read_only=True) as con:
        from_duckdb = con.execute(
            "SELECT endpoint, namespace, repository, tags, total_size FROM repo_summary"
        ).fetchall()
    assert from_spark == sorted((e, n, r, t, int(s)) for e, n, r, t, s in from_duckdb)
    kept = [key for key in small_registry.repositories if key in tomorrow.repositories]
    assert len(from_spark) == len(kept)
