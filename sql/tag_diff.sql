-- What differs between the state after run `from_seq` and after run `to_seq`, one row per changed tag.
CREATE OR REPLACE MACRO tag_diff(from_seq, to_seq) AS TABLE
SELECT
    coalesce(n.endpoint, o.endpoint) AS endpoint,
    coalesce(n.namespace, o.namespace) AS namespace,
    coalesce(n.repository, o.repository) AS repository,
    coalesce(n.tag, o.tag) AS tag,
    CASE
        WHEN o.tag IS NULL THEN 'added'
        WHEN n.tag IS NULL THEN 'removed'
        WHEN o.digest IS DISTINCT FROM n.digest THEN 'retagged'
        WHEN n.updated > o.updated THEN 'repushed'
        ELSE 'modified'
    END AS change,
    o.digest AS old_digest, n.digest AS new_digest,
    o.size AS old_size, n.size AS new_size,
    o.updated AS old_updated, n.updated AS new_updated
FROM tag_state(from_seq) AS o
FULL JOIN tag_state(to_seq) AS n
  ON o.endpoint = n.endpoint AND o.namespace = n.namespace AND o.repository = n.repository
 AND o.tag = n.tag
WHERE o.version_hash IS DISTINCT FROM n.version_hash;
