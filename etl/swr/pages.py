"""Tag pages → typed Arrow record batches: the one place the API's JSON meets a schema.

Two readers of a page body agree on every page: Arrow's JSON reader (C++, without the GIL, so
it runs beside the event loop) reads the usual page straight into typed columns, and refuses
anything unusual; such a page is then parsed as JSON and converted field by field. A field of
the wrong type fails the page (and so its target) with a message naming the field, the tag and
the value; a timestamp that cannot be parsed becomes NULL and counts as a warning.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from etl.errors import LimitError, ResponseError
from etl.schemas import (
    CONTEXT_FIELDS,
    SNAPSHOT_SCHEMA,
    TAG_FIELDS,
    V2_FIELDS,
)

FAST_SCHEMA = pa.schema(
    [(n, pa.string() if pa.types.is_timestamp(k) else k) for n, k in TAG_FIELDS.items()]
)
FAST_STRUCT = pa.struct([*FAST_SCHEMA, ("manifest", pa.string())])
# A page's tags, typed: every field of the API page, and the manifest text (empty unless asked).
TYPED_SCHEMA = pa.schema([*TAG_FIELDS.items(), ("manifest", pa.string()), *V2_FIELDS.items()])
# What Arrow's JSON reader is told a page holds: anything else it meets is ignored, and a value
# of another JSON type than declared (a float where an integer belongs, say) stops it.
MARKER_FIELDS = {"nextMarker": pa.string(), "next_marker": pa.string(), "has_more": pa.bool_()}
PAGE_SCHEMA = pa.schema([("tags", pa.list_(FAST_STRUCT)), *MARKER_FIELDS.items()])
PAGE_PARSING = pa_json.ParseOptions(
    explicit_schema=PAGE_SCHEMA, unexpected_field_behavior="ignore", newlines_in_values=True
)
INTEGER_FIELDS = [n for n, k in TAG_FIELDS.items() if pa.types.is_integer(k)]
TEXT_FIELDS = [n for n, k in TAG_FIELDS.items() if k == pa.string()]
# No field of a tag comes near this (names are at most 128 characters, paths a few hundred);
# a field that does is an answer gone wrong, and DuckDB would choke on it at load time.
MAX_FIELD_BYTES = 65_536
# OCI registries may refuse manifests over 4 MiB; a larger "manifest" is not one.
MAX_MANIFEST_BYTES = 4 * 2**20
NS_UTC = pa.timestamp("ns", tz="UTC")
UTC_MICROS = pa.timestamp("us", tz="UTC")
ZULU = pa.scalar("Z", type=pa.string())
EMPTY = pa.scalar("", type=pa.string())
# Pages at least this large are read by Arrow in a worker thread. On one thread Arrow is no
# faster than orjson and has a fixed cost (~0.5 ms): smaller pages are parsed as JSON.
ARROW_MIN_BYTES = 131_072
_KIND = {pa.int64(): "an integer", pa.int16(): "an integer", pa.bool_(): "a boolean"}


@dataclass(frozen=True)
class SnapshotContext:
    """The columns every row of one target's snapshot shares."""

    run_id: str
    snapshot_at: datetime
    endpoint: str
    namespace: str
    repository: str


@dataclass(frozen=True)
class ArrowPage:
    """A page body as Arrow's JSON reader read it: the tags as columns (FAST_SCHEMA and the
    manifest; timestamps still text) and the marker fields present."""

    columns: pa.RecordBatch
    markers: dict[str, Any]


