-- The versions current before this run (read outside its transaction) of the tags of the targets that completed in a chunk of the crawl (early_keys) that the chunk's tags (early_tags) show changed or gone: what load/diff finds for them.
SELECT c.rowid AS history_row
FROM tag_history AS c
SEMI JOIN early_keys AS k USING (endpoint, namespace, repository)
LEFT JOIN early_tags AS s USING (endpoint, namespace, repository, tag)
WHERE c.valid_to_seq IS NULL AND (s.tag IS NULL OR tag_payload(c) IS DISTINCT FROM tag_payload(s))
