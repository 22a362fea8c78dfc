-- The targets of the latest run that did not sync (run_failures), labelled, with what the API said: the first 20 by name and one `other` row for the rest (members: how many it stands for); the dashboard's failures table.
WITH failed AS (
    SELECT target AS repository, http_status, error_code, error_message, request_id,
           row_number() OVER (ORDER BY endpoint, namespace, repository) AS rank
    FROM run_failures(latest_seq())
)
SELECT * EXCLUDE (rank) FROM (
    SELECT rank, repository, 1 AS members, http_status, error_code, error_message, request_id
    FROM failed WHERE rank <= 20
    UNION ALL
    SELECT NULL, 'other', count(*), NULL, NULL, NULL, NULL FROM failed WHERE rank > 20
    HAVING count(*) > 0
)
ORDER BY rank NULLS LAST;
