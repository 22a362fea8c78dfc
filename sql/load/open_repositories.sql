-- Opens a metadata version for every listed repository without a current one (new, or changed and just closed).
INSERT INTO repository_history
SELECT r.endpoint, r.namespace, r.repository, r.id, r.category, r.description, r.size,
       r.is_public, r.num_images, r.num_download, r.created_at, r.updated_at, r.domain_name,
       r.status, $seq, $run_id, $snapshot_at, NULL, NULL, NULL
FROM staged_repositories AS r
WHERE NOT EXISTS (
    SELECT 1 FROM repository_history AS h
    WHERE h.valid_to_seq IS NULL AND h.endpoint = r.endpoint AND h.namespace = r.namespace
      AND h.repository = r.repository
)
-- Read as a set: one row per repository, however often an older lake's list repeated it.
QUALIFY row_number() OVER (PARTITION BY r.endpoint, r.namespace, r.repository ORDER BY r.id) = 1;
