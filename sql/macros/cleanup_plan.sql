-- The tags a cleanup plan deletes: those tag_retention(keep_last, days, protect) deletes, less every tag whose image (digest) a tag that stays still uses, or whose digest is unknown — SWR deletes "the image with a specified tag", so deleting it could take a kept tag with it; freed_size is what deleting each frees, as tag_retention counts it (each image once).
CREATE OR REPLACE MACRO cleanup_plan(days, keep_last, protect) AS TABLE
SELECT endpoint, namespace, repository, tag, digest, size, updated, staleness_days, freed_size
FROM tag_retention(keep_last, days, protect := protect)
WHERE verdict = 'deleted' AND digest IS NOT NULL AND NOT digest_still_used
ORDER BY endpoint, namespace, repository, tag;
