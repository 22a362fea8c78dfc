"""Tag pages become typed Arrow rows: right or a clear per-target error, never silently wrong."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl import schemas
from etl.errors import ResponseError
from etl.swr import pages

CONTEXT = pages.SnapshotContext("run-1", datetime(2026, 11, 27, tzinfo=UTC), "ep", "ns", "repo")


def tag(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": 1,
        "repo_id": 2,
        "tag": "latest",
        "image_id": "abc",
        "manifest": "",
        "digest": "sha256:00",
        "schema": 2,
        "path": "p",
        "internal_path": "i",
        "size": 10,
        "is_trusted": False,
        "created": "2018-07-06T06:18:55Z",
        "updated": "2018-07-06T06:18:55Z",
        "domain_id": "d",
        "tag_type": 0,
    }
    return {**base, **overrides}


def decoded(tags: list[dict[str, Any]]) -> tuple[pa.RecordBatch, int]:
    """A page of these tags as the client decodes it, made snapshot rows as the crawl does."""
    page = asyncio.run(pages.decode_tag_page(orjson.dumps({"tags": tags})))
    return pages.snapshot_batch(page.columns, CONTEXT), page.bad_times


def one_row(**overrides: Any) -> tuple[dict[str, Any], int]:
    batch, warnings = decoded([tag(**overrides)])
    return batch.to_pylist()[0], warnings


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        pytest.param(
            "2018-07-06T06:18:55Z",
            datetime(2018, 7, 6, 6, 18, 55, tzinfo=UTC),
            id="no-fraction",
        ),
        pytest.param(
            "2018-07-06T06:18:55.123Z",
            datetime(2018, 7, 6, 6, 18, 55, 123000, tzinfo=UTC),
            id="3-digits",
        ),
        pytest.param(
            "2018-07-06T06:18:55.12345Z",
            datetime(2018, 7, 6, 6, 18, 55, 123450, tzinfo=UTC),
            id="5-digits",
        ),
        pytest.param(
            "2018-07-06T06:18:55.123456Z",
            datetime(2018, 7, 6, 6, 18, 55, 123456, tzinfo=UTC),
            id="6-digits",
        ),
        pytest.param(
            "2018-07-06T06:18:55.123456789Z",
            datetime(2018, 7, 6, 6, 18, 55, 123456, tzinfo=UTC),
            id="9-digits-truncated",
        ),
        pytest.param(
            "2018-07-06T06:18:55",
            datetime(2018, 7, 6, 6, 18, 55, tzinfo=UTC),
            id="no-zone-is-utc",
        ),
        pytest.param(
            "2018-07-06T14:18:55+08:00",
            datetime(2018, 7, 6, 6, 18, 55, tzinfo=UTC),
            id="offset",
        ),
    ],
)
def test_timestamps_of_every_documented_form_parse_to_utc(value: str, expected: datetime) -> None:
    row, warnings = one_row(created=value)
    assert row["created"] == expected and warnings == 0


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2018-13-45T99:00:00Z", 12345, ""],
    ids=["word", "impossible", "number", "empty"],
)
def test_unparseable_timestamps_become_null_and_count_as_warnings(value: Any) -> None:
    row, warnings = one_row(updated=value)
    assert row["updated"] is None and warnings == 1
    assert row["tag"] == "latest"  # the row itself is kept


def test_the_int64_maximum_size_is_kept_exactly() -> None:
    row, _ = one_row(size=9_223_372_036_854_775_807)
    assert row["size"] == 9_223_372_036_854_775_807


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        pytest.param({"size": "123"}, "field 'size' is str", id="size-as-string-fails-target"),
        pytest.param({"id": 1.5}, "field 'id' is float", id="id-as-fractional-float-fails-target"),
        pytest.param(
            {"size": 2.0**60}, "field 'size' is float", id="float-beyond-2-53-fails-target"
        ),
        pytest.param({"size": 2**63}, "out of range", id="size-beyond-int64-fails-target"),
        pytest.param({"schema": 70000}, "out of range", id="schema-beyond-smallint-fails-target"),
        pytest.param(
            {"is_trusted": "no"}, "field 'is_trusted' is str", id="bool-as-string-fails-target"
        ),
        pytest.param({"tag": None}, "no 'tag' name", id="tag-name-null-fails-target"),
        pytest.param({"digest": 42}, "field 'digest' is int", id="digest-as-number-fails-target"),
    ],
)
def test_wrong_types_are_a_clear_error_naming_field_and_tag(
    overrides: dict[str, Any], message: str
) -> None:
    with pytest.raises(ResponseError, match=message):
        decoded([tag(tag="v1"), tag(**overrides)])


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        pytest.param({"size": None}, "size", None, id="null-size-kept-as-null"),
        pytest.param({"tag": "ü" * 10_000}, "tag", "ü" * 10_000, id="10000-character-unicode-tag"),
        pytest.param({"extra_field": 1}, "tag", "latest", id="extra-fields-ignored"),
    ],
)
def test_tolerated_oddities_are_stored_faithfully(
    overrides: dict[str, Any], field: str, expected: Any
) -> None:
    row, _ = one_row(**overrides)
    assert row[field] == expected


def test_a_missing_field_is_null() -> None:
    page = tag()
    del page["image_id"]
    batch, _ = decoded([page])
    assert batch.to_pylist()[0]["image_id"] is None


def test_an_empty_page_is_an_empty_batch() -> None:
    batch, warnings = decoded([])
    assert batch.num_rows == 0 and batch.schema == schemas.SNAPSHOT_SCHEMA and warnings == 0


# --- the two readers of a page body agree ----------------------------------------------------

ODD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**64 - 1),  # what JSON encoders write
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.just("2018-07-06T06:18:55.5+08:00"),
    st.lists(st.integers(min_value=0, max_value=9), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(min_value=0, max_value=9), max_size=2),
)
TAG_VALUES = {
    "tag": st.text(min_size=1, max_size=12),
    "id": st.integers(min_value=0, max_value=2**63 - 1),
    "size": st.integers(min_value=0, max_value=2**63 - 1),
    "schema": st.sampled_from([1, 2]),
    "is_trusted": st.booleans(),
    "created": st.sampled_from(["2018-07-06T06:18:55Z", "2018-07-06T06:18:55.123456789Z", "x"]),
    "digest": st.text(max_size=10),
}


@st.composite
def tag_objects(draw: st.DrawFn) -> dict[str, Any]:
    base = tag(tag=draw(TAG_VALUES["tag"]))
    for name in draw(st.sets(st.sampled_from(sorted(base)), max_size=3)):
        values = TAG_VALUES.get(name, ODD_VALUES)
        base[name] = draw(st.one_of(values, ODD_VALUES) if draw(st.booleans()) else values)
    for name in draw(st.sets(st.sampled_from(sorted(base)), max_size=2)):
        del base[name]
    if draw(st.booleans()):
        base["extra"] = draw(ODD_VALUES)
    return base


def snapshot_of(columns: pa.RecordBatch, bad_times: int) -> tuple[pa.RecordBatch, int]:
    return pages.snapshot_batch(columns, CONTEXT), bad_times


def outcome(convert: Callable[[], tuple[Any, int]]) -> tuple[Any, ...]:
    """Return a conversion's batch and warnings, or the error it raised."""
    try:
        return convert()
    except ResponseError as exc:
        return ("error", str(exc))


