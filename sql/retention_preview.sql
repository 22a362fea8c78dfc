-- What SWR retention rules would delete: tags outside both the newest `keep_last` of their repository and the last `keep_days` days of pushes (NULL turns a rule off); freed_size counts a digest once and only if no kept tag uses it.
CREATE OR REPLACE MACRO retention_preview(keep_last, keep_days) AS TABLE
WITH ranked AS (
    SELECT *,
           row_number() OVER (PARTITION BY endpoint, namespace, repository
                              ORDER BY updated DESC NULLS LAST, tag) AS recency_rank
    FROM tag_age
),
judged AS (
    SELECT *,
           coalesce(recency_rank <= keep_last, FALSE)
           OR coalesce(staleness_days < keep_days, FALSE) AS kept
    FROM ranked
),
digests AS (
    -- One aggregate, not a second window: a deleted digest's first tag, and whether a kept tag
    -- still uses it (never for an unknown digest).
    SELECT endpoint, namespace, repository, digest,
           min(tag) FILTER (WHERE NOT kept) AS first_deleted_tag,
           coalesce(bool_or(kept) FILTER (WHERE digest IS NOT NULL), FALSE) AS digest_still_used
    FROM judged
    GROUP BY ALL
),
deleted AS (
    SELECT j.*, d.digest_still_used, j.tag = d.first_deleted_tag AS first_of_digest
    FROM judged AS j
    JOIN digests AS d
      ON d.endpoint = j.endpoint AND d.namespace = j.namespace
     AND d.repository = j.repository AND d.digest IS NOT DISTINCT FROM j.digest
    WHERE NOT j.kept
)
SELECT endpoint, namespace, repository, tag, digest, size, updated, recency_rank,
       staleness_days, digest_still_used,
       CASE WHEN first_of_digest AND NOT digest_still_used THEN size ELSE 0 END::HUGEINT
           AS freed_size
FROM deleted
ORDER BY endpoint, namespace, repository, recency_rank;
