-- Every current tag judged by age-based retention rules (keep the newest `keep_last` of each repository, keep tags pushed within `keep_days`; NULL turns a rule off; keep tags whose name matches a `protect` glob): the one definition of "stale" and of "bytes freed" that stale_tags, retention_preview and cleanup_plan share.
-- verdict: 'kept'; 'deleted'; or 'unknown_age' — no rule keeps it, but its push time is unknown
-- (NULL `updated`), so it is kept: an unknown age is never promised as reclaimable.
-- freed_size: a deleted tag's size, once per digest (on the digest's first deleted tag), and
-- only when no kept tag of the repository uses that digest; 0 for an unknown digest.
-- protect: a list of globs (GLOB: `*`, `?`, `[...]`) on the tag's name; none by default.
CREATE OR REPLACE MACRO tag_retention(keep_last, keep_days, protect := []) AS TABLE
WITH ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY endpoint, namespace, repository
                              ORDER BY updated DESC NULLS LAST, tag) AS recency_rank
    FROM tag_age
),
judged AS (
    SELECT *,
           CASE
               WHEN coalesce(recency_rank <= keep_last, FALSE)
                    OR coalesce(staleness_days < keep_days, FALSE)
                    OR coalesce(list_bool_or(list_transform(protect::VARCHAR[],
                                                            lambda pattern: tag GLOB pattern)),
                                FALSE) THEN 'kept'
               WHEN staleness_days IS NULL THEN 'unknown_age'
               ELSE 'deleted'
           END AS verdict
    FROM ranked
),
digests AS (
    -- One aggregate, not a second window: each digest's first deleted tag, and whether a
    -- tag that stays (kept, or of unknown age) still uses it.
    SELECT endpoint, namespace, repository, digest,
           min(tag) FILTER (WHERE verdict = 'deleted') AS first_deleted_tag,
           bool_or(verdict <> 'deleted') AS digest_still_used
    FROM judged
    WHERE digest IS NOT NULL
    GROUP BY ALL
)
SELECT j.endpoint, j.namespace, j.repository, j.tag, j.digest, j.size, j.updated,
       j.recency_rank, j.staleness_days, j.verdict,
       d.digest_still_used,
       CASE WHEN j.verdict = 'deleted' AND j.tag = d.first_deleted_tag AND NOT d.digest_still_used
            THEN j.size ELSE 0 END::HUGEINT AS freed_size
FROM judged AS j
LEFT JOIN digests AS d
  ON d.endpoint = j.endpoint AND d.namespace = j.namespace
 AND d.repository = j.repository AND d.digest = j.digest;
