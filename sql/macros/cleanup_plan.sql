-- The tags a cleanup plan deletes: those tag_retention(keep_last, days, protect) deletes, less every tag whose image (digest) a tag that stays still uses, or whose digest is unknown — SWR deletes "the image with a specified tag", so deleting it could take a kept tag with it — and less every image with a tag outside the registry's tag grammar (such a name is never sent in a DELETE: it stays, and so does its image); freed_size is what deleting each frees, as tag_retention counts it (each image once).
CREATE OR REPLACE MACRO cleanup_plan(days, keep_last, protect) AS TABLE
WITH judged AS (
    SELECT *,
           -- The distribution reference grammar, `[\w][\w.-]{0,127}` (etl/swr/names.py).
           regexp_full_match(tag, '[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}') AS sendable
    FROM tag_retention(keep_last, days, protect := protect)
),
unsendable AS (
    SELECT DISTINCT endpoint, namespace, repository, digest
    FROM judged
    WHERE NOT sendable AND digest IS NOT NULL
)
SELECT endpoint, namespace, repository, tag, digest, size, updated, staleness_days, freed_size
FROM judged AS j
WHERE verdict = 'deleted' AND digest IS NOT NULL AND NOT digest_still_used AND sendable
  AND NOT EXISTS (
      SELECT 1 FROM unsendable AS u
      WHERE u.endpoint = j.endpoint AND u.namespace = j.namespace
        AND u.repository = j.repository AND u.digest = j.digest
  )
ORDER BY endpoint, namespace, repository, tag;
