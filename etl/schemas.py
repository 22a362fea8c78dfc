"""The rows the lake stores and DuckDB loads, as Arrow schemas: a tag snapshot (the API's tag
fields with the run's context) and a tag's change, a repository of a list, a target's run, a
discovery, a manifest, and the run's own row, its commit record. The bottom layer: the API
parser and the store both write these, and it imports no package of its own."""

from __future__ import annotations

import pyarrow as pa

TAG_FIELDS: dict[str, pa.DataType] = {
    "tag": pa.string(),
    "id": pa.int64(),
    "repo_id": pa.int64(),
    "image_id": pa.string(),
    "digest": pa.string(),
    "schema": pa.int16(),
    "path": pa.string(),
    "internal_path": pa.string(),
    "size": pa.int64(),
    "is_trusted": pa.bool_(),
    "created": pa.timestamp("us", tz="UTC"),
    "updated": pa.timestamp("us", tz="UTC"),
    "domain_id": pa.string(),
    "tag_type": pa.int16(),
}
CONTEXT_FIELDS: dict[str, pa.DataType] = {
    "run_id": pa.string(),
    "snapshot_at": pa.timestamp("us", tz="UTC"),
    "endpoint": pa.string(),
    "namespace": pa.string(),
    "repository": pa.string(),
}
# What only the v2 tag list says of a tag: kept in the lake (NULL for v3 rows), never compared.
V2_FIELDS: dict[str, pa.DataType] = {"deleted": pa.string(), "scanned": pa.bool_()}
SNAPSHOT_SCHEMA = pa.schema([*CONTEXT_FIELDS.items(), *TAG_FIELDS.items(), *V2_FIELDS.items()])
# A repository's tags as changes since its state before the run (`tag_deltas`): `open` rows
# carry a tag's new state (new or changed), `close` rows only its key (gone).
OPEN, CLOSE = "open", "close"
DELTA_SCHEMA = SNAPSHOT_SCHEMA.append(pa.field("op", pa.string()))
# How a run stored an `ok` repository's tags (`target_runs.listing`): every tag in
# `tag_snapshots`, or the changes in `tag_deltas`. NULL (runs written before) reads as full.
FULL, DELTA = "full", "delta"

REPOSITORY_FIELDS: dict[str, pa.DataType] = {
    "name": pa.string(),
    "namespace_name": pa.string(),
    "id": pa.int64(),
    "category": pa.string(),
    "description": pa.string(),
    "size": pa.int64(),
    "is_public": pa.bool_(),
    "num_images": pa.int64(),
    "num_download": pa.int64(),
    "created_at": pa.timestamp("us", tz="UTC"),
    "updated_at": pa.timestamp("us", tz="UTC"),
    "domain_name": pa.string(),
    "status": pa.bool_(),
}
REPOSITORY_SCHEMA = pa.schema(list(REPOSITORY_FIELDS.items()))

MANIFEST_SCHEMA = pa.schema(
    [("digest", pa.string()), ("manifest", pa.string()), ("run_id", pa.string())]
)
TARGET_RUN_SCHEMA = pa.schema(
    [
        *CONTEXT_FIELDS.items(),
        ("tag_filter", pa.string()),
        ("status", pa.string()),
        ("tags", pa.int64()),
        ("pages", pa.int64()),
        ("requests", pa.int64()),
        ("retries", pa.int64()),
        ("warnings", pa.int64()),
        ("duration_s", pa.float64()),
        ("http_status", pa.int32()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
        ("request_id", pa.string()),
        ("selected_by", pa.string()),
        ("api", pa.string()),
        ("listing", pa.string()),  # FULL or DELTA for an ok target, else NULL
        # An ok target not crawled: its tags carried forward (stored as no changes, DELTA).
        ("carried", pa.bool_()),
    ]
)
# A run's context on rows of an organization (no repository).
RUN_CONTEXT = [(n, k) for n, k in CONTEXT_FIELDS.items() if n != "repository"]
# Every repository an organization's repository list showed in a run (REPOSITORY_SCHEMA's
# fields; `name` stored as `repository`, the organization as `namespace`).
REPOSITORY_ROW_SCHEMA = pa.schema(
    [
        *RUN_CONTEXT,
        ("repository", pa.string()),
        *((f.name, f.type) for f in REPOSITORY_SCHEMA if f.name not in ("name", "namespace_name")),
    ]
)
# How each list of a discovery went: one row per organization listed, and one (namespace NULL)
# for the organization list itself. Only a complete (`ok`) list may close anything.
DISCOVERY_SCHEMA = pa.schema(
    [
        *RUN_CONTEXT,
        ("status", pa.string()),
        ("repositories", pa.int64()),
        ("warnings", pa.int64()),
        ("http_status", pa.int32()),
        ("error_code", pa.string()),
        ("error_message", pa.string()),
        ("request_id", pa.string()),
    ]
)
# The commit record's list of the run's files: which table, the file's name in its partition,
# and its row count (readers check it, so a pruned or damaged run is named, never half-read).
RUN_FILES = pa.list_(
    pa.struct([("table", pa.string()), ("file", pa.string()), ("rows", pa.int64())])
)
# The lake's format (docs/lake-format.md): what this release writes in every commit record, and
# the newest it reads. A record without the column is format 1; a reader meeting a greater one
# refuses the lake instead of reading part of it.
LAKE_FORMAT = 2
UNVERSIONED_LAKE_FORMAT = 1
RUN_SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("seq", pa.int64()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("targets", pa.int64()),
        ("ok", pa.int64()),
        ("not_found", pa.int64()),
        ("failed", pa.int64()),
        ("tags", pa.int64()),
        ("requests", pa.int64()),
        ("retries", pa.int64()),
        ("warnings", pa.int64()),
        ("files", RUN_FILES),
        ("writer", pa.string()),  # which config wrote it (several may share one lake)
        # Which writer, whatever its name: a random id kept beside its database (two
        # machines may give their configs one name).
        ("writer_id", pa.string()),
        ("lake_format", pa.int32()),
    ]
)
# Every delete a `cleanup apply` attempted, one file per apply (`lake/cleanups/…`, apart from
# the runs: not in any commit record): the plan and its rule, the tag as planned, what the
# apply found and did (`CleanupResult`), when, and who applied it.
CLEANUP_SCHEMA = pa.schema(
    [
        ("apply_id", pa.string()),
        ("plan_id", pa.string()),
        ("plan_computed_at", pa.timestamp("us", tz="UTC")),
        ("plan_run_id", pa.string()),
        ("plan_seq", pa.int64()),
        ("older_than", pa.string()),
        ("older_than_days", pa.float64()),
        ("keep_last", pa.int64()),
        ("protect", pa.list_(pa.string())),
        ("endpoint", pa.string()),
        ("namespace", pa.string()),
        ("repository", pa.string()),
        ("tag", pa.string()),
        ("digest", pa.string()),
        ("updated", pa.timestamp("us", tz="UTC")),
        ("size", pa.int64()),
        ("freed_size", pa.int64()),
        ("result", pa.string()),
        ("detail", pa.string()),
        ("http_status", pa.int32()),
        ("error_code", pa.string()),
        ("request_id", pa.string()),
        ("attempted_at", pa.timestamp("us", tz="UTC")),
        ("applied_by", pa.string()),
        ("applied_on", pa.string()),
        ("writer", pa.string()),
    ]
)
