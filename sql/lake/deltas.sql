-- The changes a run stores for the repositories it keeps as changes (`delta_targets`), against the warehouse's current versions before the run: each listed tag that is new or changed (tag_payload) opens with its whole row; each current tag no longer listed closes with its key alone. One part of the repositories at a time, as the load compares them.
WITH current AS (
    -- The key and a 64-bit hash of the payload, not the whole row: the join's table stays
    -- small (a change that keeps the hash, one in 2^64, would wait for the next whole listing).
    SELECT h.endpoint, h.namespace, h.repository, h.tag, hash(tag_payload(h)) AS payload
    FROM tag_history AS h
    SEMI JOIN delta_targets AS t USING (endpoint, namespace, repository)
    WHERE h.valid_to_seq IS NULL AND hash(h.endpoint, h.namespace, h.repository) % $parts = $part
),
listed AS (
    SELECT * FROM delta_listed WHERE hash(endpoint, namespace, repository) % $parts = $part
)
SELECT l.run_id, l.snapshot_at, l.endpoint, l.namespace, l.repository, l.tag, l.id, l.repo_id,
       l.image_id, l.digest, l.schema, l.path, l.internal_path, l.size, l.is_trusted, l.created,
       l.updated, l.domain_id, l.tag_type, l.deleted, l.scanned, 'open' AS op
FROM listed AS l
LEFT JOIN current AS c USING (endpoint, namespace, repository, tag)
WHERE c.tag IS NULL OR c.payload <> hash(tag_payload(l))
UNION ALL
SELECT $run_id, $snapshot_at, c.endpoint, c.namespace, c.repository, c.tag, NULL, NULL, NULL,
       NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'close'
FROM current AS c
ANTI JOIN listed AS l USING (endpoint, namespace, repository, tag);