def read_page(body: bytes) -> ArrowPage | None:
    """Return the page read by Arrow's JSON reader, or None when Arrow cannot read it exactly
    (not one object, `tags` missing or null or not a list of objects, a value of the wrong JSON
    type, invalid UTF-8...): the caller then parses the JSON and checks it field by field."""
    # Arrow's reader must only see a document that opens as an object: it crashed on `null`.
    if body.lstrip()[:1] != b"{":
        return None
    try:
        table = pa_json.read_json(
            pa.BufferReader(body),
            read_options=pa_json.ReadOptions(use_threads=False, block_size=len(body) + 1),
            parse_options=PAGE_PARSING,
        ).combine_chunks()
        lists = table.column("tags").chunk(0)
        if table.num_rows != 1 or lists.null_count:
            return None
        tags = lists.flatten()
        if tags.null_count:
            return None
        columns = pa.RecordBatch.from_struct_array(tags)
        columns.validate(full=True)  # the reader does not check UTF-8; orjson refuses it
        markers = {n: table.column(n)[0].as_py() for n in MARKER_FIELDS}
    except (pa.ArrowException, ValueError):
        return None
    if markers["nextMarker"] is None and markers["next_marker"] is not None:
        return None  # absent or null? Only the parsed JSON can tell which marker counts
    return ArrowPage(columns, {n: v for n, v in markers.items() if v is not None})


@dataclass(frozen=True)
class TagPage:
    """One page of the tag list, typed: the tags as TYPED_SCHEMA columns (timestamps parsed,
    the manifest text kept), how many timestamps could not be parsed, and the marker fields."""

    columns: pa.RecordBatch
    bad_times: int
    markers: dict[str, Any]

    def __len__(self) -> int:
        return int(self.columns.num_rows)


async def decode_tag_page(body: bytes) -> TagPage:
    """Return a tag-list response body as a typed page, whichever reader reads it.

    A body of ARROW_MIN_BYTES or more is read by Arrow's JSON reader in a worker thread (it
    releases the GIL, so the event loop keeps other requests moving); a smaller one, or one
    Arrow cannot read exactly, is parsed as JSON and checked field by field. Raises
    orjson.JSONDecodeError for a body that is not JSON, ResponseError for a page of the wrong
    shape or a field of the wrong type, LimitError for an oversized field.
    """
    if len(body) >= ARROW_MIN_BYTES:
        page = await asyncio.to_thread(_arrow_page, body)
        if page is not None:
            return page
    return json_page(orjson.loads(body))


def _arrow_page(body: bytes) -> TagPage | None:
    read = read_page(body)
    if read is None:
        return None
    columns, bad = typed_columns(read.columns)
    return TagPage(columns, bad, read.markers)


def json_page(body: Any) -> TagPage:
    """Return a parsed page body as a typed page; raise ResponseError if its shape is wrong."""
    if not isinstance(body, dict):
        raise ResponseError(f"expected a JSON object, got {type(body).__name__}")
    if "tags" not in body:
        raise ResponseError("the page has no 'tags' key")
    # A Go service writes an empty slice as null: that is an empty page, not an error.
    tags = body["tags"] if body["tags"] is not None else []
    if not isinstance(tags, list) or not all(isinstance(t, dict) for t in tags):
        raise ResponseError("'tags' is not a list of objects")
    columns, bad = tag_columns(tags)
    return TagPage(columns, bad, {k: body[k] for k in MARKER_FIELDS if k in body})


def tag_columns(tags: list[dict[str, Any]], v2: bool = False) -> tuple[pa.RecordBatch, int]:
    """Return (typed columns, count of unparseable timestamps) for a page's tag objects; with
    `v2`, also their `deleted` and `scanned` fields (NULL otherwise).

    Raises ResponseError naming the field, the tag and the value when a field has a wrong type:
    a row is stored right or its target fails, never silently wrong.
    """
    fields = fast_fields(tags)
    if fields is not None:
        batch, warnings = typed_columns(fields)
    else:
        columns, warnings = field_arrays(tags, TAG_FIELDS)
        manifests = [t.get("manifest") for t in tags]
        columns.append(typed_column(manifests, "manifest", pa.string(), tags))
        columns += [pa.nulls(len(tags), kind) for kind in V2_FIELDS.values()]
        batch = pa.RecordBatch.from_arrays(columns, schema=TYPED_SCHEMA)
    if v2:
        for name, kind in V2_FIELDS.items():
            values = typed_column([t.get(name) for t in tags], name, kind, tags)
            batch = batch.set_column(batch.schema.get_field_index(name), name, values)
    return batch, warnings


