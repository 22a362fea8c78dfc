-- Current tags not pushed for `days` days, largest first; reclaimable_size counts a digest once and only if no fresher tag of the repository still uses it.
CREATE OR REPLACE MACRO stale_tags(days) AS TABLE
WITH aged AS (
    SELECT *, staleness_days >= days AS stale FROM tag_age
),
kept_digests AS (
    SELECT DISTINCT endpoint, namespace, repository, digest FROM aged WHERE NOT stale
),
stale AS (
    SELECT a.*,
           k.digest IS NOT NULL AS digest_still_used,
           row_number() OVER (PARTITION BY a.endpoint, a.namespace, a.repository, a.digest
                              ORDER BY a.tag) = 1 AS first_of_digest
    FROM aged AS a
    LEFT JOIN kept_digests AS k
      ON k.endpoint = a.endpoint AND k.namespace = a.namespace
     AND k.repository = a.repository AND k.digest = a.digest
    WHERE a.stale
)
SELECT endpoint, namespace, repository, tag, digest, size, updated, staleness_days,
       digest_still_used,
       CASE WHEN first_of_digest AND NOT digest_still_used THEN size ELSE 0 END::HUGEINT
           AS reclaimable_size
FROM stale
ORDER BY size DESC NULLS LAST, endpoint, namespace, repository, tag;
