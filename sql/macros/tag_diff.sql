-- What differs between the state after run `from_seq` and after run `to_seq`, one row per changed tag.
CREATE OR REPLACE MACRO tag_diff(from_seq, to_seq) AS TABLE
SELECT
    coalesce(n.endpoint, o.endpoint) AS endpoint,
    coalesce(n.namespace, o.namespace) AS namespace,
    coalesce(n.repository, o.repository) AS repository,
    coalesce(n.tag, o.tag) AS tag,
    change_kind(o.tag, n.tag, o.digest, n.digest, o.updated, n.updated) AS change,
    o.digest AS old_digest, n.digest AS new_digest,
    o.size AS old_size, n.size AS new_size,
    o.updated AS old_updated, n.updated AS new_updated
FROM tag_state(from_seq) AS o
FULL JOIN tag_state(to_seq) AS n
  ON o.endpoint = n.endpoint AND o.namespace = n.namespace AND o.repository = n.repository
 AND o.tag = n.tag
WHERE o.tag IS NULL OR n.tag IS NULL
   OR NOT (o.id IS NOT DISTINCT FROM n.id
        AND o.repo_id IS NOT DISTINCT FROM n.repo_id
        AND o.image_id IS NOT DISTINCT FROM n.image_id
        AND o.digest IS NOT DISTINCT FROM n.digest
        AND o.schema IS NOT DISTINCT FROM n.schema
        AND o.path IS NOT DISTINCT FROM n.path
        AND o.internal_path IS NOT DISTINCT FROM n.internal_path
        AND o.size IS NOT DISTINCT FROM n.size
        AND o.is_trusted IS NOT DISTINCT FROM n.is_trusted
        AND o.created IS NOT DISTINCT FROM n.created
        AND o.updated IS NOT DISTINCT FROM n.updated
        AND o.domain_id IS NOT DISTINCT FROM n.domain_id
        AND o.tag_type IS NOT DISTINCT FROM n.tag_type);