def field_arrays(
    objects: list[dict[str, Any]], fields: dict[str, pa.DataType], label: str = "tag"
) -> tuple[list[pa.Array], int]:
    """Return one typed array per field of a page's JSON objects (tags, or repositories named
    by `label`), and the count of unparseable timestamps; raise ResponseError naming the
    field, the object and the value when a field has a wrong type."""
    columns, warnings = [], 0
    for name, kind in fields.items():
        values = [o.get(name) for o in objects]
        if pa.types.is_timestamp(kind):
            array, bad = timestamps(values, name, objects)
            warnings += bad
        else:
            array = typed_column(values, name, kind, objects, label=label)
        columns.append(array)
    return columns, warnings


async def decode_v2_tag_page(body: bytes, keep_manifest: bool = False) -> TagPage:
    """Return a v2 tag-list body (a bare array; the name under `Tag`; `deleted`, `scanned`)
    as a typed page. The v2 list always carries manifests: without `keep_manifest` they are
    dropped on arrival, so v2 holds no more than v3."""
    tags = list_of_objects(orjson.loads(body), "the v2 tag list")
    for tag in tags:
        if "Tag" in tag:
            tag["tag"] = tag.pop("Tag")
        if not keep_manifest:
            tag.pop("manifest", None)
    columns, bad = tag_columns(tags, v2=True)
    return TagPage(columns, bad, {})


def typed_columns(fields: pa.RecordBatch) -> tuple[pa.RecordBatch, int]:
    """Return (typed columns, count of unparseable timestamps) for tag columns already typed
    but for their timestamps (text), as Arrow read or converted them."""
    columns, warnings = [], 0
    for name, kind in TAG_FIELDS.items():
        column = fields.column(name)
        if pa.types.is_timestamp(kind):
            column, bad = parse_timestamps(column, kind)
            warnings += bad
        columns.append(column)
    columns.append(fields.column("manifest"))
    columns += [pa.nulls(fields.num_rows, kind) for kind in V2_FIELDS.values()]
    return pa.RecordBatch.from_arrays(columns, schema=TYPED_SCHEMA), warnings


def snapshot_batch(columns: pa.RecordBatch, context: SnapshotContext) -> pa.RecordBatch:
    """Return a target's typed page columns as snapshot rows: its context columns first, no
    manifest. Raises ResponseError if a tag has no name, LimitError if a text field is larger
    than any real one (it would poison the warehouse load)."""
    rows = columns.num_rows
    if columns.column("tag").null_count:
        raise ResponseError("a tag object has no 'tag' name")
    shared = [
        pa.repeat(pa.scalar(getattr(context, name), type=kind), rows)
        for name, kind in CONTEXT_FIELDS.items()
    ]
    own = [columns.column(name) for name in (*TAG_FIELDS, *V2_FIELDS)]
    batch = pa.RecordBatch.from_arrays(shared + own, schema=SNAPSHOT_SCHEMA)
    for name in TEXT_FIELDS:
        check_field_size(batch, name, MAX_FIELD_BYTES)
    return batch


def list_of_objects(items: Any, what: str) -> list[dict[str, Any]]:
    """Return `items`, checked to be a list of objects."""
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ResponseError(f"{what} is not a list of objects")
    return items


def check_field_size(tags: pa.RecordBatch, name: str, limit: int) -> None:
    """Raise LimitError naming the tag if a text field of `tags` holds more than `limit` bytes."""
    sizes = pc.binary_length(tags.column(name))
    largest = pc.max(sizes).as_py()
    if largest is not None and largest > limit:
        at = pc.index(sizes, largest).as_py()
        tag = repr(str(tags.column("tag")[at].as_py())[:60])
        raise LimitError(
            f"tag {tag}: field {name!r} holds {largest} bytes, more than the {limit} a "
            "field may hold",
            error_code="ETL.FIELD_TOO_LARGE",
        )


