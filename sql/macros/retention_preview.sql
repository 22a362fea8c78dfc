-- What SWR retention rules would delete: tags outside both the newest `keep_last` of their repository and the last `keep_days` days of pushes (NULL turns a rule off), with freed_size once per digest and only if no kept tag uses it; plus, flagged unknown_age (kept, nothing freed), the tags the rules cannot judge because their push time is unknown.
CREATE OR REPLACE MACRO retention_preview(keep_last, keep_days) AS TABLE
SELECT endpoint, namespace, repository, tag, digest, size, updated, recency_rank,
       staleness_days, verdict = 'unknown_age' AS unknown_age, digest_still_used, freed_size
FROM tag_retention(keep_last, keep_days)
WHERE verdict <> 'kept'
ORDER BY endpoint, namespace, repository, recency_rank;
