-- Starts a version for each tag this run shows that has no identical current version.
INSERT INTO tag_history
SELECT
    s.endpoint, s.namespace, s.repository, s.tag, s.id, s.repo_id, s.image_id, s.digest,
    s.schema, s.path, s.internal_path, s.size, s.is_trusted, s.created, s.updated,
    s.domain_id, s.tag_type, s.version_hash,
    $seq, $run_id, $snapshot_at, NULL, NULL, NULL
FROM staged_versions AS s
WHERE NOT EXISTS (
    SELECT 1 FROM tag_history AS h
    WHERE h.valid_to_seq IS NULL
      AND h.endpoint = s.endpoint AND h.namespace = s.namespace AND h.repository = s.repository
      AND h.tag = s.tag AND h.version_hash = s.version_hash);
