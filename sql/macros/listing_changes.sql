-- What listings open and close against the versions current before them: the one rule of versioning, which the load, the load beside a paced crawl, the lake's changes and `thin` all read (etl/store/versioning.py). Over three relations named by the caller: `scope` (endpoint, namespace, repository, `whole`: listed whole, or as changes), `listed` (their listed tags: the lake's rows with `op`, NULL for a whole listing) and `current` (the versions current before: their key, `version` — tag_version — and `history_row`, their rowid in tag_history, or NULL). A listed tag opens unless a current version of it has the same fingerprint (an open names the version it replaces, if any, in `history_row`); a current version of a tag no longer there closes (`close`): one not listed in a repository listed whole, or listed closed.
CREATE OR REPLACE MACRO listing_changes(scope, listed, current) AS TABLE
SELECT 'open' AS change, c.history_row, l.*
FROM query_table(listed) AS l
SEMI JOIN query_table(scope) AS s USING (endpoint, namespace, repository)
LEFT JOIN query_table(current) AS c USING (endpoint, namespace, repository, tag)
WHERE l.op IS DISTINCT FROM 'close' AND (c.tag IS NULL OR c.version <> tag_version(l))
UNION ALL BY NAME
SELECT 'close' AS change, c.history_row, c.endpoint, c.namespace, c.repository, c.tag
FROM query_table(current) AS c
JOIN query_table(scope) AS s USING (endpoint, namespace, repository)
ANTI JOIN (
    SELECT endpoint, namespace, repository, tag FROM query_table(listed)
    WHERE op IS DISTINCT FROM 'close'
) AS l USING (endpoint, namespace, repository, tag)
LEFT JOIN (
    SELECT endpoint, namespace, repository, tag, true AS closed FROM query_table(listed)
    WHERE op = 'close'
) AS x USING (endpoint, namespace, repository, tag)
WHERE s.whole OR x.closed;
