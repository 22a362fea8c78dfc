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
kept_digests AS (
    SELECT DISTINCT endpoint, namespace, repository, digest FROM judged WHERE kept
),
deleted AS (
    SELECT j.*,
           k.digest IS NOT NULL AS digest_still_used,
           row_number() OVER (PARTITION BY j.endpoint, j.namespace, j.repository, j.digest
                              ORDER BY j.tag) = 1 AS first_of_digest
    FROM judged AS j
    LEFT JOIN kept_digests AS k
      ON k.endpoint = j.endpoint AND k.namespace = j.namespace
     AND k.repository = j.repository AND k.digest = j.digest
    WHERE NOT j.kept
)
SELECT endpoint, namespace, repository, tag, digest, size, updated, recency_rank,
       staleness_days, digest_still_used,
       CASE WHEN first_of_digest AND NOT digest_still_used THEN size ELSE 0 END::HUGEINT
           AS freed_size
FROM deleted
ORDER BY endpoint, namespace, repository, recency_rank;
