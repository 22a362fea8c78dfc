"""The BI tools' path: Superset and anything else on SQLAlchemy reach DuckDB through
duckdb-engine. Every public view reflects and queries through it on `output.readonly_copy`
(the file dashboards are told to open); HUGEINT sums come through as exact integers."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from etl.config_file import load_config
from etl.fakeswr import FakeSwr, Registry
from etl.job import run_sync
from tests.configs import WriteConfig, editing
from tests.stored import reading


@pytest.fixture
def copy(
    write_config: WriteConfig, tmp_path: Path, served: FakeSwr, small_registry: Registry
) -> Path:
    """The read-only copy after one sync of a registry holding an int64-maximum image."""
    path = write_config(tmp_path, served, list(small_registry.repositories))
    with editing(path) as data:
        data["output"]["readonly_copy"] = "./dashboard/swr.duckdb"
    assert run_sync(load_config(path)).exit_code == 0
    return tmp_path / "dashboard" / "swr.duckdb"


def public_views(db: Path) -> dict[str, list[str]]:
    """Every view of the database and its columns, as DuckDB itself lists them."""
    with reading(db) as con:
        names = [
            r[0]
            for r in con.execute(
                "SELECT view_name FROM duckdb_views() WHERE NOT internal ORDER BY 1"
            ).fetchall()
        ]
        return {n: [d[0] for d in con.execute(f"DESCRIBE {n}").fetchall()] for n in names}


# duckdb-engine maps no SQLAlchemy type to DuckDB's lists (digest_reuse.tag_refs): the column
# reflects untyped, with this warning, and its values still arrive (see docs/dashboard.md).
@pytest.mark.filterwarnings(
    "ignore:Did not recognize type 'list' of column:sqlalchemy.exc.SAWarning"
)
def test_every_public_view_reflects_and_queries_through_sqlalchemy(copy: Path) -> None:
    views = public_views(copy)
    with reading(copy) as con:
        expected = con.execute("SELECT total_size FROM warehouse_totals").fetchall()[0][0]
    assert {"repo_summary", "tag_changes", "warehouse_totals", "repo_pulls"} <= set(views)
    engine = sa.create_engine(f"duckdb:///{copy}", connect_args={"read_only": True})
    inspector = sa.inspect(engine)
    assert set(views) <= set(inspector.get_view_names())
    with engine.connect() as connection:
        for name, columns in views.items():
            reflected = inspector.get_columns(name)
            assert [c["name"] for c in reflected] == columns, name
            # Built from the reflected columns: full autoload also asks for the table comment,
            # which duckdb-engine cannot read (pg_catalog's REGCLASS; see docs/dashboard.md).
            table = sa.Table(name, sa.MetaData(), *(sa.Column(c["name"]) for c in reflected))
            connection.execute(sa.select(table).limit(3)).fetchall()
        total = connection.execute(sa.text("SELECT total_size FROM warehouse_totals")).scalar()
        refs = connection.execute(sa.text("SELECT tag_refs FROM digest_reuse LIMIT 1")).scalar()
    engine.dispose()
    assert isinstance(total, int) and total == expected and total > 2**63  # exact, no float
    assert isinstance(refs, list) and refs
