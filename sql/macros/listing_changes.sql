-- What listings open and close against the versions current before them: the one rule of versioning, which the load, the load beside a paced crawl, the lake's changes and `thin` all read (etl/store/versioning.py). Over three relations named by the caller: `scope` (endpoint, namespace, repository, `whole`: listed whole, or as changes), `listed` (their listed tags: the lake's rows with `op`, NULL for a whole listing) and `current` (the versions current before: their key, `version` — tag_version — and `history_row`, their rowid in tag_history, or NULL). A listed tag opens unless a current version of it has the same fingerprint (an open names the version it replaces, if any, in `history_row`); a current version of a tag no longer there closes (`close`): one not listed in a repository listed whole, or listed closed. Every side is narrowed to `scope` before a join and tags are matched by their key's fingerprint (tag_key), so a join's hash table holds one part's keys, 16 bytes each.
CREATE OR REPLACE MACRO listing_changes(scope, listed, current) AS TABLE
SELECT 'open' AS change, c.history_row, l.*
FROM query_table(listed) AS l
SEMI JOIN query_table(scope) AS s USING (endpoint, namespace, repository)
LEFT JOIN (
    SELECT tag_key(c) AS key, c.history_row, c.version FROM query_table(current) AS c
    SEMI JOIN query_table(scope) USING (endpoint, namespace, repository)
) AS c ON c.key = tag_key(l)
WHERE l.op IS DISTINCT FROM 'close' AND (c.key IS NULL OR c.version <> tag_version(l))
UNION ALL BY NAME
SELECT 'close' AS change, c.history_row, c.endpoint, c.namespace, c.repository, c.tag
FROM query_table(current) AS c
JOIN query_table(scope) AS s USING (endpoint, namespace, repository)
ANTI JOIN (
    SELECT tag_key(l) AS key FROM query_table(listed) AS l
    SEMI JOIN query_table(scope) USING (endpoint, namespace, repository)
    WHERE op IS DISTINCT FROM 'close'
) AS l ON l.key = tag_key(c)
LEFT JOIN (
    SELECT tag_key(l) AS key, true AS closed FROM query_table(listed) AS l
    SEMI JOIN query_table(scope) USING (endpoint, namespace, repository)
    WHERE op = 'close'
) AS x ON x.key = tag_key(c)
WHERE s.whole OR x.closed;
