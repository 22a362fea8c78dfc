-- Starts a version for each tag this run shows new or changed.
INSERT INTO tag_history
SELECT
    endpoint, namespace, repository, tag, id, repo_id, image_id, digest, schema, path,
    internal_path, size, is_trusted, created, updated, domain_id, tag_type,
    $seq, $run_id, $snapshot_at, NULL, NULL, NULL
FROM staged_diff
WHERE tag IS NOT NULL;
