-- The seq and id of the run $ref names (run_at: a run id, a date or an instant), or of the latest run (latest_seq) when $ref is NULL; no row when it names none. What a diff compares.
SELECT seq, run_id
FROM runs
WHERE seq = CASE WHEN $ref IS NULL THEN latest_seq() ELSE run_at($ref) END;
