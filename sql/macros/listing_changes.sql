-- What listings open and close against the versions current before them: the one rule of versioning, which the load, the load beside a paced crawl, the lake's changes and `thin` all read (etl/store/versioning.py). Over three relations named by the caller: `scope` (endpoint, namespace, repository, `whole`: listed whole, or as changes), `listed` (their listed tags: the lake's rows with `op`, NULL for a whole listing) and `current` (the versions current before: their key, `version` — tag_version — and `history_row`, their rowid in tag_history, or NULL). A listed tag opens unless a current version of it has the same fingerprint (tag_version); a current version closes when its tag is listed with another fingerprint or listed closed, or, in a repository listed whole, is not listed (`gone`: not listed, or closed).
CREATE OR REPLACE MACRO listing_changes(scope, listed, current) AS TABLE
WITH listed_versions AS (
    SELECT l.endpoint, l.namespace, l.repository, l.tag, l.op, tag_version(l) AS version
    FROM query_table(listed) AS l
    SEMI JOIN query_table(scope) AS s USING (endpoint, namespace, repository)
),
current_versions AS (
    SELECT c.endpoint, c.namespace, c.repository, c.tag, c.version, c.history_row, s.whole
    FROM query_table(current) AS c
    JOIN query_table(scope) AS s USING (endpoint, namespace, repository)
)
SELECT 'open' AS change, NULL::BIGINT AS history_row, false AS gone, l.*
FROM query_table(listed) AS l
SEMI JOIN query_table(scope) AS s USING (endpoint, namespace, repository)
LEFT JOIN current_versions AS c USING (endpoint, namespace, repository, tag)
WHERE l.op IS DISTINCT FROM 'close' AND (c.tag IS NULL OR c.version <> tag_version(l))
UNION ALL BY NAME
SELECT 'close' AS change, c.history_row,
       l.tag IS NULL OR l.op IS NOT DISTINCT FROM 'close' AS gone,
       c.endpoint, c.namespace, c.repository, c.tag
FROM current_versions AS c
LEFT JOIN listed_versions AS l USING (endpoint, namespace, repository, tag)
WHERE CASE WHEN l.tag IS NULL THEN c.whole
           ELSE l.op = 'close' OR c.version <> l.version END;
