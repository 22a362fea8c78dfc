-- Every tag as each target's latest successful sync saw it, with that sync's time as as_of.
CREATE OR REPLACE VIEW tags_current AS
WITH latest AS (
    SELECT endpoint, namespace, repository, max(seq) AS seq
    FROM target_runs
    WHERE status IN ('ok', 'not_found')
    GROUP BY ALL
)
SELECT
    h.endpoint, h.namespace, h.repository, h.tag, h.id, h.repo_id, h.image_id, h.digest,
    h.schema, h.path, h.internal_path, h.size, h.is_trusted, h.created, h.updated,
    h.domain_id, h.tag_type,
    t.snapshot_at AS as_of,
    t.run_id AS as_of_run,
    h.valid_from AS version_since
FROM tag_history AS h
JOIN latest AS l USING (endpoint, namespace, repository)
JOIN target_runs AS t
  ON t.seq = l.seq AND t.endpoint = h.endpoint AND t.namespace = h.namespace
 AND t.repository = h.repository
WHERE h.valid_to_seq IS NULL;
