-- The repositories holding a current tag whose manifest the warehouse lacks (with crawl.with_manifest, a crawl fetches them: such a repository is never carried).
SELECT DISTINCT h.endpoint, h.namespace, h.repository
FROM tag_history AS h
ANTI JOIN manifests AS m USING (digest)
WHERE h.valid_to_seq IS NULL AND h.digest IS NOT NULL;
