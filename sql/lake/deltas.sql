-- The changes of listings (`delta_listed`) against what was known before them (`delta_current`: keys and payload hashes, see current_payloads.sql and etl/store/thinning.py): each listed tag that is new or changed (tag_payload) opens with its whole row; each known tag no longer listed closes with its key alone. One part of the repositories at a time, as the load compares them.
WITH current AS (
    SELECT * FROM delta_current WHERE hash(endpoint, namespace, repository) % $parts = $part
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
