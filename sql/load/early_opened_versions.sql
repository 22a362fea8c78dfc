-- The tags of a chunk of the crawl (early_tags) without a version current before this run (read outside its transaction) with the same fields: new, or changed (closed by load/early_closed_versions).
SELECT s.*
FROM early_tags AS s
ANTI JOIN (
    SELECT h.*
    FROM tag_history AS h
    SEMI JOIN early_keys USING (endpoint, namespace, repository)
    WHERE h.valid_to_seq IS NULL
) AS h
  ON h.endpoint = s.endpoint AND h.namespace = s.namespace AND h.repository = s.repository
 AND h.tag = s.tag AND tag_payload(h) IS NOT DISTINCT FROM tag_payload(s)