@given(tags=st.lists(tag_objects(), max_size=6), marker=st.one_of(st.none(), st.text(max_size=5)))
@settings(max_examples=300, deadline=None)
def test_arrow_reads_a_page_exactly_as_the_json_path_or_leaves_it_to_it(
    tags: list[dict[str, Any]], marker: str | None
) -> None:
    body = orjson.dumps({"tags": tags, "nextMarker": marker}, option=orjson.OPT_INDENT_2)
    read = pages.read_page(body)
    if read is None:
        return  # the client parses the JSON and converts field by field

    def strict() -> tuple[pa.RecordBatch, int]:
        page = pages.json_page(orjson.loads(body))
        return snapshot_of(page.columns, page.bad_times)

    expected = outcome(strict)
    assert outcome(lambda: snapshot_of(*pages.typed_columns(read.columns))) == expected
    assert read.markers == ({} if marker is None else {"nextMarker": marker})


def test_the_usual_page_is_read_by_arrow() -> None:
    body = orjson.dumps({"tags": [tag(tag=f"v{i}") for i in range(3)], "has_more": False})
    read = pages.read_page(body)
    assert read is not None and read.columns.num_rows == 3 and read.markers == {"has_more": False}


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"null", id="not-an-object"),
        pytest.param(b"[]", id="an-array"),
        pytest.param(b'{"tags": null}', id="tags-null"),
        pytest.param(b'{"items": []}', id="tags-missing"),
        pytest.param(b'{"tags": [null]}', id="a-tag-that-is-not-an-object"),
        pytest.param(b'{"tags": [{"tag": "a", "id": 1.0}]}', id="a-whole-float-for-an-integer"),
        pytest.param(b'{"tags": [{"tag": "a\xff"}]}', id="invalid-utf-8"),
        pytest.param(b'{"tags": [], "tags": []}', id="a-key-twice"),
        pytest.param(b'{"tags": []} {"tags": []}', id="two-documents"),
        pytest.param(b'{"tags": [], "nextMarker": 5}', id="a-numeric-marker"),
        pytest.param(b'{"tags": [], "nextMarker": null, "next_marker": "m"}', id="null-marker"),
    ],
)
def test_arrow_leaves_every_unusual_page_to_the_json_path(body: bytes) -> None:
    assert pages.read_page(body) is None


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"tags": [{"tag": "a", "size": 1.5}]}', id="float-size"),
        pytest.param(b'{"tags": [{"tag": "a", "id": 2e3}]}', id="exponent-id"),
        pytest.param(b'{"tags": [{"tag": "a", "schema" :\n 2.0}]}', id="spaced-whole-float"),
        pytest.param(b'{"tags": [{"tag": "a", "\\u0073ize": 7.9}]}', id="escaped-key"),
    ],
)
def test_a_float_in_an_integer_field_fails_the_page_however_it_is_written(body: bytes) -> None:
    with pytest.raises(ResponseError, match="is float"):
        asyncio.run(pages.decode_tag_page(body))


def test_a_float_inside_a_manifest_string_is_no_integer_field() -> None:
    manifest = orjson.dumps({"size": 1.5, "id": 2.5}).decode()
    page = asyncio.run(pages.decode_tag_page(orjson.dumps({"tags": [tag(manifest=manifest)]})))
    assert page.columns.column("manifest")[0].as_py() == manifest
