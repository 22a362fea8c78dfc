"""Paging rules, page by page (etl.swr.paging): markers followed to their end, offsets moved
by the rows served, and every contradiction between a page and its Content-Range an error —
never fewer rows."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from etl.errors import ResponseError
from etl.swr.paging import Answer, MarkerPaginator, OffsetPaginator, range_total


class Rows(list[Any]):
    """A page body: its length is its row count."""


def offset_answer(rows: int, content_range: str | None) -> Answer[Any]:
    return Answer(Rows(range(rows)), "req-1", content_range)


@given(total=st.integers(0, 5000), limit=st.integers(1, 1000))
def test_offset_paging_of_an_honest_list_serves_every_row_once(total: int, limit: int) -> None:
    paginator, served = OffsetPaginator(limit), 0
    while paginator.has_next:
        offset = dict(paginator.query())["offset"]
        rows = max(0, min(limit, total - int(offset)))
        paginator.advance(offset_answer(rows, f"{offset}-{int(offset) + max(rows, 1) - 1}/{total}"))
        served += rows
    assert served == total


@pytest.mark.parametrize(
    ("pages", "says"),
    [
        pytest.param(
            [(1000, "0-999/500")], "more than the total of 500", id="total-below-what-was-served"
        ),
        pytest.param(
            [(10, "0-9/25"), (3, "10-12/25")], "short of its total of 25", id="total-never-reached"
        ),
        pytest.param(
            [(10, "0-9/25"), (10, "10-19/25"), (10, "20-29/25")],
            "more than the total",
            id="a-page-past-the-total",
        ),
    ],
)
def test_a_content_range_that_contradicts_its_pages_is_an_error(
    pages: list[tuple[int, str]], says: str
) -> None:
    paginator = OffsetPaginator(1000 if pages[0][0] == 1000 else 10)
    with pytest.raises(ResponseError) as raised:
        for rows, header in pages:
            paginator.advance(offset_answer(rows, header))
    assert says in str(raised.value) and "Content-Range" in str(raised.value)
    assert raised.value.request_id == "req-1"


def test_a_later_page_of_rows_already_served_with_a_steady_total_means_offset_is_ignored() -> None:
    paginator = OffsetPaginator(10)
    paginator.advance(offset_answer(10, "0-9/25"))
    paginator.check_progress(10, 10, "req-1")  # the first page: all new
    paginator.advance(offset_answer(10, "10-19/25"))
    with pytest.raises(ResponseError, match="ignores `offset`"):
        paginator.check_progress(10, 0, "req-2")


def test_repeated_rows_after_the_total_moved_are_a_shift_not_an_error() -> None:
    paginator = OffsetPaginator(1)
    paginator.advance(offset_answer(1, "0-0/5"))
    paginator.advance(offset_answer(1, "1-1/6"))  # a push moved every row down by one
    paginator.check_progress(1, 0, "req-2")


@pytest.mark.parametrize(
    ("value", "total"),
    [("0-999/2500", 2500), ("0-0/0", 0), (None, None), ("bytes */*", None), ("0-9/abc", None)],
)
def test_range_total_reads_the_total_or_nothing(value: str | None, total: int | None) -> None:
    assert range_total(value) == total


def test_a_marker_loop_is_an_error() -> None:
    paginator = MarkerPaginator()
    paginator.update({"nextMarker": "m1"}, "req-1")
    with pytest.raises(ResponseError, match="repeated"):
        paginator.update({"nextMarker": "m1"}, "req-2")
