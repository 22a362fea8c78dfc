-- Starts a version for each tag load/early_opened_versions found (early_opens), in this run's transaction: load/open_versions for part of a run, while it crawls.
INSERT INTO tag_history
SELECT
    s.endpoint, s.namespace, s.repository, s.tag, s.id, s.repo_id, s.image_id, s.digest, s.schema,
    s.path, s.internal_path, s.size, s.is_trusted, s.created, s.updated, s.domain_id, s.tag_type,
    $seq, $run_id, $snapshot_at, NULL, NULL, NULL
FROM early_opens AS s;
