-- The versions current before run $seq (not those it started) of the repositories in version_scope, as listing_changes compares them (key, fingerprint, rowid): all of a repository listed whole, only the tags named by the changes of one stored as changes (the others cannot change). Held apart (load_current) from tag_history, which the load then changes, and compared as version_current.
CREATE OR REPLACE TEMP TABLE load_current AS
SELECT h.rowid AS history_row, h.endpoint, h.namespace, h.repository, h.tag,
       tag_version(h) AS version
FROM tag_history AS h
JOIN version_scope AS s USING (endpoint, namespace, repository)
LEFT JOIN (SELECT endpoint, namespace, repository, tag FROM version_listed WHERE op IS NOT NULL)
    AS d USING (endpoint, namespace, repository, tag)
WHERE h.valid_to_seq IS NULL AND h.valid_from_seq < $seq AND (s.whole OR d.tag IS NOT NULL);
CREATE OR REPLACE TEMP VIEW version_current AS SELECT * FROM load_current;
