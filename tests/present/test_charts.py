"""The dashboard's building blocks (`etl.present.charts`): "top N of M", the `other` row's
label, tables with exact values beside human ones, registry text shown as text."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from etl.present.charts import as_text, gib, labels, table, top_of, utc
from etl.store.queries import Answer

TOP_TWO = Answer(
    ["repository", "members", "unique_size"],
    [("e:n/a", 1, 2048), ("e:n/b", 1, 1024), ("other", 5, 10)],
)
ALL_SHOWN = Answer(["repository", "members", "unique_size"], [("e:n/a", 1, 2048)])


@pytest.mark.parametrize(
    ("data", "says", "names"),
    [
        pytest.param(
            TOP_TWO,
            "top 2 of 7 repositories",
            ["e:n/a", "e:n/b", "other (5 repositories)"],
            id="the-rest-in-an-other-row",
        ),
        pytest.param(
            ALL_SHOWN, "top 1 of 1 repositories", ["e:n/a"], id="nothing-left-no-other-row"
        ),
        pytest.param(
            Answer(["repository", "members"], []), "top 0 of 0 repositories", [], id="none"
        ),
    ],
)
def test_a_top_n_says_how_many_of_how_many(data: Answer, says: str, names: list[str]) -> None:
    assert top_of(data, "repositories") == says
    assert labels(data, "repositories") == names


def test_a_table_folds_members_into_the_other_rows_label_and_keeps_exact_bytes() -> None:
    html = table(TOP_TWO, "repositories", "repositories")
    assert '<table data-table="repositories">' in html
    assert ">members</th>" not in html and ">unique_size</th>" in html
    assert '<td data-value="other (5 repositories)">other (5 repositories)</td>' in html
    assert '<td class="num" data-value="2048" title="2048 bytes">2.0 KiB</td>' in html


def test_an_empty_table_says_none() -> None:
    assert '<td colspan="2">(none)</td>' in table(Answer(["a", "b"], []), "empty")


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        pytest.param("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;", id="markup-is-text"),
        pytest.param("a&b", "a&amp;b", id="an-ampersand-is-text"),
        pytest.param("\x1b[31mred", "\\x1b[31mred", id="a-control-character-is-escaped"),
        pytest.param(42, 42, id="a-number-stays-a-number"),
    ],
)
def test_registry_text_reaches_a_chart_as_text(value: object, shown: object) -> None:
    assert as_text(value) == shown


def test_sizes_and_times_read_alike_on_every_chart() -> None:
    assert gib([2**30, None, 0]) == [1.0, None, 0.0]
    assert utc(datetime(2026, 11, 29, 17, 8, 30, tzinfo=UTC)) == "2026-11-29 17:08:30 UTC"
    assert utc(None) == ""
