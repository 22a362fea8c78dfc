-- The dashboard's failed targets of the last run, with what the API said (HTTP status, error code, message, request id): the first 20 by name and one `other` row for the rest (members: how many it stands for).
WITH failed AS (
    SELECT endpoint || ':' || namespace || '/' || repository AS repository, http_status,
           error_code, error_message, request_id,
           row_number() OVER (ORDER BY endpoint, namespace, repository) AS rank
    FROM target_runs
    WHERE seq = (SELECT max(seq) FROM runs) AND NOT synced(status)
)
SELECT * EXCLUDE (rank) FROM (
    SELECT rank, repository, 1 AS members, http_status, error_code, error_message, request_id
    FROM failed WHERE rank <= 20
    UNION ALL
    SELECT NULL, 'other', count(*), NULL, NULL, NULL, NULL FROM failed WHERE rank > 20
    HAVING count(*) > 0
)
ORDER BY rank NULLS LAST;
