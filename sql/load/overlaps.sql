-- The repositories of run $run_id whose previous run came from another writer: two configs
-- that share a lake sync the same repository, and its history interleaves both. Runs written
-- before runs carried their writer (NULL) are not counted either way.
WITH this AS (
    SELECT t.endpoint, t.namespace, t.repository, t.seq, r.writer
    FROM target_runs t JOIN runs r USING (run_id)
    WHERE t.run_id = $run_id AND r.writer IS NOT NULL
),
previous AS (
    SELECT this.endpoint, this.namespace, this.repository, this.writer,
           arg_max(r.writer, t.seq) AS other_writer, arg_max(t.run_id, t.seq) AS other_run
    FROM this
    JOIN target_runs t USING (endpoint, namespace, repository)
    JOIN runs r ON r.run_id = t.run_id
    WHERE t.seq < this.seq
    GROUP BY ALL
)
SELECT endpoint, namespace, repository, writer, other_writer, other_run
FROM previous
WHERE other_writer IS NOT NULL AND other_writer <> writer
ORDER BY endpoint, namespace, repository;
