-- The identities a writer named $writer may have lost with its database's folder: writers of that name whose repositories (the runs that synced each last) lie on one of the config's endpoints ($endpoints).
WITH latest AS (
    SELECT t.endpoint, r.writer, r.writer_id
    FROM target_runs AS t
    JOIN runs AS r USING (run_id)
    QUALIFY row_number() OVER (
                PARTITION BY t.endpoint, t.namespace, t.repository ORDER BY t.seq DESC
            ) = 1
)
SELECT DISTINCT writer_id
FROM latest
WHERE writer = $writer AND writer_id IS NOT NULL AND list_contains($endpoints, endpoint)
ORDER BY writer_id;
