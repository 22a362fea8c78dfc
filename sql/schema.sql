-- The warehouse tables: runs, target_runs, tag_history (one row per tag version) and manifests.

-- One row per committed run: when it ran, its status and counts, and the writer that ran it.
CREATE TABLE IF NOT EXISTS runs (
    run_id      VARCHAR PRIMARY KEY,
    seq         BIGINT NOT NULL,
    started_at  TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status      VARCHAR NOT NULL,          -- ok | partial | failed
    targets     BIGINT,
    ok          BIGINT,
    not_found   BIGINT,
    failed      BIGINT,
    tags        BIGINT,
    requests    BIGINT,
    retries     BIGINT,
    warnings    BIGINT,
    writer      VARCHAR                    -- the config that wrote it (several share a lake)
);
-- Databases made before runs carried their writer, and its identity (two writers may share
-- a name; the id, kept beside each writer's database, tells them apart).
ALTER TABLE runs ADD COLUMN IF NOT EXISTS writer VARCHAR;
ALTER TABLE runs ADD COLUMN IF NOT EXISTS writer_id VARCHAR;

-- One row per run and repository: how its sync went (status, counts, sizes, the API's error).
CREATE TABLE IF NOT EXISTS target_runs (
    run_id        VARCHAR NOT NULL,
    seq           BIGINT NOT NULL,
    snapshot_at   TIMESTAMPTZ NOT NULL,
    endpoint      VARCHAR NOT NULL,
    namespace     VARCHAR NOT NULL,
    repository    VARCHAR NOT NULL,
    tag_filter    VARCHAR,
    status        VARCHAR NOT NULL,        -- ok | not_found | failed
    tags          BIGINT,
    total_size    HUGEINT,
    unique_size   HUGEINT,
    pages         BIGINT,
    requests      BIGINT,
    retries       BIGINT,
    warnings      BIGINT,
    duration_s    DOUBLE,
    http_status   INTEGER,
    error_code    VARCHAR,
    error_message VARCHAR,
    request_id    VARCHAR,
    PRIMARY KEY (run_id, endpoint, namespace, repository)
);

-- One row per version of a tag: its fields, from the run that first saw them to the run that
-- no longer did (NULL while current).
CREATE TABLE IF NOT EXISTS tag_history (
    endpoint       VARCHAR NOT NULL,
    namespace      VARCHAR NOT NULL,
    repository     VARCHAR NOT NULL,
    tag            VARCHAR NOT NULL,
    id             BIGINT,
    repo_id        BIGINT,
    image_id       VARCHAR,
    digest         VARCHAR,
    schema         SMALLINT,
    path           VARCHAR,
    internal_path  VARCHAR,
    size           BIGINT,
    is_trusted     BOOLEAN,
    created        TIMESTAMPTZ,
    updated        TIMESTAMPTZ,
    domain_id      VARCHAR,
    tag_type       SMALLINT,
    -- A new version starts when any field above changes (compared field by field).
    valid_from_seq BIGINT NOT NULL,
    valid_from_run VARCHAR NOT NULL,
    valid_from     TIMESTAMPTZ NOT NULL,
    valid_to_seq   BIGINT,                 -- NULL while the version is current
    valid_to_run   VARCHAR,
    valid_to       TIMESTAMPTZ
);

-- One row per digest whose manifest was collected (crawl.with_manifest), with the run that did.
CREATE TABLE IF NOT EXISTS manifests (
    digest       VARCHAR PRIMARY KEY,
    manifest     VARCHAR NOT NULL,
    first_run_id VARCHAR NOT NULL
);

-- How each target was chosen: `literal`, or the pattern that found it (older runs: NULL).
ALTER TABLE target_runs ADD COLUMN IF NOT EXISTS selected_by VARCHAR;
-- Which tag list crawled it: v3 or v2 (NULL: not crawled, or a run before v2 support).
ALTER TABLE target_runs ADD COLUMN IF NOT EXISTS api VARCHAR;
-- How the lake keeps an `ok` target's tags of the run: `full` (every tag) or `delta` (what
-- changed); NULL for other statuses and for runs written before (whole listings).
ALTER TABLE target_runs ADD COLUMN IF NOT EXISTS listing VARCHAR;
-- Databases made before a run could carry a repository's tags forward without crawling it
-- (crawl.skip_unchanged).
ALTER TABLE target_runs ADD COLUMN IF NOT EXISTS carried BOOLEAN;

-- How each list of a run's discovery went: one row per organization listed, and one with a
-- NULL namespace for the organization list itself. Only a complete (`ok`) list closes anything.
CREATE TABLE IF NOT EXISTS discoveries (
    run_id        VARCHAR NOT NULL,
    seq           BIGINT NOT NULL,
    snapshot_at   TIMESTAMPTZ NOT NULL,
    endpoint      VARCHAR NOT NULL,
    namespace     VARCHAR,
    status        VARCHAR NOT NULL,        -- ok | failed
    repositories  BIGINT,
    warnings      BIGINT,
    http_status   INTEGER,
    error_code    VARCHAR,
    error_message VARCHAR,
    request_id    VARCHAR
);

-- One row per version of a repository's metadata, as the repository list shows it. A version
-- ends when a complete list of its organization shows it changed, or no longer shows it.
CREATE TABLE IF NOT EXISTS repository_history (
    endpoint       VARCHAR NOT NULL,
    namespace      VARCHAR NOT NULL,
    repository     VARCHAR NOT NULL,
    id             BIGINT,
    category       VARCHAR,
    description    VARCHAR,
    size           BIGINT,
    is_public      BOOLEAN,
    num_images     BIGINT,
    num_download   BIGINT,
    created_at     TIMESTAMPTZ,
    updated_at     TIMESTAMPTZ,
    domain_name    VARCHAR,
    status         BOOLEAN,
    valid_from_seq BIGINT NOT NULL,
    valid_from_run VARCHAR NOT NULL,
    valid_from     TIMESTAMPTZ NOT NULL,
    valid_to_seq   BIGINT,
    valid_to_run   VARCHAR,
    valid_to       TIMESTAMPTZ
);

-- What the warehouse held after each run, per endpoint (the growth curve, the run summary and
-- the metrics read it): repositories and tags current, total bytes, and unique bytes as
-- unique_sizes defines them. Runs loaded before this table existed have no rows.
CREATE TABLE IF NOT EXISTS run_totals (
    run_id       VARCHAR NOT NULL,
    seq          BIGINT NOT NULL,
    snapshot_at  TIMESTAMPTZ NOT NULL,
    endpoint     VARCHAR NOT NULL,
    repositories BIGINT NOT NULL,
    tags         BIGINT NOT NULL,
    total_size   HUGEINT NOT NULL,
    unique_size  HUGEINT NOT NULL
);

-- Runs this database failed to load, and why. After LOADS_BEFORE_SET_ASIDE failures a run is
-- set aside for this database alone: the lake, which other writers share, is never changed.
CREATE TABLE IF NOT EXISTS load_failures (
    run_id         VARCHAR PRIMARY KEY,
    failures       INTEGER NOT NULL,
    reason         VARCHAR NOT NULL,
    last_failed_at TIMESTAMPTZ NOT NULL
);

-- Every delete a `swr-etl cleanup apply` attempted: one row per planned tag it tried, with the
-- plan and rule it came from, what it found and did, when, and who applied it. Loaded from the
-- lake's `cleanups/` files (one per apply) by the apply itself, the next sync, `load` and
-- `rebuild`; `cleanup_history` links each to the sync that then saw the tag removed.
CREATE TABLE IF NOT EXISTS cleanup_deletions (
    apply_id         VARCHAR NOT NULL,
    plan_id          VARCHAR NOT NULL,
    plan_computed_at TIMESTAMPTZ NOT NULL,
    plan_run_id      VARCHAR NOT NULL,     -- the warehouse run the plan was computed from
    plan_seq         BIGINT NOT NULL,
    older_than       VARCHAR NOT NULL,     -- the rule: not pushed for this long (as given)
    older_than_days  DOUBLE NOT NULL,
    keep_last        BIGINT,               -- the newest N of each repository kept (NULL: off)
    protect          VARCHAR[] NOT NULL,   -- tag globs kept
    endpoint         VARCHAR NOT NULL,
    namespace        VARCHAR NOT NULL,
    repository       VARCHAR NOT NULL,
    tag              VARCHAR NOT NULL,
    digest           VARCHAR NOT NULL,     -- as planned
    updated          TIMESTAMPTZ NOT NULL, -- as planned
    size             BIGINT NOT NULL,
    freed_size       BIGINT NOT NULL,      -- what its DELETE freed (the image's size, once)
    result           VARCHAR NOT NULL,     -- deleted | gone | changed | refused | failed
    detail           VARCHAR,              -- why it was skipped or failed, in one line
    http_status      INTEGER,
    error_code       VARCHAR,
    request_id       VARCHAR,
    attempted_at     TIMESTAMPTZ NOT NULL,
    applied_by       VARCHAR NOT NULL,     -- the OS user
    applied_on       VARCHAR NOT NULL,     -- the host
    writer           VARCHAR NOT NULL      -- the config's writer name
);
