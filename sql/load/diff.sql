-- The current versions of one part of the synced targets that the run shows changed or gone.
CREATE OR REPLACE TEMP TABLE staged_diff AS
SELECT h.history_row
FROM staged_current AS h
LEFT JOIN (
    SELECT * EXCLUDE (run_id, snapshot_at)
    FROM staged_tags
    WHERE hash(endpoint, namespace, repository) % $parts = $part
) AS s
  ON s.endpoint = h.endpoint AND s.namespace = h.namespace AND s.repository = h.repository
 AND s.tag = h.tag
WHERE s.tag IS NULL
   OR NOT (h.id IS NOT DISTINCT FROM s.id
        AND h.repo_id IS NOT DISTINCT FROM s.repo_id
        AND h.image_id IS NOT DISTINCT FROM s.image_id
        AND h.digest IS NOT DISTINCT FROM s.digest
        AND h.schema IS NOT DISTINCT FROM s.schema
        AND h.path IS NOT DISTINCT FROM s.path
        AND h.internal_path IS NOT DISTINCT FROM s.internal_path
        AND h.size IS NOT DISTINCT FROM s.size
        AND h.is_trusted IS NOT DISTINCT FROM s.is_trusted
        AND h.created IS NOT DISTINCT FROM s.created
        AND h.updated IS NOT DISTINCT FROM s.updated
        AND h.domain_id IS NOT DISTINCT FROM s.domain_id
        AND h.tag_type IS NOT DISTINCT FROM s.tag_type);
