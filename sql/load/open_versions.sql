-- Starts a version for each staged tag of one part without a current one (new, or just closed), but for the tags a change closes. Versions this run started (of targets versioned while it crawled) are not scanned.
INSERT INTO tag_history
SELECT
    s.endpoint, s.namespace, s.repository, s.tag, s.id, s.repo_id, s.image_id, s.digest, s.schema,
    s.path, s.internal_path, s.size, s.is_trusted, s.created, s.updated, s.domain_id, s.tag_type,
    $seq, $run_id, $snapshot_at, NULL, NULL, NULL
FROM staged_tags AS s
ANTI JOIN (
    SELECT endpoint, namespace, repository, tag
    FROM tag_history
    WHERE valid_to_seq IS NULL AND valid_from_seq < $seq
      AND hash(endpoint, namespace, repository) % $parts = $part
) AS h USING (endpoint, namespace, repository, tag)
WHERE hash(s.endpoint, s.namespace, s.repository) % $parts = $part AND s.op IS DISTINCT FROM 'close';