def fast_fields(tags: list[dict[str, Any]]) -> pa.RecordBatch | None:
    """Return the fields converted by Arrow in one pass (times as text), or None to go field
    by field (slower, and precise about what is wrong).

    Arrow refuses strings, bools and out-of-range numbers where numbers belong, but it would
    truncate a float (1.5 → 1): a page with a float in an integer field takes the strict path.
    """
    if any(t.get(name).__class__ is float for name in INTEGER_FIELDS for t in tags):
        return None
    try:
        # One C++ pass over the dicts (from_pylist loops over fields in Python: 1.3x slower).
        return pa.RecordBatch.from_struct_array(pa.array(tags, type=FAST_STRUCT))
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        return None


def typed_column(
    values: list[Any],
    name: str,
    kind: pa.DataType,
    tags: list[dict[str, Any]],
    label: str = "tag",
) -> pa.Array:
    """Return `values` as an Arrow array of `kind`, accepting only values of the right JSON type
    (an error names the object by its `label` field)."""
    # Arrow converts with the type given (never inferring: that is slow, and lenient), and
    # refuses strings, bools and out-of-range numbers; only whole floats would slip through.
    if pa.types.is_integer(kind) and any(v.__class__ is float for v in values):
        raise _wrong_value(values, name, kind, tags, label)
    try:
        return pa.array(values, type=kind)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError):
        raise _wrong_value(values, name, kind, tags, label) from None


def _wrong_value(
    values: list[Any], name: str, kind: pa.DataType, objects: list[dict[str, Any]], label: str
) -> ResponseError:
    """Return the error naming the first value of a column that does not fit `kind`."""
    expected = _KIND.get(kind, "a string")
    kind_of_object = "tag" if label == "tag" else "repository"
    for value, item in zip(values, objects, strict=True):
        problem = _misfit(value, kind)
        if problem is not None:
            which = repr(str(item.get(label))[:60])
            return ResponseError(
                f"{kind_of_object} {which}: field {name!r} {problem} ({repr(value)[:40]}), "
                f"expected {expected}"
            )
    return ResponseError(f"field {name!r} has values of mixed types, expected {expected}")


def _misfit(value: Any, kind: pa.DataType) -> str | None:
    """Return why `value` cannot be stored as `kind`, or None if it can."""
    if value is None:
        return None
    if kind == pa.string():
        return None if isinstance(value, str) else f"is {type(value).__name__}"
    if kind == pa.bool_():
        return None if isinstance(value, bool) else f"is {type(value).__name__}"
    if not isinstance(value, int) or isinstance(value, bool):
        return f"is {type(value).__name__}"
    bits = kind.bit_width - 1
    return None if -(2**bits) <= value < 2**bits else "is out of range"


def timestamps(values: list[Any], name: str, tags: list[dict[str, Any]]) -> tuple[pa.Array, int]:
    """Return UTC timestamps parsed from the API's values, and how many could not be parsed
    (including values that are not strings at all)."""
    strings = [v if isinstance(v, str) else None for v in values]
    not_strings = sum(1 for v in values if v is not None and not isinstance(v, str))
    parsed, unparsed = parse_timestamps(pa.array(strings, type=pa.string()), UTC_MICROS)
    return parsed, unparsed + not_strings


def parse_timestamps(array: pa.Array, kind: pa.DataType) -> tuple[pa.Array, int]:
    """Return UTC timestamps parsed from strings, and how many could not be parsed.

    docs/swr-api.md: 0-9 fraction digits, 'Z' or no zone (taken as UTC); bad values become NULL.
    """
    try:  # the usual page: every value has its zone, one cast does it
        return pc.cast(pc.cast(array, NS_UTC), kind, safe=False), 0
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    has_zone = pc.match_substring_regex(array, r"(Z|[+-]\d\d:?\d\d)$")
    zoned = pc.if_else(has_zone, array, pc.binary_join_element_wise(array, ZULU, EMPTY))
    try:
        parsed = pc.cast(pc.cast(zoned, NS_UTC), kind, safe=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        parsed = pa.array([_one_timestamp(s) for s in zoned.to_pylist()], type=kind)
    return parsed, parsed.null_count - array.null_count


def _one_timestamp(value: str | None) -> Any:
    if value is None:
        return None
    try:
        one = pc.cast(pa.array([value]), NS_UTC)
        return pc.cast(one, pa.timestamp("us", tz="UTC"), safe=False)[0].as_py()
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
