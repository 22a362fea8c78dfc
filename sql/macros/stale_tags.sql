-- Current tags not pushed for `days` days, largest first; reclaimable_size counts a digest once and only if no fresher tag of the repository (nor one of unknown age) still uses it. Tags whose push time is unknown are never stale.
CREATE OR REPLACE MACRO stale_tags(days) AS TABLE
SELECT endpoint, namespace, repository, tag, digest, size, updated, staleness_days,
       digest_still_used, freed_size AS reclaimable_size
FROM tag_retention(NULL, days)
WHERE verdict = 'deleted'
ORDER BY size DESC NULLS LAST, endpoint, namespace, repository, tag;
