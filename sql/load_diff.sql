-- The tags of this run's synced targets that differ from their current version: new, changed or gone (one join, both ways).
CREATE OR REPLACE TEMP TABLE staged_diff AS
WITH synced AS (
    SELECT endpoint, namespace, repository
    FROM target_runs
    WHERE seq = $seq AND status IN ('ok', 'not_found')
),
current_versions AS (
    SELECT h.rowid AS history_row, h.*
    FROM tag_history AS h
    SEMI JOIN synced AS t
      ON t.endpoint = h.endpoint AND t.namespace = h.namespace AND t.repository = h.repository
    WHERE h.valid_to_seq IS NULL
)
SELECT h.history_row, s.*
FROM current_versions AS h
FULL JOIN staged_versions AS s
  ON s.endpoint = h.endpoint AND s.namespace = h.namespace AND s.repository = h.repository
 AND s.tag = h.tag
WHERE h.history_row IS NULL OR s.tag IS NULL
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
